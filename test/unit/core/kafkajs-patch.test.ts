/**
 * kafkajs 2.2.4 as patched by patches/kafkajs+2.2.4.patch (applied by `patch-package` on install):
 * the record and record-batch encoders allocate once at their exact size, grouping messages per
 * partition is linear, and the request queue arms its pending-request check only when a request
 * is pending or the broker throttles us (the original re-armed a 1 ms timer forever on every idle
 * connection). The wire bytes are checked against an encoding written here from the Kafka
 * record-batch spec (magic 2), the grouping against the original algorithm, the request queue's
 * scheduling on mocked timers, and the patch itself is checked to be applied.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it, type TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';

const require_ = createRequire(import.meta.url);

interface KafkaEncoder {
  buf: Buffer;
  offset: number;
  buffer: Buffer;
  size(): number;
  writeInt32(value: number): KafkaEncoder;
  writeVarInt(value: number): KafkaEncoder;
  writeUVarInt(value: number): KafkaEncoder;
  writeBytes(value: Buffer): KafkaEncoder;
  writeEncoderArray(value: KafkaEncoder[]): KafkaEncoder;
}
type Headers = Record<string, string | Buffer | (string | Buffer)[]>;
interface RecordInput {
  offsetDelta: number;
  timestampDelta: number;
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Headers;
}
interface BatchInput {
  compression?: number;
  firstTimestamp: number;
  maxTimestamp: number;
  lastOffsetDelta: number;
  transactional: boolean;
  producerId: unknown;
  producerEpoch: number;
  firstSequence: number;
  records: KafkaEncoder[];
}
interface Message {
  id: number;
  key: string;
  partition: number;
}
interface PartitionMetadata {
  partitionId: number;
  leader: number;
}
type Partitioner = (args: {
  topic: string;
  partitionMetadata: PartitionMetadata[];
  message: Message;
}) => number;
type GroupArgs = {
  topic: string;
  partitionMetadata: PartitionMetadata[];
  messages: Message[];
  partitioner: Partitioner;
};

const Encoder = require_('kafkajs/src/protocol/encoder') as new (initialSize?: number) => KafkaEncoder;
const Record = require_('kafkajs/src/protocol/recordBatch/record/v0') as (input: RecordInput) => KafkaEncoder;
const { RecordBatch } = require_('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch: (input: BatchInput) => Promise<KafkaEncoder>;
};
const Long = require_('kafkajs/src/utils/long') as { fromString(s: string): unknown };
const groupMessagesPerPartition = require_('kafkajs/src/producer/groupMessagesPerPartition') as (
  args: GroupArgs,
) => Record<string, Message[]>;
interface PushedRequest {
  entry: {
    apiKey: number;
    apiName: string;
    apiVersion: number;
    correlationId: number;
    resolve: (response: unknown) => void;
    reject: (error: Error) => void;
  };
  expectResponse: boolean;
  requestTimeout?: number;
  sendRequest: () => void;
}
interface RequestQueueOptions {
  maxInFlightRequests: number | null;
  requestTimeout: number;
  enforceRequestTimeout: boolean;
  clientId: string;
  broker: string;
  logger: object;
}
interface RequestQueueT {
  throttleCheckTimeoutId: unknown;
  pending: unknown[];
  inflight: Map<number, unknown>;
  push(request: PushedRequest): void;
  fulfillRequest(response: { correlationId: number; payload: Buffer; size: number }): void;
  maybeThrottle(clientSideThrottleTime: number | null): void;
  rejectAll(error: Error): void;
  scheduleRequestTimeoutCheck(): void;
  scheduleCheckPendingRequests(): void;
  checkPendingRequests(): void;
  destroy(): void;
}
const RequestQueue = require_('kafkajs/src/network/requestQueue') as new (
  options: RequestQueueOptions,
) => RequestQueueT;
const { Partitioners } = require_('kafkajs') as { Partitioners: { DefaultPartitioner: () => Partitioner } };

const NOT_APPLIED =
  'patches/kafkajs+2.2.4.patch is not applied: run `npm install` (its postinstall runs patch-package)';

// ---- Reference encoding, from the Kafka protocol's record batch (magic 2) spec ----

/** Zigzag then base-128 groups, least significant first (Kafka's varint / varlong). */
function varint(n: bigint | number): Buffer {
  let u = BigInt.asUintN(64, (BigInt(n) << 1n) ^ (BigInt(n) >> 63n));
  const out: number[] = [];
  while (u >= 0x80n) {
    out.push(Number(u & 0x7fn) | 0x80);
    u >>= 7n;
  }
  out.push(Number(u));
  return Buffer.from(out);
}

