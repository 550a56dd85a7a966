/**
 * `leechguard ship`: sends log files (plain or gzip) or stdin to ingest in batches, over HTTP or
 * straight to Kafka, retrying with exponential back-off, and keeping a checkpoint written only
 * after a batch was acked, so a restart neither loses nor repeats lines (a crash between an ack
 * and the checkpoint write re-sends one batch: same batch id and same record ids, so downstream
 * drops the duplicates).
 */
import { resolve } from 'node:path';
import { LeechguardError } from '../../core/errors.ts';
import { deterministicId } from '../../core/ids.ts';
import { LIMITS } from '../../core/limits.ts';
import {
  type Checkpoint,
  FINGERPRINT_BYTES,
  fingerprint,
  readCheckpoint,
  writeCheckpoint,
} from './checkpoint.ts';
import { headBytes, type LineChunk, readFileLines, readStdinLines } from './reader.ts';

export interface SendResult {
  accepted: number;
  deadLettered: number;
}

/** A batch that may succeed later (503, network error); carries the server's Retry-After. */
export class RetriableSendError extends Error {
  readonly retryAfterMs: number | null;
  constructor(message: string, retryAfterMs: number | null = null) {
    super(message);
    this.name = 'RetriableSendError';
    this.retryAfterMs = retryAfterMs;
  }
}

export interface Sender {
  /** Sends one batch; resolves when acked; throws RetriableSendError or a fatal error. */
  send(text: string, batchId: string): Promise<SendResult>;
  close(): Promise<void>;
}

export interface ShipProgress {
  bytesDone(n: number): void;
  /** Called once, with the bytes already shipped before this run (from the checkpoint). */
  start(resumedBytes: number): void;
  stop(): void;
}

export interface ShipOptions {
  inputs: string[];
  format: string;
  sender: Sender;
  checkpointPath: string | null;
  batchLines?: number;
  follow?: boolean;
  attemptsMax?: number;
  backoffMs?: number;
  backoffMsMax?: number;
  stdin?: AsyncIterable<Buffer>;
  progress?: ShipProgress;
  stopped?: () => boolean;
  sleep?: (ms: number) => Promise<void>;
  log?: (msg: string) => void;
}

export interface ShipSummary {
  lines: number;
  batches: number;
  accepted: number;
  deadLettered: number;
  retries: number;
  seconds: number;
}

