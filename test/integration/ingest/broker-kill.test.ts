import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CdnRequest } from '../../../core/schemas/generated.ts';
import { sleep } from '../../../core/stack/processes.ts';
import { TOPICS } from '../../../core/topics.ts';
import { type IngestHandle, startIngest } from '../../../ingest/service.ts';
import { testEndpoints } from '../../support/stack.ts';
import { type PrivateKafka, privateKafka } from './private-kafka.ts';
import { endOffsets, ingestTestConfig, readSince } from './support.ts';

/** Lines per batch: enough that the broker dies while batches are in flight. */
const LINES_PER_BATCH = 500;

function batch(b: number): string {
  const lines: string[] = [];
  for (let i = 0; i < LINES_PER_BATCH; i++) {
    lines.push(
      JSON.stringify({
        timestamp: 1763668800 + i,
        url: `/live/ch1/720p/seg_${b}_${i}.ts?token=t${b}`,
        clientIp: '198.51.100.1',
        marker: `b${b}-l${i}`,
      }),
    );
  }
  return lines.join('\n');
}

describe('broker killed mid-batch (private broker)', () => {
  let kafka: PrivateKafka;
  let ingest: IngestHandle;
  before(async () => {
    const shared = await testEndpoints(); // only its schema registry is used
    kafka = await privateKafka();
    const endpoints = { ...shared, kafkaBrokers: kafka.brokers };
    ingest = await startIngest(ingestTestConfig(endpoints));
  });
  after(async () => {
    await ingest?.close().catch(() => {});
    await kafka?.stop();
  });

  it('answers 503 with Retry-After while the broker is down, and every acked line is on Kafka after the restart', async (t) => {
    const endpoints = { ...(await testEndpoints()), kafkaBrokers: kafka.brokers };
    const from = await endOffsets(endpoints, TOPICS.requests.name);
    const acked = new Set<number>();
    const ackedAt = new Map<number, number>();
    const t0 = Date.now();
    let killedAt = 0;
    let restartedAt = 0;
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    let b = 0;
    const send = async (n: number) => {
      const res = await fetch(`${ingest.url}/v1/logs/ndjson`, {
        method: 'POST',
        headers: { authorization: 'Bearer ndjson-key-0123456789', 'content-type': 'application/x-ndjson' },
        body: batch(n),
      });
      statuses.push(res.status);
      if (res.status === 200) {
        const body = (await res.json()) as { accepted: number };
        assert.equal(body.accepted, LINES_PER_BATCH);
        acked.add(n);
        ackedAt.set(n, Date.now() - t0);
      } else {
        retryAfter ??= res.headers.get('retry-after');
        await res.arrayBuffer();
      }
      return res.status;
    };
    // Traffic before, during and after the kill, several requests in flight at once.
    let restarted = false;
    let ackedAfterRestart = 0;
    const traffic = (async () => {
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && ackedAfterRestart < 3) {
        const results = await Promise.all([send(b++), send(b++), send(b++)]);
        if (restarted) ackedAfterRestart += results.filter((s) => s === 200).length;
        if (results.includes(503)) await sleep(200); // a client honouring Retry-After, sped up
      }
    })();
    await sleep(800);
    kafka.kill();
    killedAt = Date.now() - t0;
    await sleep(3_000);
    await kafka.start();
    restartedAt = Date.now() - t0;
    restarted = true;
    await traffic;
    assert.ok(
      statuses.includes(503),
      `expected a 503 while the broker was down, got ${[...new Set(statuses)]}`,
    );
    assert.equal(retryAfter, '1');
    assert.ok(statuses.filter((s) => s === 200).length > 0);
    assert.ok(
      statuses.every((s) => s === 200 || s === 503),
      `only 200 or 503, got ${[...new Set(statuses)]}`,
    );
    assert.ok(statuses.lastIndexOf(200) > statuses.indexOf(503), 'ingest recovers once the broker is back');
    t.diagnostic(
      `${statuses.length} batches: ${statuses.filter((s) => s === 200).length} acked, ${statuses.filter((s) => s === 503).length} refused with 503`,
    );

    // Every line of every acked batch is on the topic (duplicates allowed: ids dedupe them).
    const want = new Set<string>();
    for (const n of acked)
      for (let i = 0; i < LINES_PER_BATCH; i++) want.add(`/live/ch1/720p/seg_${n}_${i}.ts`);
    const seen = new Set<string>();
    await readSince<CdnRequest>(
      endpoints,
      TOPICS.requests.name,
      from,
      (r) => {
        if (r.value && want.has(r.value.path)) seen.add(r.value.path);
        return false;
      },
      () => seen.size >= want.size,
      30_000,
    );
    const missing = [...acked].filter((n) => !seen.has(`/live/ch1/720p/seg_${n}_0.ts`));
    t.diagnostic(
      `killed at ${killedAt} ms, restarted at ${restartedAt} ms; missing batches ${missing.map((n) => `${n}@${ackedAt.get(n)}ms`).join(', ') || 'none'}`,
    );
    assert.equal(seen.size, want.size, `${want.size - seen.size} acked lines missing from Kafka`);
  });
});
