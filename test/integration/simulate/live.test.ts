/**
 * Live mode against a real HTTP server standing in for ingest's endpoints: every line arrives,
 * plans first, CloudFront standard batches carry their W3C header, a 503 is retried (not lost),
 * and a non-retriable answer fails the run loudly.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { createSimulation } from '../../../simulate/engine.ts';
import { playLive } from '../../../simulate/sinks/http.ts';

interface Received {
  path: string;
  auth: string | undefined;
  body: string;
}

async function serve(
  answer: (req: IncomingMessage, n: number) => number,
): Promise<{ server: Server; url: string; got: Received[] }> {
  const got: Received[] = [];
  let n = 0;
  const server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const status = answer(req, n++);
    if (status === 200) got.push({ path: req.url ?? '', auth: req.headers.authorization, body });
    res.writeHead(status, status === 503 ? { 'retry-after': '0.05' } : {});
    res.end('{}');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, got };
}

const OPTIONS = {
  seed: 'live',
  viewers: 60,
  abuserFraction: 0.1,
  durationMs: 120_000,
  resaleClients: [3, 5] as [number, number],
};

function countLines(got: Received[], prefix: string): number {
  return got
    .filter((g) => g.path.startsWith(prefix))
    .reduce((n, g) => n + g.body.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length, 0);
}

test('live mode posts every event to its endpoint, plans first, retrying 503s', async () => {
  const sim = await createSimulation(OPTIONS);
  let requests = 0;
  let heartbeats = 0;
  for (const e of sim.events()) {
    if (e.type === 'request') requests++;
    else if (e.type === 'heartbeat') heartbeats++;
  }
  // Every fifth call is refused once with 503 + Retry-After.
  const { server, url, got } = await serve((_req, n) => (n % 5 === 4 ? 503 : 200));
  try {
    const stats = await playLive(sim, {
      ingestUrl: url,
      apiKey: 'test-key-0123456789',
      speed: 600, // two simulated minutes in ~0.2 s
      rateMax: 1_000_000,
      batchLinesMax: 500,
      flushIntervalMs: 50,
      inFlightMax: 2,
      retriesMax: 5,
      wallMsMax: 60_000,
    });
    assert.ok(stats.retries > 0, 'some 503s were retried');
    assert.ok(stats.lagMsP99 >= 0 && stats.lagMsP99 < 60_000);
    assert.equal(got[0]?.path, '/v1/accounts');
    assert.equal(countLines(got, '/v1/accounts'), OPTIONS.viewers);
    assert.equal(countLines(got, '/v1/heartbeats'), heartbeats);
    assert.equal(countLines(got, '/v1/logs/'), requests);
    assert.ok(got.every((g) => g.auth === 'Bearer test-key-0123456789'));
    for (const g of got.filter((x) => x.path === '/v1/logs/cloudfront-standard')) {
      assert.match(g.body, /^#Version: 1\.0\n#Fields: date time /);
    }
    assert.deepEqual(
      new Set(got.map((g) => g.path)),
      new Set([
        '/v1/accounts',
        '/v1/heartbeats',
        '/v1/logs/cloudfront-standard',
        '/v1/logs/cloudfront-realtime',
        '/v1/logs/akamai-ds2',
        '/v1/logs/fastly',
      ]),
    );
  } finally {
    server.close();
  }
});

test('live mode fails loudly on a non-retriable answer', async () => {
  const sim = await createSimulation({ ...OPTIONS, viewers: 10 });
  const { server, url } = await serve(() => 401);
  try {
    await assert.rejects(
      playLive(sim, {
        ingestUrl: url,
        apiKey: 'wrong-key-0123456789',
        speed: 1000,
        rateMax: 1_000_000,
        batchLinesMax: 500,
        flushIntervalMs: 50,
        inFlightMax: 2,
        retriesMax: 2,
        wallMsMax: 10_000,
      }),
      /answered 401/,
    );
  } finally {
    server.close();
  }
});

test('an abort stops a real-time run promptly and flushes what was generated', async () => {
  const sim = await createSimulation({ ...OPTIONS, viewers: 20, startMs: Date.now() });
  const { server, url, got } = await serve(() => 200);
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 300);
  const t0 = Date.now();
  try {
    const stats = await playLive(sim, {
      ingestUrl: url,
      apiKey: 'test-key-0123456789',
      speed: 1, // real time: two simulated minutes would take two minutes
      rateMax: 1_000_000,
      batchLinesMax: 500,
      flushIntervalMs: 50,
      inFlightMax: 2,
      retriesMax: 2,
      wallMsMax: 60_000,
      signal: controller.signal,
    });
    assert.equal(stats.stoppedEarly, true);
    assert.ok(Date.now() - t0 < 5_000, 'stopped within seconds of the abort');
    assert.equal(countLines(got, '/v1/accounts'), 20);
    const sent = Object.entries(stats.sentLines).reduce((n, [k, v]) => (k === 'accounts' ? n : n + v), 0);
    assert.equal(countLines(got, '/v1/logs/') + countLines(got, '/v1/heartbeats'), sent);
  } finally {
    server.close();
  }
});