/** Length-prefixed bytes (varint length, -1 for null); strings as UTF-8. */
function varBytes(value: Buffer | string | null): Buffer {
  if (value === null) return varint(-1);
  const data = Buffer.from(value);
  return Buffer.concat([varint(data.length), data]);
}

function int(bytes: 1 | 2 | 4 | 8, value: number | bigint, unsigned = false): Buffer {
  const b = Buffer.alloc(bytes);
  if (bytes === 1) b.writeInt8(Number(value));
  else if (bytes === 2) b.writeInt16BE(Number(value));
  else if (bytes === 4) unsigned ? b.writeUInt32BE(Number(value)) : b.writeInt32BE(Number(value));
  else b.writeBigInt64BE(BigInt(value));
  return b;
}

/** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), bit by bit. */
function crc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function referenceRecord({ offsetDelta, timestampDelta, key, value, headers = {} }: RecordInput): Buffer {
  const flat = Object.entries(headers).flatMap(([k, v]) =>
    (Array.isArray(v) ? v : [v]).map((x) => [k, x] as const),
  );
  const body = Buffer.concat([
    int(1, 0), // attributes: none used
    varint(timestampDelta),
    varint(offsetDelta),
    varBytes(key),
    varBytes(value),
    varint(flat.length),
    ...flat.flatMap(([k, v]) => [varBytes(k), varBytes(v)]),
  ]);
  return Buffer.concat([varint(body.length), body]);
}

interface ReferenceBatch {
  compressed: boolean;
  firstTimestamp: number;
  maxTimestamp: number;
  transactional: boolean;
  producerId: bigint;
  producerEpoch: number;
  firstSequence: number;
  records: Buffer[];
}

function referenceBatch(b: ReferenceBatch): Buffer {
  const records = Buffer.concat(b.records);
  const crcCovered = Buffer.concat([
    int(2, (b.compressed ? 1 : 0) | (b.transactional ? 16 : 0)), // attributes: codec, transactional bit
    int(4, b.records.length - 1), // lastOffsetDelta
    int(8, b.firstTimestamp),
    int(8, b.maxTimestamp),
    int(8, b.producerId),
    int(2, b.producerEpoch),
    int(4, b.firstSequence),
    int(4, b.records.length),
    b.compressed ? gzipSync(records) : records,
  ]);
  const afterLength = Buffer.concat([int(4, 0), int(1, 2), int(4, crc32c(crcCovered), true), crcCovered]);
  return Buffer.concat([int(8, 0), int(4, afterLength.length), afterLength]);
}

// ---- Inputs ----

const NOW_MS = 1_795_000_000_000;
const accountKey = (i: number) => `acct-${String(i).padStart(15, '0')}`;

/** The kinds of record that matter: null key or value, the 512-byte boundary, UTF-8, headers. */
const VARIED_RECORDS: Omit<RecordInput, 'offsetDelta'>[] = [
  { timestampDelta: 0, key: accountKey(1), value: Buffer.alloc(429, 7) },
  { timestampDelta: 3, key: null, value: Buffer.alloc(429, 8) },
  { timestampDelta: 5, key: accountKey(2), value: null },
  { timestampDelta: 0, key: null, value: null },
  { timestampDelta: 2 ** 40, key: accountKey(3), value: Buffer.alloc(490, 1) },
  { timestampDelta: -70, key: accountKey(4), value: Buffer.alloc(600, 2) },
  { timestampDelta: 9, key: Buffer.alloc(700, 3), value: Buffer.alloc(5000, 4) },
  { timestampDelta: 1, key: 'clé-ü', value: 'välue ✓'.repeat(100) },
  { timestampDelta: 1, key: '', value: Buffer.alloc(0) },
  {
    timestampDelta: 2,
    key: accountKey(5),
    value: Buffer.alloc(429, 5),
    headers: { trace: 'abc', 'x-ü': ['1', Buffer.from([0, 255])], big: 'h'.repeat(600), empty: '' },
  },
];

