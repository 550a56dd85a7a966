/**
 * Raw files as ingest would turn them into records, without Kafka: CDN logs in any log format,
 * heartbeat files and account-plan files (plain or gzip, by magic bytes; CloudFront standard
 * logging v2's Parquet output too, read with hyparquet; files, folders, globs),
 * through the same parsers, token identity and enrichment as the live service (`parseBatch` /
 * `parseHeartbeats` -> `buildCdnRequests` / `buildHeartbeats`). Each input keeps its own line
 * order, cut into batches as `ship` cuts them (a CloudFront `#Fields` line travels ahead of later
 * batches); several inputs are merged by event time, so logs and heartbeats interleave as they
 * happened. Used by `leechguard backtest --format`.
 */

import { closeSync, createReadStream, globSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { LeechguardError } from '../../core/errors.ts';
import { LIMITS } from '../../core/limits.ts';
import type { AccountPlan, CdnRequest, PlayerHeartbeat } from '../../core/schemas/generated.ts';
import { TOPICS } from '../../core/topics.ts';
import { parseAccountsCsv, parseAccountsJson } from '../accounts/parse.ts';
import { type IngestConfig, SOURCE_FORMATS } from '../config.ts';
import { type BatchSource, buildCdnRequests, buildHeartbeats, type PipelineContext } from '../pipeline.ts';
import { isGzipFile } from '../ship/reader.ts';
import { type FieldMapping, isLogFormat, parseBatch, parseHeartbeats } from '../sources/index.ts';

/** What a replay yields per record: the topic ingest would produce it to, its key and value. */
export interface ReplayRecord {
  topic: string;
  key: string;
  value: CdnRequest | PlayerHeartbeat | AccountPlan | null;
}

/** One input: files of one format (a log format, `heartbeat`, or `accounts`). */
export interface ReplayInput {
  format: string;
  files: readonly string[];
}

export interface ReplayStats {
  lines: number;
  records: number;
  deadLetters: number;
  /** Dead letters by error code. */
  deadLetterCodes: Record<string, number>;
  /** First dead letters (code, reason, file:line), for the summary. */
  deadLetterSamples: string[];
}

export interface ReplayOptions {
  config: IngestConfig;
  ctx: PipelineContext;
  /** The `sources[]` entry whose token settings, tenant, fields and mapping apply (by name). */
  sourceName: string;
  /** Raw bytes read from disk (compressed for gzip files), for a progress bar. */
  onBytes?: (bytes: number) => void;
  /** Lines per parsed batch (as `ship --batch-lines`). */
  batchLines?: number;
}

const DEAD_LETTER_SAMPLES_MAX = 20;

/** The source settings ingest applies to `name` (a configured source, else the defaults). */
export function replaySource(
  config: IngestConfig,
  name: string,
  format: string,
): BatchSource & { fields: readonly string[] | undefined; mapping: FieldMapping | undefined } {
  const src = config.sources.find((s) => s.name === name);
  return {
    name,
    format,
    tenant: src?.tenant ?? 'default',
    token: src?.token ?? config.defaultToken,
    fields:
      src?.fields ??
      (format === 'cloudfront-realtime' ? config.defaultFields['cloudfront-realtime'] : undefined),
    mapping: src?.mapping,
  };
}

/**
 * Files named by arguments: a file, a folder (its files, sorted, not recursing into sub-folders)
 * or a glob (`logs/*.gz`, `logs/**\/E2*.gz`). Refuses a name that matches nothing.
 */
export function expandInputs(args: readonly string[]): string[] {
  const out: string[] = [];
  for (const arg of args) {
    if (/[*?[]/.test(arg)) {
      const hits = globSync(arg)
        .filter((p) => statSync(p).isFile())
        .sort();
      if (hits.length === 0) throw new LeechguardError('LG_ERR_REQUEST_INVALID', `${arg}: no file matches`);
      out.push(...hits);
      continue;
    }
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(arg);
    } catch (cause) {
      throw new LeechguardError('LG_ERR_REQUEST_INVALID', `${arg}: no such file or folder`, { cause });
    }
    if (st.isDirectory()) {
      const files = readdirSync(arg)
        .filter((f) => !f.startsWith('.'))
        .map((f) => join(arg, f))
        .filter((p) => statSync(p).isFile())
        .sort();
      out.push(...files);
    } else out.push(arg);
  }
  return out.map((p) => resolve(p));
}

function isParquetFile(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(4);
    return readSync(fd, b, 0, 4, 0) === 4 && b.toString('latin1') === 'PAR1';
  } finally {
    closeSync(fd);
  }
}

