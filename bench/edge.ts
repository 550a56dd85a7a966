/**
 * Edge benchmark: `node bench/edge.ts` (needs the local stack for Kafka + registry; Redis is a
 * private redis-server started here, so the shared one is never loaded). Bounded: ~30 s.
 *
 * Prints, in one run:
 *  - baseline: `redis-benchmark -q -n 100000 -t get,set` against the same private redis-server;
 *  - edge client check()/s (synchronous, in-process mirror of 10,000 entries);
 *  - decision API req/s and p50 / p99 over HTTP (keep-alive undici load loop in a worker thread);
 *  - session admissions + heartbeats/s and p99 over HTTP (each virtual player: start, heartbeats, stop).
 */
import { execFileSync } from 'node:child_process';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

interface LoadJob {
  mode: 'decision' | 'sessions';
  url: string;
  key: string;
  durationMs: number;
  connections: number;
  denied: string[];
}

interface LoadResult {
  ops: number;
  errors: number;
  elapsedMs: number;
  p50Ms: number;
  p99Ms: number;
  byKind: Record<string, number>;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function runLoad(job: LoadJob): Promise<LoadResult> {
  const { Pool } = await import('undici');
  const pool = new Pool(job.url, { connections: job.connections, pipelining: 1, keepAliveTimeout: 10_000 });
  const auth = { authorization: `Bearer ${job.key}`, 'content-type': 'application/json' };
  const latencies: number[] = [];
  const byKind: Record<string, number> = {};
  let errors = 0;
  const started = performance.now();
  const deadline = started + job.durationMs;
  const timed = async (kind: string, fn: () => Promise<number>): Promise<unknown> => {
    const t0 = performance.now();
    const status = await fn();
    latencies.push(performance.now() - t0);
    if (status >= 500 || status === 401 || status === 403 || status === 400) errors++;
    byKind[kind] = (byKind[kind] ?? 0) + 1;
    return status;
  };
  const call = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown) => {
    const res = await pool.request({
      method,
      path,
      // No content-type without a body: fastify refuses an empty JSON body.
      headers: body === undefined ? { authorization: auth.authorization } : auth,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.body.text();
    return { status: res.statusCode, text };
  };
  const loops = Array.from({ length: job.connections }, async (_, loop) => {
    let n = 0;
    if (job.mode === 'decision') {
      while (performance.now() < deadline) {
        n++;
        const denied = n % 10 === 0;
        const hash = denied ? job.denied[(n + loop) % job.denied.length]! : `ok-${loop}-${n & 1023}`;
        await timed(denied ? 'denied' : 'allowed', async () => {
          const r = await call('GET', `/v1/decision?tokenHash=${hash}&account=acct-${loop}-${n & 255}`);
          return r.status;
        });
      }
      return;
    }
    // sessions: one account per virtual player; start, 8 heartbeats, stop, again.
    let round = 0;
    while (performance.now() < deadline) {
      round++;
      const accountId = `bench-${process.pid}-${loop}-${round}`;
      let sessionId = '';
      await timed('start', async () => {
        const r = await call('POST', '/v1/sessions', {
          accountId,
          deviceId: `dev-${loop}`,
          contentId: 'match',
        });
        if (r.status === 201) sessionId = (JSON.parse(r.text) as { sessionId: string }).sessionId;
        return r.status;
      });
      if (!sessionId) continue;
      for (let i = 0; i < 8 && performance.now() < deadline; i++) {
        await timed(
          'heartbeat',
          async () => (await call('PUT', `/v1/sessions/${sessionId}`, { accountId })).status,
        );
      }
      await timed(
        'stop',
        async () => (await call('DELETE', `/v1/sessions/${sessionId}?accountId=${accountId}`)).status,
      );
    }
  });
  await Promise.all(loops);
  const elapsedMs = performance.now() - started;
  await pool.close();
  const sorted = Float64Array.from(latencies).sort();
  return {
    ops: latencies.length,
    errors,
    elapsedMs,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    byKind,
  };
}

if (!isMainThread) {
  runLoad(workerData as LoadJob).then((r) => parentPort!.postMessage(r));
} else {
  await main();
}

function inWorker(job: LoadJob): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), { workerData: job });
    w.once('message', (r: LoadResult) => {
      resolve(r);
      void w.terminate();
    });
    w.once('error', reject);
  });
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function mem(): string {
  const m = process.memoryUsage();
  return `rss ${(m.rss / 2 ** 20).toFixed(0)} MiB, heap ${(m.heapUsed / 2 ** 20).toFixed(0)} MiB`;
}