const bytesOrString = fc.oneof(
  fc.uint8Array({ maxLength: 1200 }).map((a) => Buffer.from(a)),
  fc.string({ unit: 'grapheme', maxLength: 300 }),
);
const recordArb = fc.record({
  timestampDelta: fc.oneof(
    fc.integer(),
    fc.integer({ min: 0, max: 2 ** 21 }).map((x) => x * 2 ** 20),
  ),
  key: fc.option(bytesOrString, { nil: null }),
  value: fc.option(bytesOrString, { nil: null }),
  headers: fc.dictionary(
    fc.string({ maxLength: 12 }),
    fc.oneof(bytesOrString, fc.array(bytesOrString, { maxLength: 3 })),
    { maxKeys: 3 },
  ),
});

async function encodeBoth(
  inputs: Omit<RecordInput, 'offsetDelta'>[],
  compressed: boolean,
  transactional: boolean,
) {
  const records = inputs.map((r, i) => ({ ...r, offsetDelta: i }));
  const batch = await RecordBatch({
    compression: compressed ? 1 : 0,
    firstTimestamp: NOW_MS,
    maxTimestamp: NOW_MS + 9,
    lastOffsetDelta: records.length - 1,
    transactional,
    producerId: Long.fromString('281474976710655'),
    producerEpoch: 3,
    firstSequence: 123_456,
    records: records.map((r) => Record(r)),
  });
  const expected = referenceBatch({
    compressed,
    firstTimestamp: NOW_MS,
    maxTimestamp: NOW_MS + 9,
    transactional,
    producerId: 281474976710655n,
    producerEpoch: 3,
    firstSequence: 123_456,
    records: records.map(referenceRecord),
  });
  return { batch, expected };
}

