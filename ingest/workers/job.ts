/**
 * One HTTP batch from raw body bytes to Kafka-ready messages: inflate, count lines, parse, token +
 * enrichment, Avro, partition. The same function runs in a batch worker thread
 * (ingest/workers/worker.ts) or inline (`workers: 0`), so both paths produce byte-identical records;
 * a worker packs its result into a few transferable buffers (`packResult`) to cross threads, the
 * inline path hands the messages over as they are.
 */
import { gunzipSync } from 'node:zlib';
import { LeechguardError } from '../../core/errors.ts';
import { partitionOf } from '../../core/partition.ts';
import type { AvroSerde } from '../../core/serde.ts';
import { TOPICS } from '../../core/topics.ts';
import { encodeOutput } from '../encode.ts';
import {
  type BatchMeta,
  type BatchSource,
  buildCdnRequests,
  buildHeartbeats,
  contentBatchId,
  type HeartbeatSender,
  type PipelineContext,
} from '../pipeline.ts';
import type { TopicBatch } from '../sinks/kafka.ts';
import { type FieldMapping, type LogFormat, parseBatch, parseHeartbeats } from '../sources/index.ts';

export interface BatchJob {
  /** A log format, or `heartbeat` for POST /v1/heartbeats. */
  format: LogFormat | 'heartbeat';
  body: Uint8Array;
  /** The request's content-encoding, lower-cased ('' or identity: none). */
  contentEncoding: string;
  source: BatchSource;
  fields?: readonly string[] | undefined;
  mapping?: FieldMapping | undefined;
  /** The caller's X-Batch-Id when valid; else the id is derived from the body (replays dedupe). */
  givenBatchId: string | null;
  receivedAtMs: number;
  /** Heartbeats: who sent them (what of the body is believed) and from which address. */
  sender: HeartbeatSender;
}

export interface BatchLimits {
  lineBytesMax: number;
  batchLinesMax: number;
  bodyBytesMax: number;
}

/** What a batch job needs besides the job: built once per thread. */
export interface BatchEnv {
  ctx: PipelineContext;
  serde: AvroSerde;
  limits: BatchLimits;
  /** Partition count per topic, so records arrive with their partition chosen. */
  partitions: ReadonlyMap<string, number>;
}

/**
 * One topic's messages as flat bytes, so a result crosses threads as a few moved buffers and no
 * per-message objects: message i is key bytes then value bytes, the key ending at `keyEnds[i]` and
 * the value at `valueEnds[i]` (value i starts where key i ends).
 */
export interface PackedTopic {
  topic: string;
  partitions: Int32Array;
  keyEnds: Int32Array;
  valueEnds: Int32Array;
  bytes: Uint8Array;
}

export interface BatchResult {
  batchId: string;
  accepted: number;
  /** Per dead letter: what the HTTP answer and the metrics need (the records are in `batches`). */
  deadLetters: Array<{ offsetInBatch: number; errorCode: string; reason: string }>;
  /** Kafka-ready messages per topic, partitions chosen where the topic's count is known. */
  batches: TopicBatch[];
}

/** A BatchResult as a worker posts it: each topic's messages packed (see PackedTopic). */
export interface PackedBatchResult extends Omit<BatchResult, 'batches'> {
  topics: PackedTopic[];
}

/** A request body as text: identity or gzip (inflated size bounded), else 415. */
export function decodeBody(body: Uint8Array, contentEncoding: string, bodyBytesMax: number): string {
  const enc = contentEncoding;
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (enc === 'identity' || enc === '') return bytes.toString('utf8');
  if (enc !== 'gzip' && enc !== 'x-gzip') {
    throw new LeechguardError('LG_ERR_UNSUPPORTED_MEDIA_TYPE', `content-encoding ${enc}`);
  }
  try {
    return gunzipSync(bytes, { maxOutputLength: bodyBytesMax }).toString('utf8');
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new LeechguardError('LG_ERR_BODY_TOO_LARGE', 'inflated body exceeds the size limit');
    }
    throw new LeechguardError('LG_ERR_UNSUPPORTED_MEDIA_TYPE', 'body is not valid gzip');
  }
}

/** Refuses a batch with more lines than allowed before parsing any of it. */
function checkLineCount(text: string, batchLinesMax: number): void {
  let n = 0;
  let at = text.indexOf('\n');
  while (at !== -1) {
    n++;
    if (n > batchLinesMax) {
      throw new LeechguardError('ING_ERR_BATCH_TOO_MANY_LINES', `limit ${batchLinesMax} lines`);
    }
    at = text.indexOf('\n', at + 1);
  }
}

