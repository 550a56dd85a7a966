import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { type IngestHandle, startIngest } from '../../../ingest/service.ts';
import { testEndpoints } from '../../support/stack.ts';
import { uploadUntilAnswered } from '../../support/upload.ts';
import { waitFor } from '../../support/wait.ts';
import { type PrivateKafka, privateKafka } from './private-kafka.ts';
import { ingestTestConfig } from './support.ts';

const KEY = 'ndjson-key-0123456789';
const line = (i: number) =>
  JSON.stringify({ timestamp: 1763668800, url: `/limits/seg_${i}.ts`, clientIp: '192.0.2.9' });

async function postTo(handle: IngestHandle, body: string | Buffer, headers: Record<string, string> = {}) {
  const res = await fetch(`${handle.url}/v1/logs/ndjson`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/x-ndjson', ...headers },
    body,
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

describe('ingest limits (real stack)', () => {
  let ingest: IngestHandle;
  let tight: IngestHandle;
  before(async () => {
    const endpoints = await testEndpoints();
    ingest = await startIngest(
      ingestTestConfig(endpoints, {
        limits: { bodyBytesMax: 64 * 1024, lineBytesMax: 1024, batchLinesMax: 100 },
      }),
    );
    // An in-flight bound smaller than one batch: every batch meets back-pressure.
    tight = await startIngest(
      ingestTestConfig(endpoints, { limits: { inFlightRecordsMax: 3, batchLinesMax: 3 } }),
    );
  });
  after(async () => {
    await ingest?.close();
    await tight?.close();
  });

  const post = postTo;

  it('refuses a keyless 16 MiB upload with 401 before reading its body', async () => {
    const total = 16 * 1024 * 1024;
    for (const path of ['/v1/logs/ndjson', '/v1/heartbeats', '/v1/accounts']) {
      const out = await uploadUntilAnswered(
        tight.url,
        path,
        { 'content-type': 'application/x-ndjson' },
        total,
      );
      assert.equal(out.status, 401, path);
      assert.ok(out.sentBytes < total, `${path}: answered only after ${out.sentBytes} of ${total} bytes`);
    }
  });

  it('answers a 1 MB pathological JSON-array element with a dead letter, the rest accepted', async () => {
    const body = JSON.stringify([
      { timestamp: 1763668800, url: '/limits/seg_1.ts', clientIp: '192.0.2.9' },
      { timestamp: 1763668800, url: `/limits/${'1'.repeat(500_000)}${'eyJ'.repeat(170_000)}`, t: 'x' },
    ]);
    const res = await post(tight, body);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.accepted, 1);
    assert.deepEqual(
      (res.body.errors as Array<{ offset: number; code: string }>).map((e) => [e.offset, e.code]),
      [[1, 'ING_ERR_LINE_TOO_LONG']],
    );
  });

  it('answers 413 for a body over the size limit, compressed or inflated', async () => {
    const big = Array.from({ length: 90 }, (_, i) => `${line(i)}${' '.repeat(900)}`).join('\n');
    assert.equal((await post(ingest, big)).status, 413);
    const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024, 32));
    const res = await post(ingest, bomb, { 'content-encoding': 'gzip' });
    assert.equal(res.status, 413);
    assert.equal(res.body.code, 'LG_ERR_BODY_TOO_LARGE');
  });

  it('answers 413 ING_ERR_BATCH_TOO_MANY_LINES above the lines-per-batch limit', async () => {
    const res = await post(ingest, Array.from({ length: 150 }, (_, i) => line(i)).join('\n'));
    assert.equal(res.status, 413);
    assert.equal(res.body.code, 'ING_ERR_BATCH_TOO_MANY_LINES');
  });

  it('dead-letters a too-long line with ING_ERR_LINE_TOO_LONG and accepts the rest of the batch', async () => {
    const res = await post(ingest, [line(1), `{"x":"${'a'.repeat(2000)}"}`, line(2)].join('\n'));
    assert.equal(res.status, 200);
    assert.equal(res.body.accepted, 2);
    assert.equal(res.body.deadLettered, 1);
    assert.deepEqual(
      (res.body.errors as Array<{ offset: number; code: string }>).map((e) => [e.offset, e.code]),
      [[1, 'ING_ERR_LINE_TOO_LONG']],
    );
  });

  it('answers 415 for an unknown content-encoding', async () => {
    assert.equal((await post(ingest, 'x', { 'content-encoding': 'br' })).status, 415);
  });
});

describe('ingest in-flight bound (a private broker frozen under it)', () => {
  let kafka: PrivateKafka;
  let tight: IngestHandle;
  before(async () => {
    kafka = await privateKafka();
    // Only the schema registry of the shared stack; the broker is this test's own, so it can freeze it.
    const endpoints = { ...(await testEndpoints()), kafkaBrokers: kafka.brokers };
    tight = await startIngest(
      ingestTestConfig(endpoints, { limits: { inFlightRecordsMax: 3, batchLinesMax: 3 } }),
    );
  });
  after(async () => {
    kafka?.resume();
    await tight?.close();
    await kafka?.stop();
  });

  async function inFlightRecords(): Promise<number> {
    const text = await (await fetch(`${tight.url}/metrics`)).text();
    const m = /^leechguard_ingest_in_flight_records(?:\{[^}]*\})? (\d+)/m.exec(text);
    return m ? Number(m[1]) : -1;
  }

  it('answers 503 with Retry-After, taking nothing, when the in-flight bound is reached', async () => {
    assert.equal((await postTo(tight, line(0))).status, 200, 'warm: producer connected, schema known');
    // The broker frozen, a first batch of three waits for its acks: the bound is full.
    kafka.pause();
    const first = postTo(tight, [line(1), line(2), line(3)].join('\n'));
    await waitFor('three records in flight', async () => (await inFlightRecords()) === 3);
    const res = await postTo(tight, [line(4), line(5)].join('\n'));
    assert.equal(res.status, 503);
    assert.equal(res.body.code, 'LG_ERR_OVERLOADED');
    assert.equal(res.headers.get('retry-after'), '1');
    kafka.resume();
    assert.equal((await first).status, 200, 'the first batch is answered once Kafka acked it');
    assert.equal((await postTo(tight, line(5))).status, 200, 'a batch within the bound goes through again');
  });
});
