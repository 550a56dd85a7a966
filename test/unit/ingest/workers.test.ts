/**
 * Ingest's batch workers without Kafka: a batch run in a worker thread gives the same Kafka
 * messages, byte for byte, as the same batch run inline; refusals cross the thread boundary with
 * their code; a worker that dies fails its batch with a retriable code and is replaced; the queue
 * per worker is bounded.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { isLeechguardError } from '../../../core/errors.ts';
import { LIMITS } from '../../../core/limits.ts';
import { createLogger } from '../../../core/log.ts';
import { AvroSerde } from '../../../core/serde.ts';
import { TokenHasher } from '../../../core/token-hash.ts';
import { TOPICS } from '../../../core/topics.ts';
import { enrichSection } from '../../../ingest/config.ts';
import { createPipelineContext, OPERATOR_SENDER } from '../../../ingest/pipeline.ts';
import { geoResolverFrom, loadGeoTables } from '../../../ingest/transforms/enrich/geo.ts';
import { tokenSection } from '../../../ingest/transforms/token/config.ts';
import {
  type BatchEnv,
  type BatchJob,
  packTopic,
  runBatchJob,
  unpackTopic,
} from '../../../ingest/workers/job.ts';
import { BatchPool, type WorkerInit } from '../../../ingest/workers/pool.ts';

const enrich = enrichSection.parse({ geo: { bundled: false } });
const tokenHashing = { currentKeyId: 'k1', keys: { k1: 'w'.repeat(32) } };
const limits = { lineBytesMax: 4096, batchLinesMax: 100, bodyBytesMax: 1 << 20 };
const schemaIds: Array<[string, number]> = [
  [TOPICS.requests.name, 11],
  [TOPICS.heartbeats.name, 12],
  [TOPICS.deadLetters.name, 13],
];
const partitions: Array<[string, number]> = [
  [TOPICS.requests.name, 12],
  [TOPICS.heartbeats.name, 12],
  [TOPICS.deadLetters.name, 3],
];
const init: WorkerInit = {
  enrich,
  tokenHashing,
  limits,
  schemaIds,
  partitions,
  geoTables: loadGeoTables(enrich.geo),
};

function inlineEnv(): BatchEnv {
  const serde = new AvroSerde({ url: 'http://registry.unused.invalid' });
  serde.adoptIds(new Map(schemaIds));
  return {
    ctx: createPipelineContext(enrich, new TokenHasher(tokenHashing), geoResolverFrom(init.geoTables)),
    serde,
    limits,
    partitions: new Map(partitions),
  };
}

const lines = [
  JSON.stringify({
    timestamp: 1763668800,
    url: '/live/ch1/720p/seg_5.ts?token=t-1',
    clientIp: '203.0.113.9',
  }),
  JSON.stringify({
    timestamp: 1763668801,
    url: '/live/ch1/720p/seg_6.ts?token=t-2',
    clientIp: '198.51.100.7',
  }),
  '{not json',
  JSON.stringify({
    timestamp: 1763668802,
    url: '/live/ch2/720p/seg_7.ts?token=t-1',
    clientIp: '2001:db8::1',
  }),
];

function job(over: Partial<BatchJob> = {}): BatchJob {
  return {
    format: 'ndjson',
    body: Buffer.from(lines.join('\n')),
    contentEncoding: '',
    source: { name: 'src', format: 'ndjson', tenant: 'default', token: tokenSection.parse({}) },
    givenBatchId: null,
    receivedAtMs: 1_763_668_900_000,
    sender: OPERATOR_SENDER,
    ...over,
  };
}

function flat(result: ReturnType<typeof runBatchJob>): Array<[string, string, string, number | undefined]> {
  return result.batches.flatMap((t) =>
    t.messages.map((m): [string, string, string, number | undefined] => [
      t.topic,
      String(m.key),
      (m.value as Buffer).toString('hex'),
      m.partition,
    ]),
  );
}

describe('batch job (inline)', () => {
  it('turns a body into records and dead letters, with partitions, and answers what was refused', () => {
    const r = runBatchJob(job(), inlineEnv());
    assert.equal(r.accepted, 3);
    assert.equal(r.deadLetters.length, 1);
    assert.equal(r.deadLetters[0]!.offsetInBatch, 2);
    const msgs = flat(r);
    assert.deepEqual(
      msgs.map(([topic]) => topic),
      [TOPICS.requests.name, TOPICS.requests.name, TOPICS.requests.name, TOPICS.deadLetters.name],
    );
    for (const [, , hex, partition] of msgs) {
      assert.equal(hex.slice(0, 2), '00', 'Confluent magic byte');
      assert.ok(partition !== undefined && partition >= 0);
    }
    // Schema id of the topic after the magic byte.
    assert.equal(Number.parseInt(msgs[0]![2].slice(2, 10), 16), 11);
    assert.equal(Number.parseInt(msgs[3]![2].slice(2, 10), 16), 13);
  });

  it('gives the same batch id for the same bytes, and takes a given one', () => {
    const a = runBatchJob(job(), inlineEnv());
    const b = runBatchJob(job(), inlineEnv());
    assert.equal(a.batchId, b.batchId);
    assert.equal(runBatchJob(job({ givenBatchId: 'mine-1' }), inlineEnv()).batchId, 'mine-1');
  });

  it('reads gzip bodies and refuses bad encodings and oversized batches with their codes', () => {
    // Same batch id on both sides: a derived one would differ (it hashes the bytes as sent).
    const gz = runBatchJob(
      job({ body: gzipSync(Buffer.from(lines.join('\n'))), contentEncoding: 'gzip', givenBatchId: 'b-1' }),
      inlineEnv(),
    );
    assert.deepEqual(flat(gz), flat(runBatchJob(job({ givenBatchId: 'b-1' }), inlineEnv())));
    assert.throws(
      () => runBatchJob(job({ contentEncoding: 'br' }), inlineEnv()),
      (e: unknown) => isLeechguardError(e) && e.code === 'LG_ERR_UNSUPPORTED_MEDIA_TYPE',
    );
    assert.throws(
      () => runBatchJob(job({ body: Buffer.from('x\n'.repeat(101)) }), inlineEnv()),
      (e: unknown) => isLeechguardError(e) && e.code === 'ING_ERR_BATCH_TOO_MANY_LINES',
    );
  });

  it('packs string and byte keys alike, and unpacks to the same messages', () => {
    const value = Buffer.from([1, 2, 3]);
    const packed = packTopic({
      topic: 't',
      messages: [
        { key: 'acct-ü', value, partition: 3 },
        { key: Buffer.from('acct-2'), value: Buffer.alloc(0), partition: 0 },
      ],
    });
    const out = unpackTopic(packed).messages;
    assert.equal(String(out[0]!.key), 'acct-ü');
    assert.deepEqual([...(out[0]!.value as Buffer)], [1, 2, 3]);
    assert.equal(String(out[1]!.key), 'acct-2');
    assert.equal((out[1]!.value as Buffer).length, 0);
    assert.ok(out.every((m) => m.partition !== undefined && m.partition >= 0 && m.partition < 4));
    assert.deepEqual(
      out.map((m) => m.partition),
      [3, 0],
      'partitions kept',
    );
  });
});

describe('batch worker pool', () => {
  let pool: BatchPool;
  const logger = createLogger('test', 'silent');
  before(async () => {
    pool = await BatchPool.start({ size: 1, init, inlineEnv, logger });
  });
  after(async () => {
    await pool.close();
  });

  it('produces byte-identical messages to the inline run', async () => {
    const inWorker = await pool.run(job());
    assert.deepEqual(flat(inWorker), flat(runBatchJob(job(), inlineEnv())));
    assert.ok(pool.workerCpuUs > 0, 'the worker reports its CPU time');
  });

  it('brings a refusal back as the same LeechguardError code', async () => {
    await assert.rejects(pool.run(job({ contentEncoding: 'gzip' })), (e: unknown) => {
      return isLeechguardError(e) && e.code === 'LG_ERR_UNSUPPORTED_MEDIA_TYPE' && e.httpStatus === 415;
    });
  });

  it('refuses batches beyond the per-worker bound with a retriable 503, never queues without limit', async () => {
    const runs = Array.from({ length: LIMITS.ingestWorkerQueuedBatchesMax + 3 }, () =>
      pool.run(job()).then(
        () => 'ok',
        (e: unknown) => (isLeechguardError(e) ? e.code : 'other'),
      ),
    );
    const outcomes = await Promise.all(runs);
    assert.equal(outcomes.filter((o) => o === 'ok').length, LIMITS.ingestWorkerQueuedBatchesMax);
    assert.equal(outcomes.filter((o) => o === 'LG_ERR_OVERLOADED').length, 3);
  });

  it('fails the batches of a worker that dies with ING_ERR_WORKER_LOST (503) and replaces it', async () => {
    const victim = pool.threads[0]!;
    // Stopped before it can answer: terminate() halts the thread at once, the batch is in its queue.
    const stopping = victim.terminate();
    const pending = pool.run(job());
    await stopping;
    await assert.rejects(pending, (e: unknown) => {
      return isLeechguardError(e) && e.code === 'ING_ERR_WORKER_LOST' && e.retriable && e.httpStatus === 503;
    });
    // A replacement starts; the next batch succeeds on it.
    for (let i = 0; i < 100 && (pool.size === 0 || pool.threads[0] === victim); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.notEqual(pool.threads[0], victim);
    const r = await pool.run(job());
    assert.equal(r.accepted, 3);
  });
});
