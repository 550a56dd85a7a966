import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { LeechguardError } from '../../../core/errors.ts';
import { authenticate, createHttpService, indexKeys } from '../../../core/http.ts';
import { createLogger } from '../../../core/log.ts';
import { createMetricsRegistry } from '../../../core/metrics.ts';

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

  it('/healthz answers 200 while the process lives', async () => {
    const res = await ok.app.inject('/healthz');
    assert.equal(res.statusCode, 200);
  });

  it('/readyz is 200 when every dependency answers and 503 naming the one that does not', async () => {
    assert.equal((await ok.app.inject('/readyz')).statusCode, 200);
    const res = await failing.app.inject('/readyz');
    assert.equal(res.statusCode, 503);
    assert.match(res.json().checks.redis, /ECONNREFUSED/);
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
});