/** Parquet values as JSON: 64-bit integers as numbers, dates as ISO text. */
function jsonValue(_key: string, v: unknown): unknown {
  return typeof v === 'bigint' ? Number(v) : v;
}

/**
 * Rows of a Parquet file (CloudFront standard logging v2's Parquet output) as JSON lines, the
 * field names as keys (the standard parser's JSON path reads them), `PARQUET_ROWS_PER_READ` rows
 * at a time so memory stays bounded by a slice, not the file.
 */
async function* parquetLines(path: string, onBytes?: (n: number) => void): AsyncGenerator<string> {
  const file = await asyncBufferFromFile(path);
  const metadata = await parquetMetadataAsync(file);
  const rows = Number(metadata.num_rows);
  for (let rowStart = 0; rowStart < rows; rowStart += PARQUET_ROWS_PER_READ) {
    const rowEnd = Math.min(rows, rowStart + PARQUET_ROWS_PER_READ);
    const objects = await parquetReadObjects({ file, metadata, rowStart, rowEnd });
    for (const o of objects) yield JSON.stringify(o, jsonValue);
  }
  onBytes?.(statSync(path).size);
}

/** Rows read from a Parquet file at once (each becomes a JSON line). */
const PARQUET_ROWS_PER_READ = 5_000;

/** Lines of a file, plain, gzip or (CloudFront standard) Parquet; `onBytes` counts the bytes read from disk. */
async function* fileLines(
  path: string,
  format: string,
  onBytes?: (n: number) => void,
): AsyncGenerator<string> {
  if (isParquetFile(path)) {
    if (format !== 'cloudfront-standard')
      throw new LeechguardError(
        'ING_ERR_FORMAT_UNKNOWN',
        `${path}: Parquet is read as cloudfront-standard only`,
      );
    yield* parquetLines(path, onBytes);
    return;
  }
  const raw = createReadStream(path);
  if (onBytes) raw.on('data', (chunk) => onBytes(chunk.length));
  const input = isGzipFile(path) ? raw.pipe(createGunzip()) : raw;
  const rl = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of rl) yield line;
  } finally {
    rl.close();
    raw.destroy();
  }
}

function count(stats: ReplayStats, code: string, reason: string, where: string): void {
  stats.deadLetters++;
  stats.deadLetterCodes[code] = (stats.deadLetterCodes[code] ?? 0) + 1;
  if (stats.deadLetterSamples.length < DEAD_LETTER_SAMPLES_MAX)
    stats.deadLetterSamples.push(`${where}: ${code}: ${reason}`);
}