async function main(): Promise<void> {
  const { Redis } = await import('ioredis');
  const { startPrivateRedis, writeDeny, denyEntry } = await import('../test/integration/edge/support.ts');
  const { loadConfig } = await import('../core/config.ts');
  const { edgeConfigSchema, startEdgeServer } = await import('../enforcer/decision/standalone.ts');
  const { EdgeClient } = await import('../enforcer/edge-client/client.ts');

  const priv = await startPrivateRedis();
  const out: string[] = [];
  const line = (s: string) => {
    out.push(s);
    process.stdout.write(`${s}\n`);
  };
  try {
    line(
      `# leechguard edge bench — node ${process.version}, ${(await import('node:os')).cpus().length} cores`,
    );
    // 1. Baseline: Redis's own ceiling on this machine, same run.
    const rb = execFileSync(
      'redis-benchmark',
      ['-p', String(priv.port), '-q', '-n', '100000', '-t', 'get,set'],
      {
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    const rps = (cmd: string) => {
      const m = new RegExp(`${cmd}: ([\\d.]+) requests per second`).exec(rb.replace(/\r/g, '\n'));
      return m ? Number(m[1]) : Number.NaN;
    };
    const getRps = rps('GET');
    const setRps = rps('SET');
    for (const l of rb.split(/[\r\n]/).filter((x) => /requests per second/.test(x)))
      line(`redis-benchmark  ${l.trim()}`);

    // Denylist of 10,000 entries.
    const writer = new Redis(priv.url);
    const denied: string[] = [];
    for (let i = 0; i < 10_000; i++) denied.push(`deny-${i.toString(16).padStart(8, '0')}`);
    for (let i = 0; i < denied.length; i += 500) {
      await Promise.all(
        denied.slice(i, i + 500).map((h) => writeDeny(writer, 'token', h, denyEntry(), false)),
      );
    }

    // 2. Edge client check()/s.
    const edge = new EdgeClient({ redisUrl: priv.url });
    await edge.start();
    const queries = Array.from({ length: 4096 }, (_, i) => ({
      tokenHash: i % 10 === 0 ? denied[i % denied.length]! : `ok-${i}`,
      accountId: `acct-${i & 511}`,
    }));
    let blocked = 0;
    for (let i = 0; i < 200_000; i++) if (edge.check(queries[i & 4095]!).decision === 'block') blocked++; // warm up
    const checkMs = 2_000;
    let checks = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < checkMs) {
      for (let i = 0; i < 100_000; i++) if (edge.check(queries[i & 4095]!).decision === 'block') blocked++;
      checks += 100_000;
    }
    const checkRate = (checks / (performance.now() - t0)) * 1000;
    const s = edge.stats();
    line(
      `edge check()      ${fmt(checkRate)} checks/s (2 subjects each, ${s.entries} entries mirrored, hit ratio ${(s.hits / (s.hits + s.misses)).toFixed(3)}) ` +
        `— ${(checkRate / getRps).toFixed(1)}x redis GET/s; target >= 5,000,000/s; ${mem()}`,
    );
    await edge.close();

    // 3 + 4. The HTTP APIs, served by this thread; load from a worker thread (the other core).
    const key = 'bench-key-0123456789abcdef';
    const config = loadConfig(edgeConfigSchema, {
      overrides: {
        redis: { url: priv.url },
        http: { port: 0, apiKeys: [{ name: 'bench', key, roles: ['edge', 'backend'] }] },
        log: { level: 'silent' },
      },
    });
    const server = await startEdgeServer(config);
    try {
      await inWorker({ mode: 'decision', url: server.url, key, durationMs: 700, connections: 32, denied }); // warm up
      const d = await inWorker({
        mode: 'decision',
        url: server.url,
        key,
        durationMs: 4_000,
        connections: 32,
        denied,
      });
      const dRate = (d.ops / d.elapsedMs) * 1000;
      line(
        `decision API      ${fmt(dRate)} req/s, p50 ${d.p50Ms.toFixed(2)} ms, p99 ${d.p99Ms.toFixed(2)} ms, errors ${d.errors} ` +
          `(32 keep-alive connections, 10% denied) — ${(dRate / getRps).toFixed(2)}x redis GET/s; target >= 30,000 req/s, p99 < 2 ms; ${mem()}`,
      );
      await inWorker({
        mode: 'sessions',
        url: server.url,
        key,
        durationMs: 700,
        connections: 32,
        denied: [],
      }); // warm up
      const ss = await inWorker({
        mode: 'sessions',
        url: server.url,
        key,
        durationMs: 4_000,
        connections: 32,
        denied: [],
      });
      const sRate = (ss.ops / ss.elapsedMs) * 1000;
      line(
        `session admission ${fmt(sRate)} ops/s (${Object.entries(ss.byKind)
          .map(([k, v]) => `${k} ${fmt(v)}`)
          .join(', ')}), p50 ${ss.p50Ms.toFixed(2)} ms, p99 ${ss.p99Ms.toFixed(2)} ms, errors ${ss.errors} ` +
          `— ${(sRate / setRps).toFixed(2)}x redis SET/s; target >= 20,000/s, p99 < 5 ms; ${mem()}`,
      );
      line(
        `heartbeat records produced to Kafka: ${fmt(server.sink.sent)} sent, ${server.sink.dropped} dropped`,
      );
    } finally {
      await server.http.shutdown();
    }
    writer.disconnect();
  } finally {
    await priv.stop();
  }
}