/** Runs one batch; throws a LeechguardError (4xx) for a batch refused as a whole. */
export function runBatchJob(job: BatchJob, env: BatchEnv): BatchResult {
  const { ctx, serde, limits } = env;
  const text = decodeBody(job.body, job.contentEncoding, limits.bodyBytesMax);
  checkLineCount(text, limits.batchLinesMax);
  const meta: BatchMeta = {
    // A view, not a copy: the body is only hashed.
    batchId:
      job.givenBatchId ??
      contentBatchId(job.source.name, Buffer.from(job.body.buffer, job.body.byteOffset, job.body.byteLength)),
    receivedAtMs: job.receivedAtMs,
  };
  let encoded: ReturnType<typeof encodeOutput>;
  if (job.format === 'heartbeat') {
    const parsed = parseHeartbeats(text, { lineBytesMax: limits.lineBytesMax });
    tooMany(parsed.records.length + parsed.errors.length, limits.batchLinesMax);
    const out = buildHeartbeats(parsed, job.source, meta, ctx, job.sender);
    encoded = encodeOutput(serde, TOPICS.heartbeats.name, out, job.source, meta, ctx);
  } else {
    const parsed = parseBatch(job.format, text, {
      fields: job.fields,
      mapping: job.mapping,
      lineBytesMax: limits.lineBytesMax,
    });
    tooMany(parsed.records.length + parsed.errors.length, limits.batchLinesMax);
    const out = buildCdnRequests(parsed, job.source, meta, ctx);
    encoded = encodeOutput(serde, TOPICS.requests.name, out, job.source, meta, ctx);
  }
  return {
    batchId: meta.batchId,
    accepted: encoded.accepted,
    deadLetters: encoded.deadLetters.map((d) => ({
      offsetInBatch: d.offsetInBatch,
      errorCode: d.errorCode,
      reason: d.reason,
    })),
    batches: encoded.batches.map((b) => withPartitions(b, env.partitions.get(b.topic))),
  };
}

/** Chooses each message's partition (Kafka's default for its key) when the topic's count is known. */
function withPartitions(batch: TopicBatch, partitionCount: number | undefined): TopicBatch {
  if (partitionCount !== undefined) {
    for (const m of batch.messages) m.partition ??= partitionOf(m.key, partitionCount);
  }
  return batch;
}

/** A result ready to cross threads: every topic packed, its buffers moved by `transferablesOf`. */
export function packResult(r: BatchResult): PackedBatchResult {
  return {
    batchId: r.batchId,
    accepted: r.accepted,
    deadLetters: r.deadLetters,
    topics: r.batches.map(packTopic),
  };
}

/** The receiving side of `packResult`. */
export function unpackResult(p: PackedBatchResult): BatchResult {
  return {
    batchId: p.batchId,
    accepted: p.accepted,
    deadLetters: p.deadLetters,
    batches: p.topics.map(unpackTopic),
  };
}

function tooMany(lines: number, batchLinesMax: number): void {
  if (lines > batchLinesMax) {
    throw new LeechguardError('ING_ERR_BATCH_TOO_MANY_LINES', `limit ${batchLinesMax} lines`);
  }
}

/**
 * Flattens one topic's messages (values are never tombstones here); a message's partition (chosen
 * by `runBatchJob`) is kept, -1 when it has none (the sink chooses).
 */
export function packTopic(batch: TopicBatch): PackedTopic {
  const n = batch.messages.length;
  const partitions = new Int32Array(n).fill(-1);
  const keyEnds = new Int32Array(n);
  const valueEnds = new Int32Array(n);
  let total = 0;
  for (const m of batch.messages) total += Buffer.byteLength(m.key) + (m.value?.length ?? 0);
  const bytes = Buffer.allocUnsafeSlow(total);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const m = batch.messages[i]!;
    if (m.partition !== undefined) partitions[i] = m.partition;
    pos += typeof m.key === 'string' ? bytes.write(m.key, pos, 'utf8') : m.key.copy(bytes, pos);
    keyEnds[i] = pos;
    if (m.value) pos += m.value.copy(bytes, pos);
    valueEnds[i] = pos;
  }
  return { topic: batch.topic, partitions, keyEnds, valueEnds, bytes };
}

/** The sink's view of packed messages: Buffers over the packed bytes, no copy. */
export function unpackTopic(p: PackedTopic): TopicBatch {
  const base = Buffer.from(p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength);
  const n = p.keyEnds.length;
  const messages: TopicBatch['messages'] = new Array(n);
  let start = 0;
  for (let i = 0; i < n; i++) {
    const keyEnd = p.keyEnds[i]!;
    const valueEnd = p.valueEnds[i]!;
    const partition = p.partitions[i]!;
    messages[i] = {
      key: base.subarray(start, keyEnd),
      value: base.subarray(keyEnd, valueEnd),
      ...(partition >= 0 ? { partition } : {}),
    };
    start = valueEnd;
  }
  return { topic: p.topic, messages };
}

/** The buffers of a packed result a postMessage can move instead of copying. */
export function transferablesOf(r: PackedBatchResult): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const t of r.topics) {
    for (const a of [t.bytes, t.partitions, t.keyEnds, t.valueEnds]) out.push(a.buffer as ArrayBuffer);
  }
  return out;
}
