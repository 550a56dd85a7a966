/**
 * kafkajs 2.2.4 as patched by patches/kafkajs+2.2.4.patch (applied by `patch-package` on install):
 * the record and record-batch encoders allocate once at their exact size, grouping messages per
 * partition is linear, and the request queue no longer schedules negative timeouts. The wire bytes
 * are checked against an encoding written here from the Kafka record-batch spec (magic 2), the
 * grouping against the original algorithm, and the patch itself is checked to be applied.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';

const require_ = createRequire(import.meta.url);

interface KafkaEncoder {
  buf: Buffer;
  offset: number;
  buffer: Buffer;
  size(): number;
  writeInt32(value: number): KafkaEncoder;
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
const RequestQueue = require_('kafkajs/src/network/requestQueue') as new (
  options: object,
) => {
  scheduleCheckPendingRequests(): void;
  destroy(): void;
};
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

describe('kafkajs request queue (patched)', () => {
  it('an idle queue schedules its pending-request check without a negative timeout warning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    const noop = () => {};
    const queue = new RequestQueue({
      maxInFlightRequests: 1,
      requestTimeout: 30_000,
      enforceRequestTimeout: false,
      clientId: 'test',
      broker: 'localhost:0',
      logger: { debug: noop, info: noop, warn: noop, error: noop },
    });
    try {
      queue.scheduleCheckPendingRequests();
      await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      queue.destroy();
      process.off('warning', onWarning);
    }
    assert.ok(!warnings.includes('TimeoutNegativeWarning'), NOT_APPLIED);
  });
});