describe('kafkajs record encoding (patched): the same wire bytes as the spec', () => {
  it('the reference CRC-32C gives the standard check value', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  });

  it('each record is its spec encoding, in a buffer of exactly its size', () => {
    for (const [i, input] of VARIED_RECORDS.entries()) {
      const record = Record({ ...input, offsetDelta: i * 1000 });
      assert.deepEqual(record.buffer, referenceRecord({ ...input, offsetDelta: i * 1000 }), `record ${i}`);
      assert.equal(record.buf.length, record.size(), `${NOT_APPLIED} (record ${i} not allocated exactly)`);
    }
  });

  it('an uncompressed batch of varied records is the spec encoding, allocated once', async () => {
    for (const transactional of [false, true]) {
      const { batch, expected } = await encodeBoth(VARIED_RECORDS, false, transactional);
      assert.deepEqual(batch.buffer, expected);
      assert.equal(batch.buf.length, batch.size(), `${NOT_APPLIED} (batch not allocated exactly)`);
    }
  });

  it('a gzip-compressed batch (records joined by writeEncoderArray) is the spec encoding', async () => {
    const { batch, expected } = await encodeBoth(VARIED_RECORDS, true, false);
    assert.deepEqual(batch.buffer, expected);
  });

  it('random records, batched compressed or not, match the spec encoding', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(recordArb, { minLength: 1, maxLength: 40 }),
        fc.boolean(),
        async (inputs, compressed) => {
          const { batch, expected } = await encodeBoth(inputs, compressed, false);
          assert.deepEqual(batch.buffer, expected);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('writeEncoderArray appends every encoder after what was written, whatever their sizes', () => {
    const parts = [5, 600, 0, 3000, 1].map((n, i) => {
      const e = new Encoder();
      for (let k = 0; k < n; k++) e.writeInt32(i * 100_000 + k);
      return e;
    });
    const out = new Encoder(3).writeInt32(-7).writeEncoderArray(parts);
    assert.deepEqual(out.buffer, Buffer.concat([int(4, -7), ...parts.map((p) => p.buffer)]));
  });
});

/** kafkajs 2.2.4's own groupMessagesPerPartition, quadratic, kept as the reference. */
function groupReference({
  topic,
  partitionMetadata,
  messages,
  partitioner,
}: GroupArgs): Record<string, Message[]> {
  if (partitionMetadata.length === 0) return {};
  return messages.reduce<Record<string, Message[]>>((result, message) => {
    const partition = partitioner({ topic, partitionMetadata, message });
    const current = result[partition] || [];
    return Object.assign(result, { [partition]: [...current, message] });
  }, {});
}

describe('kafkajs Encoder varints and growth (patched: in place, no zero-fill)', () => {
  it('writes every varint as the spec, in place, and keeps what was written across growth', () => {
    const values = [0, 1, -1, 63, -64, 64, 127, 128, 300, -300, 2 ** 20, -(2 ** 20), 2 ** 31 - 1, -(2 ** 31)];
    for (let i = 0; i < 500; i++) values.push(Math.floor((Math.random() - 0.5) * 2 ** 32) | 0);
    const e = new Encoder(1); // tiny: every few writes grow the buffer
    const expected: Buffer[] = [];
    for (const v of values) {
      e.writeVarInt(v);
      expected.push(varint(v));
      e.writeBytes(Buffer.from([0xab, 0xcd]));
      expected.push(int(4, 2), Buffer.from([0xab, 0xcd]));
    }
    assert.deepEqual(e.buffer, Buffer.concat(expected));
  });

  it('writes unsigned varints of the 32-bit range as base-128 groups', () => {
    for (const u of [0, 1, 127, 128, 16_383, 16_384, 2 ** 28 - 1, 2 ** 28, 2 ** 32 - 1]) {
      const e = new Encoder();
      e.writeUVarInt(u);
      const out: number[] = [];
      let v = u;
      while (v >= 0x80) {
        out.push((v & 0x7f) | 0x80);
        v = Math.floor(v / 128);
      }
      out.push(v);
      assert.deepEqual(e.buffer, Buffer.from(out), String(u));
    }
  });
});

describe('kafkajs groupMessagesPerPartition (patched)', () => {
  it('groups exactly as the original, keeping each partition in message order', () => {
    const byField: Partitioner = ({ message }) => message.partition;
    const byKey = Partitioners.DefaultPartitioner();
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 12 }),
        fc.array(fc.tuple(fc.nat(), fc.string({ maxLength: 20 })), { maxLength: 300 }),
        fc.boolean(),
        (partitions, raw, useKeys) => {
          const partitionMetadata = Array.from({ length: partitions }, (_, i) => ({
            partitionId: i,
            leader: 1,
          }));
          const messages = raw.map(([p, key], id) => ({ id, key, partition: p % Math.max(partitions, 1) }));
          const args = { topic: 't', partitionMetadata, messages, partitioner: useKeys ? byKey : byField };
          const got = groupMessagesPerPartition(args);
          const want = groupReference(args);
          assert.deepEqual(Object.keys(got), Object.keys(want));
          for (const [partition, list] of Object.entries(want)) {
            assert.equal(got[partition]!.length, list.length);
            for (const [i, m] of list.entries()) {
              assert.equal(got[partition]![i], m, 'the same message objects, same order');
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('is the linear version (the patch is applied)', () => {
    const source = readFileSync(require_.resolve('kafkajs/src/producer/groupMessagesPerPartition'), 'utf8');
    assert.ok(!source.includes('[...current, message]'), NOT_APPLIED);
    const messages = Array.from({ length: 200_000 }, (_, id) => ({ id, key: '', partition: 0 }));
    const grouped = groupMessagesPerPartition({
      topic: 't',
      partitionMetadata: [{ partitionId: 0, leader: 1 }],
      messages,
      partitioner: () => 0,
    });
    assert.equal(grouped[0]!.length, messages.length);
  });
});

describe('kafkajs request queue (patched): a check of pending requests only when one is due', () => {
  const noop = () => {};
  const logger = { debug: noop, info: noop, warn: noop, error: noop };
  const NOW = 1_800_000_000_000;

  /** A queue on mocked timers and clock; `timersArmed()` counts the setTimeout calls since. */
  function setup(
    t: TestContext,
    options: Partial<RequestQueueOptions> = {},
  ): {
    queue: RequestQueueT;
    sent: number[];
    outcomes: Map<number, string>;
    request: (id: number, extra?: { expectResponse?: boolean; requestTimeout?: number }) => PushedRequest;
    fulfill: (id: number) => void;
    timersArmed: () => number;
  } {
    t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: NOW });
    let armed = 0;
    const mockedSetTimeout = globalThis.setTimeout;
    globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
      // The unpatched queue re-arms its check forever: on mocked timers, tick() would never return.
      if (++armed > 1_000) throw new Error(`${NOT_APPLIED} (a timer re-armed in a loop)`);
      return mockedSetTimeout(...args);
    }) as typeof setTimeout;
    const queue = new RequestQueue({
      maxInFlightRequests: 1,
      requestTimeout: 30_000,
      enforceRequestTimeout: false,
      clientId: 'test',
      broker: 'localhost:0',
      logger,
      ...options,
    });
    t.after(() => {
      queue.destroy();
      globalThis.setTimeout = mockedSetTimeout;
    });
    const sent: number[] = [];
    const outcomes = new Map<number, string>();
    const request = (id: number, extra: { expectResponse?: boolean; requestTimeout?: number } = {}) => ({
      entry: {
        apiKey: 0,
        apiName: 'Produce',
        apiVersion: 7,
        correlationId: id,
        resolve: () => outcomes.set(id, 'resolved'),
        reject: (e: Error) => outcomes.set(id, `rejected: ${e.message}`),
      },
      expectResponse: extra.expectResponse ?? true,
      requestTimeout: extra.requestTimeout,
      sendRequest: () => sent.push(id),
    });
    const fulfill = (id: number) =>
      queue.fulfillRequest({ correlationId: id, payload: Buffer.alloc(0), size: 0 });
    return { queue, sent, outcomes, request, fulfill, timersArmed: () => armed };
  }

  it('an idle queue arms no timer: not when a response empties it, nor after (the 1 ms loop is gone)', (t) => {
    const { queue, sent, outcomes, request, fulfill, timersArmed } = setup(t, {
      enforceRequestTimeout: true,
    });
    queue.scheduleRequestTimeoutCheck(); // what a connection does once connected
    queue.push(request(1));
    fulfill(1); // upstream #1704: the first response started the endless loop here
    queue.scheduleCheckPendingRequests();
    queue.checkPendingRequests();
    queue.maybeThrottle(null);
    queue.maybeThrottle(0);
    assert.deepEqual(sent, [1]);
    assert.equal(outcomes.get(1), 'resolved');
    assert.equal(queue.throttleCheckTimeoutId, null, NOT_APPLIED);
    assert.equal(timersArmed(), 0, `${NOT_APPLIED} (an idle queue armed a timer)`);
    t.mock.timers.tick(60_000);
    assert.equal(timersArmed(), 0);
    assert.equal(queue.throttleCheckTimeoutId, null);
  });

  it('a throttled queue sends its pending request once the throttle ends, then goes idle', (t) => {
    const { queue, sent, request, fulfill, timersArmed } = setup(t);
    queue.push(request(1));
    fulfill(1);
    queue.maybeThrottle(500); // the response asked us to hold off for 500 ms (KIP-219)
    queue.push(request(2));
    assert.deepEqual(sent, [1], 'held while throttled');
    t.mock.timers.tick(499);
    assert.deepEqual(sent, [1]);
    t.mock.timers.tick(1);
    assert.deepEqual(sent, [1, 2], 'sent when the throttle ends');
    fulfill(2);
    const armed = timersArmed();
    t.mock.timers.tick(10_000);
    assert.equal(timersArmed(), armed, 'no timer once nothing is pending and the throttle is over');
    assert.equal(queue.throttleCheckTimeoutId, null);
  });

  it('a throttle extended while a check is armed holds the request until its new end', (t) => {
    const { queue, sent, request, fulfill } = setup(t, { maxInFlightRequests: null });
    queue.push(request(1));
    fulfill(1);
    queue.maybeThrottle(300);
    queue.push(request(2));
    t.mock.timers.tick(100);
    queue.maybeThrottle(1_000); // now until NOW + 1100
    t.mock.timers.tick(200);
    assert.deepEqual(sent, [1], 'not at the first throttle end');
    t.mock.timers.tick(799);
    assert.deepEqual(sent, [1]);
    t.mock.timers.tick(1);
    assert.deepEqual(sent, [1, 2]);
  });

  it('a throttle with nothing pending arms one check at its end, not a loop', (t) => {
    const { queue, sent, request, timersArmed } = setup(t);
    queue.maybeThrottle(200);
    assert.equal(timersArmed(), 1);
    queue.push(request(1)); // enqueued under the check already armed
    assert.deepEqual(sent, []);
    t.mock.timers.tick(200);
    assert.deepEqual(sent, [1]);
    t.mock.timers.tick(10_000);
    assert.equal(timersArmed(), 1);
    assert.equal(queue.throttleCheckTimeoutId, null);
  });

  it('a request enqueued as a marginal throttle ends is still checked (upstream #1532)', (t) => {
    const { queue, sent, request } = setup(t, { maxInFlightRequests: null });
    queue.maybeThrottle(1);
    queue.push(request(1));
    assert.deepEqual(sent, []);
    t.mock.timers.tick(1);
    assert.deepEqual(sent, [1]);
  });

  it('requests beyond maxInFlightRequests are sent as earlier ones complete, in order', (t) => {
    const { queue, sent, outcomes, request, fulfill } = setup(t, { maxInFlightRequests: 2 });
    for (const id of [1, 2, 3, 4, 5]) queue.push(request(id));
    assert.deepEqual(sent, [1, 2]);
    fulfill(1);
    assert.deepEqual(sent, [1, 2, 3]);
    fulfill(3);
    assert.deepEqual(sent, [1, 2, 3, 4]);
    fulfill(2);
    assert.deepEqual(sent, [1, 2, 3, 4, 5]);
    fulfill(4);
    fulfill(5);
    assert.deepEqual([...outcomes.values()], Array(5).fill('resolved'));
    t.mock.timers.tick(10_000);
    assert.equal(queue.throttleCheckTimeoutId, null);
    assert.equal(queue.pending.length + queue.inflight.size, 0);
  });

  it('a request that expects no response frees its slot: the pending check still sends the next', (t) => {
    const { queue, sent, request, fulfill } = setup(t, { maxInFlightRequests: 1 });
    queue.push(request(1));
    queue.push(request(2, { expectResponse: false }));
    queue.push(request(3));
    fulfill(1);
    assert.deepEqual(sent, [1, 2, 3]);
  });

  it('a request timing out frees its slot for the pending one; rejectAll leaves no timer behind', (t) => {
    const { queue, sent, outcomes, request } = setup(t, {
      enforceRequestTimeout: true,
      requestTimeout: 1_000,
    });
    queue.scheduleRequestTimeoutCheck();
    queue.push(request(1));
    queue.push(request(2));
    assert.deepEqual(sent, [1]);
    t.mock.timers.tick(1_100);
    assert.match(outcomes.get(1) ?? '', /rejected: .*timed out/);
    assert.deepEqual(sent, [1, 2]);
    queue.push(request(3));
    queue.rejectAll(new Error('connection closed'));
    assert.equal(outcomes.get(3), 'rejected: connection closed');
    t.mock.timers.tick(100);
    assert.equal(queue.throttleCheckTimeoutId, null);
  });

  it('a reconnect (scheduleRequestTimeoutCheck) keeps the check of a request still pending', (t) => {
    const { queue, sent, request, fulfill } = setup(t, { enforceRequestTimeout: true });
    queue.maybeThrottle(50);
    queue.push(request(1));
    queue.scheduleRequestTimeoutCheck(); // calls destroy(), which clears the armed check
    t.mock.timers.tick(50);
    assert.deepEqual(sent, [1]);
    fulfill(1);
  });
});