/** The records of one input, in file order. */
async function* replayInput(
  input: ReplayInput,
  options: ReplayOptions,
  stats: ReplayStats,
): AsyncGenerator<ReplayRecord> {
  const { format } = input;
  if (format !== 'accounts' && !(SOURCE_FORMATS as readonly string[]).includes(format))
    throw new LeechguardError('ING_ERR_FORMAT_UNKNOWN', format);
  const source = replaySource(options.config, options.sourceName, format);
  const batchLines = options.batchLines ?? LIMITS.shipBatchLinesDefault;
  const lineBytesMax = options.config.limits.lineBytesMax;
  // Event time of the latest record: the receive time of a batch (heartbeats without a time take it).
  let lastMs = 0;
  for (const file of input.files) {
    let fieldsHeader: string | null = null;
    let pending: string[] = [];
    let firstLine = 1;
    let batchNo = 0;
    const flush = function* (): Generator<ReplayRecord> {
      if (pending.length === 0) return;
      // The header travels ahead of a batch that does not start with one (as ship sends it).
      const header = fieldsHeader !== null && !pending[0]!.startsWith('#') ? `${fieldsHeader}\n` : '';
      const text = header + pending.join('\n');
      const shift = header ? 1 : 0;
      const meta = { batchId: `${file}#${batchNo++}`, receivedAtMs: lastMs };
      const where = (offset: number) => `${file}:${firstLine + offset - shift}`;
      if (format === 'accounts') {
        const parsed = text.trimStart().startsWith('{')
          ? parseAccountsJson(text, lastMs)
          : parseAccountsCsv(text, lastMs);
        for (const e of parsed.errors) count(stats, e.code, e.reason, where(e.offset));
        for (const c of parsed.changes) {
          stats.records++;
          yield { topic: TOPICS.accounts.name, key: c.accountId, value: c.plan };
        }
      } else {
        const built =
          format === 'heartbeat'
            ? buildHeartbeats(parseHeartbeats(text, { lineBytesMax }), source, meta, options.ctx)
            : isLogFormat(format)
              ? buildCdnRequests(
                  parseBatch(format, text, { fields: source.fields, mapping: source.mapping, lineBytesMax }),
                  source,
                  meta,
                  options.ctx,
                )
              : null;
        if (!built) throw new LeechguardError('ING_ERR_FORMAT_UNKNOWN', format);
        for (const d of built.deadLetters)
          count(stats, d.value.errorCode, d.value.reason, where(d.value.offsetInBatch));
        const topic = format === 'heartbeat' ? TOPICS.heartbeats.name : TOPICS.requests.name;
        for (const r of built.records) {
          stats.records++;
          lastMs = Math.max(lastMs, r.value.timestampMs);
          yield { topic, key: r.key, value: r.value };
        }
      }
      firstLine += pending.length;
      pending = [];
    };
    for await (const line of fileLines(file, format, options.onBytes)) {
      if (line.startsWith('#Fields:')) fieldsHeader = line;
      if (line.trim() !== '' && !line.startsWith('#')) stats.lines++;
      pending.push(line);
      if (pending.length >= batchLines) yield* flush();
    }
    yield* flush();
  }
}

function timeOf(r: ReplayRecord): number {
  // Plans first: they describe the accounts before any of their traffic.
  return r.value === null || 'streamLimit' in r.value ? Number.NEGATIVE_INFINITY : r.value.timestampMs;
}

/**
 * Every input's records. One input: in file order. Several: merged by event time (each input's own
 * order kept; on a tie the earlier input goes first).
 */
export async function* replay(
  inputs: readonly ReplayInput[],
  options: ReplayOptions,
  stats: ReplayStats,
): AsyncGenerator<ReplayRecord> {
  if (inputs.length === 1) {
    yield* replayInput(inputs[0]!, options, stats);
    return;
  }
  const its = inputs.map((i) => replayInput(i, options, stats));
  const heads: Array<ReplayRecord | undefined> = [];
  const next = async (i: number) => {
    const r = await its[i]!.next();
    return r.done ? undefined : r.value;
  };
  for (let i = 0; i < its.length; i++) heads.push(await next(i));
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i];
      if (h !== undefined && (best === -1 || timeOf(h) < timeOf(heads[best]!))) best = i;
    }
    if (best === -1) return;
    yield heads[best]!;
    heads[best] = await next(best);
  }
}

export function emptyReplayStats(): ReplayStats {
  return { lines: 0, records: 0, deadLetters: 0, deadLetterCodes: {}, deadLetterSamples: [] };
}