/** Ships every input; returns the totals. Throws ING_ERR_SHIP_GAVE_UP after the retries. */
export async function ship(options: ShipOptions): Promise<ShipSummary> {
  const t0 = performance.now();
  const batchLines = options.batchLines ?? LIMITS.shipBatchLinesDefault;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const stopped = options.stopped ?? (() => false);
  const summary: ShipSummary = { lines: 0, batches: 0, accepted: 0, deadLettered: 0, retries: 0, seconds: 0 };
  const checkpoint: Checkpoint = options.checkpointPath
    ? readCheckpoint(options.checkpointPath)
    : { version: 1, files: {} };

  async function sendWithRetry(text: string, batchId: string): Promise<SendResult> {
    const attemptsMax = options.attemptsMax ?? LIMITS.shipAttemptsMax;
    let backoff = options.backoffMs ?? LIMITS.shipBackoffMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await options.sender.send(text, batchId);
      } catch (err) {
        if (!(err instanceof RetriableSendError)) throw err;
        if (attempt >= attemptsMax || stopped()) {
          throw new LeechguardError('ING_ERR_SHIP_GAVE_UP', `${attempt} attempts: ${err.message}`, {
            cause: err,
          });
        }
        summary.retries++;
        // Full jitter keeps many shippers from retrying in step after an outage.
        const wait = Math.max(err.retryAfterMs ?? 0, Math.round(Math.random() * backoff));
        options.log?.(`batch ${batchId}: ${err.message}; retry ${attempt} in ${wait} ms`);
        await sleep(wait);
        backoff = Math.min(backoff * 2, options.backoffMsMax ?? LIMITS.shipBackoffMsMax);
      }
    }
  }

  async function shipChunks(
    chunks: AsyncIterable<LineChunk>,
    ident: string,
    state: { offsetBytes: number; lines: number; fieldsHeader: string | null },
    onAcked: () => void,
  ): Promise<void> {
    let pending: string[] = [];
    // W3C header lines travel with the data but are not log lines.
    let pendingHeaders = 0;
    let pendingEnd = state.offsetBytes;
    const flush = async () => {
      if (pending.length === 0) return;
      const header =
        options.format === 'cloudfront-standard' && state.fieldsHeader && !pending[0]!.startsWith('#')
          ? `${state.fieldsHeader}\n`
          : '';
      const text = `${header}${pending.join('\n')}\n`;
      const batchId = deterministicId(ident, state.offsetBytes);
      const res = await sendWithRetry(text, batchId);
      const startOffset = state.offsetBytes;
      pendingEnd = Math.max(pendingEnd, startOffset);
      summary.batches++;
      summary.lines += pending.length - pendingHeaders;
      summary.accepted += res.accepted;
      summary.deadLettered += res.deadLettered;
      state.lines += pending.length - pendingHeaders;
      pendingHeaders = 0;
      state.offsetBytes = pendingEnd;
      options.progress?.bytesDone(pendingEnd - startOffset);
      pending = [];
      onAcked();
    };
    let offset = state.offsetBytes;
    for await (const chunk of chunks) {
      // Each line ends with one '\n' in the input, so its end offset is exact: batches cut
      // anywhere still checkpoint at a line boundary.
      for (const line of chunk.lines) {
        offset += Buffer.byteLength(line) + 1;
        if (line.trim() === '') continue;
        if (line.startsWith('#Fields:')) state.fieldsHeader = line;
        pending.push(line);
        if (options.format === 'cloudfront-standard' && line.startsWith('#')) pendingHeaders++;
        pendingEnd = offset;
        if (pending.length >= batchLines) await flush();
      }
      offset = Math.min(offset, chunk.endOffset);
      pendingEnd = Math.min(pendingEnd, offset);
      if (stopped()) break;
    }
    await flush();
  }

  // The bar starts where the checkpoint left each file.
  const resumedBytes = options.inputs.reduce(
    (n, i) => n + (i === '-' ? 0 : (checkpoint.files[resolve(i)]?.offsetBytes ?? 0)),
    0,
  );
  options.progress?.start(resumedBytes);
  try {
    for (const input of options.inputs) {
      if (stopped()) break;
      if (input === '-') {
        const state = { offsetBytes: 0, lines: 0, fieldsHeader: null };
        await shipChunks(
          readStdinLines(options.stdin ?? (process.stdin as AsyncIterable<Buffer>)),
          `stdin:${Date.now()}`,
          state,
          () => {},
        );
        continue;
      }
      const path = resolve(input);
      const fp = fingerprint(await headBytes(path, FINGERPRINT_BYTES));
      let saved = checkpoint.files[path];
      if (saved && saved.fingerprint !== fp) {
        // A file whose first bytes changed is a new file (rotation): start it from the top.
        options.log?.(`${path}: content changed since the checkpoint; shipping from the start`);
        saved = undefined;
      }
      const state = {
        offsetBytes: saved?.offsetBytes ?? 0,
        lines: saved?.lines ?? 0,
        fieldsHeader: saved?.fieldsHeader ?? null,
      };
      const chunks = readFileLines(path, {
        startOffset: state.offsetBytes,
        follow: options.follow ?? false,
        stopped,
      });
      await shipChunks(chunks, `${path}:${fp}`, state, () => {
        if (!options.checkpointPath) return;
        checkpoint.files[path] = { fingerprint: fp, ...state };
        writeCheckpoint(options.checkpointPath, checkpoint);
      });
    }
  } finally {
    options.progress?.stop();
  }
  summary.seconds = (performance.now() - t0) / 1000;
  return summary;
}
