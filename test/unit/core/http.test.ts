import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { LeechguardError } from '../../../core/errors.ts';
import { authenticate, createHttpService, indexKeys } from '../../../core/http.ts';
import { createLogger } from '../../../core/log.ts';
import { createMetricsRegistry } from '../../../core/metrics.ts';
import { uploadUntilAnswered } from '../../support/upload.ts';

const ANALYST_KEY = 'analyst-key-0123456789abcdef';
const EDGE_KEY = 'edge-key-0123456789abcdef00';

function service(readyFails = false) {
  const svc = createHttpService({
    name: 'test',
    logger: createLogger('test', 'silent'),
    metrics: createMetricsRegistry('test'),
    apiKeys: [
      { name: 'alice', key: ANALYST_KEY, roles: ['analyst'] },
      { name: 'edge-1', key: EDGE_KEY, roles: ['edge'] },
    ],
    readiness: {
      redis: async () => {
        if (readyFails) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
      },
    },
  });
  svc.app.get('/v1/secret', { preHandler: svc.requireRole('analyst') }, async (req) => ({
    who: req.principal?.name,
  }));
  svc.app.get('/v1/down', async () => {
    throw new LeechguardError('LG_ERR_KAFKA_UNAVAILABLE');
  });
  return svc;
}

describe('service HTTP helper', () => {
  const ok = service();
  const failing = service(true);
  after(async () => {
    await ok.app.close();
    await failing.app.close();
  });

  it('a path parameter over the router cap is a coded 400 that does not echo the path', async () => {
    const svc = service();
    svc.app.get('/v1/thing/:id', async () => ({}));
    const long = `tok${'x'.repeat(300)}`;
    const res = await svc.app.inject({ method: 'GET', url: `/v1/thing/${long}` });
    await svc.app.close();
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().code, 'LG_ERR_REQUEST_INVALID');
    assert.ok(!res.body.includes(long));
  });

  it('a query or path number that is not finite ("Infinity", "1e400") is a coded 400, never past its bounds to the handler', async () => {
    const svc = service();
    const seen: unknown[] = [];
    svc.app.get<{ Params: { n: number }; Querystring: { limit: number } }>(
      '/v1/list/:n',
      {
        preHandler: svc.requireRole('analyst'),
        schema: {
          params: { type: 'object', properties: { n: { type: 'integer', minimum: 0, maximum: 9 } } },
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
          },
        },
      },
      async (req) => {
        seen.push(req.query.limit, req.params.n);
        return { limit: req.query.limit, n: req.params.n };
      },
    );
    const get = (url: string) =>
      svc.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${ANALYST_KEY}` } });
    try {
      for (const bad of ['Infinity', '-Infinity', '1e400', '-1e400']) {
        const res = await get(`/v1/list/1?limit=${bad}`);
        assert.equal(res.statusCode, 400, `limit=${bad}`);
        assert.equal(res.json().code, 'LG_ERR_REQUEST_INVALID');
        assert.match(res.json().message, /querystring\/limit must be a finite number/);
      }
      const path = await get('/v1/list/Infinity');
      assert.equal(path.statusCode, 400);
      assert.match(path.json().message, /params\/n must be a finite number/);
      assert.deepEqual(seen, [], 'no infinite number reached the handler');
      assert.deepEqual((await get('/v1/list/3?limit=5')).json(), { limit: 5, n: 3 });
      assert.equal(
        (await get('/v1/list/3?limit=1e9')).statusCode,
        400,
        'a finite number past the bound still fails',
      );
      // Auth is still asked first.
      assert.equal(
        (await svc.app.inject({ method: 'GET', url: '/v1/list/1?limit=Infinity' })).statusCode,
        401,
      );
    } finally {
      await svc.app.close();
    }
  });

  it('/healthz answers 200 while the process lives', async () => {
    const res = await ok.app.inject('/healthz');
    assert.equal(res.statusCode, 200);
  });

  it('/readyz is 200 when every dependency answers and 503 naming the one that does not, without its host or error', async () => {
    assert.equal((await ok.app.inject('/readyz')).statusCode, 200);
    const res = await failing.app.inject('/readyz');
    assert.equal(res.statusCode, 503);
    assert.deepEqual(res.json().checks, { redis: 'failing' });
    assert.doesNotMatch(res.body, /ECONNREFUSED|127\.0\.0\.1/);
  });

  it('/metrics serves Prometheus text including request durations', async () => {
    await ok.app.inject('/healthz');
    const res = await ok.app.inject('/metrics');
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /leechguard_test_http_request_duration_seconds_bucket/);
  });

  it('a call without a bearer key is 401 LG_ERR_AUTH_MISSING, with an unknown key 401, with the wrong role 403', async () => {
    assert.equal((await ok.app.inject('/v1/secret')).json().code, 'LG_ERR_AUTH_MISSING');
    const bad = await ok.app.inject({ url: '/v1/secret', headers: { authorization: 'Bearer nope' } });
    assert.equal(bad.statusCode, 401);
    assert.equal(bad.json().code, 'LG_ERR_AUTH_INVALID');
    const wrongRole = await ok.app.inject({
      url: '/v1/secret',
      headers: { authorization: `Bearer ${EDGE_KEY}` },
    });
    assert.equal(wrongRole.statusCode, 403);
    const good = await ok.app.inject({
      url: '/v1/secret',
      headers: { authorization: `Bearer ${ANALYST_KEY}` },
    });
    assert.deepEqual(good.json(), { who: 'alice' });
  });

  it('a key differing from a valid one only in its last character is refused, before and after the valid one was used', async () => {
    const nearMiss = `${ANALYST_KEY.slice(0, -1)}0`;
    const refused = () =>
      ok.app.inject({ url: '/v1/secret', headers: { authorization: `Bearer ${nearMiss}` } });
    assert.equal((await refused()).statusCode, 401);
    const good = await ok.app.inject({
      url: '/v1/secret',
      headers: { authorization: `Bearer ${ANALYST_KEY}` },
    });
    assert.equal(good.statusCode, 200);
    const again = await refused();
    assert.equal(again.statusCode, 401);
    assert.equal(again.json().code, 'LG_ERR_AUTH_INVALID');
  });

  it('among many configured keys each finds its own principal, and a prefix or an extension of a key is refused', () => {
    const keys = Array.from({ length: 200 }, (_, i) => ({
      name: `source-${i}`,
      key: `source-key-${String(i).padStart(8, '0')}-0123456789`,
      roles: ['source' as const],
    }));
    const index = indexKeys(keys);
    for (const k of [keys[0]!, keys[137]!, keys[199]!]) {
      assert.equal(authenticate(index, `Bearer ${k.key}`, ['source']).name, k.name);
    }
    const invalid = (authorization: string) =>
      assert.throws(
        () => authenticate(index, authorization, ['source']),
        (e: LeechguardError) => e.code === 'LG_ERR_AUTH_INVALID',
      );
    invalid(`Bearer ${keys[5]!.key.slice(0, -1)}`);
    invalid(`Bearer ${keys[5]!.key}x`);
    invalid('Bearer ');
    assert.throws(
      () => authenticate(index, `Bearer ${keys[5]!.key}`, ['analyst']),
      (e: LeechguardError) => e.code === 'LG_ERR_AUTH_FORBIDDEN',
    );
  });

  it('the request duration histogram counts each (route, method, status) separately', async () => {
    const svc = service();
    await svc.app.inject('/healthz');
    await svc.app.inject('/healthz');
    await svc.app.inject({ url: '/v1/secret', headers: { authorization: 'Bearer nope' } });
    await svc.app.inject({ url: '/v1/secret', headers: { authorization: `Bearer ${ANALYST_KEY}` } });
    const text = (await svc.app.inject('/metrics')).body;
    const count = (route: string, status: number) =>
      Number(
        new RegExp(
          `leechguard_test_http_request_duration_seconds_count\\{[^}]*route="${route.replace(/\//g, '\\/')}",method="GET",status="${status}"[^}]*\\} (\\d+)`,
        ).exec(text)?.[1],
      );
    assert.equal(count('/healthz', 200), 2);
    assert.equal(count('/v1/secret', 401), 1);
    assert.equal(count('/v1/secret', 200), 1);
    await svc.app.close();
  });

  it('what a request logs carries its reqId (the request logger is made on first use), an unhandled error too', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const svc = createHttpService({
      name: 'test',
      logger,
      metrics: createMetricsRegistry('test'),
      apiKeys: [],
      readiness: {},
    });
    svc.app.get('/v1/logs', async (req) => {
      req.log.warn({ n: 1 }, 'from the handler');
      return { ok: true };
    });
    svc.app.get('/v1/boom', async () => {
      throw new Error('boom');
    });
    await svc.app.inject('/healthz');
    assert.equal(lines.length, 0, 'a request that logs nothing writes nothing');
    const res = await svc.app.inject('/v1/logs');
    assert.equal(res.statusCode, 200);
    const line = lines.find((l) => l.msg === 'from the handler');
    assert.ok(line, 'the handler line is written');
    assert.equal(line.level, 40);
    assert.equal(line.n, 1);
    assert.match(String(line.reqId), /^req-/);
    assert.equal((await svc.app.inject('/v1/boom')).statusCode, 500);
    const err = lines.find((l) => l.msg === 'unhandled error');
    assert.ok(err, 'the unhandled error is logged');
    assert.match(String(err.reqId), /^req-/);
    assert.notEqual(err.reqId, line.reqId);
    await svc.app.close();
  });

  it('a retriable error is 503 with Retry-After and its code', async () => {
    const res = await ok.app.inject('/v1/down');
    assert.equal(res.statusCode, 503);
    assert.equal(res.headers['retry-after'], '1');
    assert.equal(res.json().code, 'LG_ERR_KAFKA_UNAVAILABLE');
  });

  it('an unknown route is 404 LG_ERR_NOT_FOUND', async () => {
    const res = await ok.app.inject('/nope');
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().code, 'LG_ERR_NOT_FOUND');
  });

  it('shutdown runs the registered closers in reverse order and /readyz is refused meanwhile', async () => {
    const svc = service();
    const order: string[] = [];
    svc.onShutdown(() => {
      order.push('kafka');
    });
    svc.onShutdown(() => {
      order.push('redis');
    });
    await svc.shutdown();
    assert.deepEqual(order, ['redis', 'kafka']);
  });

  /** A service taking raw bodies, with small in-flight bounds: 1 MiB per key, 2 MiB in all. */
  async function uploads(bounded = true) {
    const svc = createHttpService({
      name: 'test',
      logger: createLogger('test', 'silent'),
      metrics: createMetricsRegistry('test'),
      apiKeys: [
        { name: 'alice', key: ANALYST_KEY, roles: ['analyst'] },
        { name: 'edge-1', key: EDGE_KEY, roles: ['edge'] },
      ],
      readiness: {},
      bodyLimitBytes: bounded ? 1024 * 1024 : undefined,
      http: bounded ? { inFlightBytesMax: 2 * 1024 * 1024, inFlightBytesPerKeyMax: 1024 * 1024 } : {},
    });
    svc.app.removeAllContentTypeParsers();
    svc.app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    svc.app.post('/v1/upload', { onRequest: svc.requireRole('analyst', 'edge') }, async (req) => ({
      bytes: (req.body as Buffer).length,
    }));
    const url = await svc.listen('127.0.0.1', 0);
    return { svc, url };
  }

  /** Opens an upload that declares `bytes` and sends only its headers: it holds its reservation. */
  async function heldUpload(url: string, key: string, bytes: number) {
    const { port } = new URL(url);
    const socket = connect(Number(port), '127.0.0.1');
    await once(socket, 'connect');
    socket.write(
      `POST /v1/upload HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${key}\r\ncontent-length: ${bytes}\r\n\r\n`,
    );
    let answer = '';
    socket.on('data', (d: Buffer) => {
      answer += d.toString();
    });
    return {
      /** Sends the rest of the body and resolves with the answer's status. */
      async finish(): Promise<number> {
        socket.write(Buffer.alloc(bytes, 'a'));
        while (!answer.includes('\r\n\r\n')) await once(socket, 'data');
        socket.destroy();
        return Number(answer.slice(9, 12));
      },
    };
  }

  it('a keyless 16 MiB upload is answered 401 before its body is read', async () => {
    const { svc, url } = await uploads(false);
    const total = 16 * 1024 * 1024;
    const out = await uploadUntilAnswered(url, '/v1/upload', {}, total);
    assert.equal(out.status, 401);
    assert.ok(out.sentBytes < total, `answered only after ${out.sentBytes} of ${total} bytes`);
    assert.match(out.answer, /connection: close/i, 'the connection is closed, not drained');
    await svc.app.close();
  });

  it('a declared body over the limit is 413 before it is read', async () => {
    const { svc, url } = await uploads(false);
    const total = 17 * 1024 * 1024;
    const out = await uploadUntilAnswered(
      url,
      '/v1/upload',
      { authorization: `Bearer ${ANALYST_KEY}` },
      total,
    );
    assert.equal(out.status, 413);
    assert.ok(out.sentBytes < total);
    await svc.app.close();
  });

  it('bytes in flight are bounded per key and per process, and released when a request is answered', async () => {
    const { svc, url } = await uploads();
    const size = 700 * 1024;
    const first = await heldUpload(url, ANALYST_KEY, size);
    const sameKey = await uploadUntilAnswered(
      url,
      '/v1/upload',
      { authorization: `Bearer ${ANALYST_KEY}` },
      size,
    );
    assert.equal(sameKey.status, 503, 'the key is at its allowance');
    assert.match(sameKey.answer, /LG_ERR_OVERLOADED/);
    assert.match(sameKey.answer, /retry-after: 1/i);
    const otherKey = await heldUpload(url, EDGE_KEY, size);
    const third = await uploadUntilAnswered(url, '/v1/upload', { authorization: `Bearer ${EDGE_KEY}` }, size);
    assert.equal(third.status, 503, 'the process is at its allowance (2 x 700 KiB held, 700 KiB more)');
    const keyless = await uploadUntilAnswered(url, '/v1/upload', {}, size);
    assert.equal(keyless.status, 503, 'a keyless body counts against the process before its key is checked');
    assert.equal(await first.finish(), 200);
    assert.equal(await otherKey.finish(), 200);
    const metrics = (await svc.app.inject('/metrics')).body;
    assert.match(metrics, /leechguard_test_http_body_bytes_in_flight\{[^}]*\} 0\n/);
    const again = await uploadUntilAnswered(
      url,
      '/v1/upload',
      { authorization: `Bearer ${ANALYST_KEY}` },
      size,
    );
    assert.equal(again.status, 200, 'the allowance is back once the first upload was answered');
    await svc.app.close();
  });

  it('/metrics, /readyz and /openapi-style ops routes need a monitor or operator key when configured', async () => {
    const svc = createHttpService({
      name: 'test',
      logger: createLogger('test', 'silent'),
      metrics: createMetricsRegistry('test'),
      apiKeys: [
        { name: 'prometheus', key: 'monitor-key-0123456789abcdef', roles: ['monitor'] },
        { name: 'alice', key: ANALYST_KEY, roles: ['analyst'] },
      ],
      readiness: {},
      http: { opsEndpointsNeedKey: true },
    });
    for (const url of ['/metrics', '/readyz']) {
      assert.equal((await svc.app.inject(url)).statusCode, 401, url);
      const analyst = await svc.app.inject({ url, headers: { authorization: `Bearer ${ANALYST_KEY}` } });
      assert.equal(analyst.statusCode, 403, url);
      const monitor = await svc.app.inject({
        url,
        headers: { authorization: 'Bearer monitor-key-0123456789abcdef' },
      });
      assert.equal(monitor.statusCode, 200, url);
    }
    assert.equal((await svc.app.inject('/healthz')).statusCode, 200, 'liveness stays open');
    await svc.app.close();
  });

  it('serves HTTPS with the configured certificate and key', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'lg-http-tls-'));
    const gen = spawnSync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ]);
    if (gen.status !== 0) return t.skip('openssl is not available');
    const svc = createHttpService({
      name: 'test',
      logger: createLogger('test', 'silent'),
      metrics: createMetricsRegistry('test'),
      apiKeys: [],
      readiness: {},
      http: {
        tls: { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem'), requestClientCert: false },
      },
    });
    const url = await svc.listen('127.0.0.1', 0);
    try {
      assert.match(url, /^https:/);
      const body = await new Promise<string>((resolve, reject) => {
        httpsGet(`${url}/healthz`, { ca: readFileSync(join(dir, 'cert.pem')) }, (res) => {
          let text = '';
          res.on('data', (d) => {
            text += d;
          });
          res.on('end', () => resolve(text));
        }).on('error', reject);
      });
      assert.equal(JSON.parse(body).status, 'ok');
    } finally {
      await svc.app.close();
    }
  });
});
