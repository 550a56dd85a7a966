/**
 * A pool of batch worker threads for ingest: the HTTP thread hands each log / heartbeat batch
 * (raw body bytes) to the least busy worker, which inflates, parses, hashes tokens, enriches,
 * Avro-encodes and partitions it, and gets the packed records back to produce. That keeps the
 * request thread for HTTP and Kafka, and lets the per-line work use the other cores.
 *
 * Bounded: each worker takes at most LIMITS.ingestWorkerQueuedBatchesMax batches; beyond that a
 * batch is refused with LG_ERR_OVERLOADED (503 + Retry-After), never queued without limit. A worker
 * that dies fails its batches with ING_ERR_WORKER_LOST (503: nothing was produced, the client
 * retries) and is replaced.
 * `size: 0` runs the same job inline on the calling thread (tests, tiny deployments).
 */
import { Worker } from 'node:worker_threads';
import { type ErrorCode, LeechguardError, leechguardErrorFromJSON } from '../../core/errors.ts';
import { LIMITS } from '../../core/limits.ts';
import type { Logger } from '../../core/log.ts';
import type { TokenHashingConfig } from '../../core/token-hash.ts';
import type { EnrichConfig } from '../config.ts';
import type { GeoTables } from '../transforms/enrich/geo.ts';
import {
  type BatchEnv,
  type BatchJob,
  type BatchLimits,
  type BatchResult,
  type PackedBatchResult,
  runBatchJob,
  unpackResult,
} from './job.ts';

/** What every worker is started with (structured-cloned; geo tables are shared memory). */
export interface WorkerInit {
  enrich: EnrichConfig;
  tokenHashing: TokenHashingConfig;
  limits: BatchLimits;
  schemaIds: Array<[string, number]>;
  partitions: Array<[string, number]>;
  geoTables: GeoTables;
}

export interface JobRequest {
  id: number;
  job: BatchJob;
}

export type JobReply =
  | { id: number; result: PackedBatchResult; cpuUs: number }
  | { id: number; error: { code: ErrorCode; message: string; details?: Record<string, unknown> } }
  | { id: number; internal: string };

interface Pending {
  resolve: (r: BatchResult) => void;
  reject: (err: unknown) => void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
  /** The worker thread's CPU since it started, µs, as of its last reply. */
  cpuUs: number;
}

export interface BatchPoolOptions {
  /** Worker threads; 0 runs batches inline. */
  size: number;
  init: WorkerInit;
  /** Inline mode's environment (built by the caller with the same settings as `init`). */
  inlineEnv: () => BatchEnv;
  logger: Logger;
}

const WORKER_URL = new URL('./worker.ts', import.meta.url);

export class BatchPool {
  private readonly options: BatchPoolOptions;
  private readonly slots: Slot[] = [];
  private inline: BatchEnv | undefined;
  private nextId = 1;
  private closing = false;
  /** CPU time of the workers, µs, as each last reported it (metrics and benchmarks). */
  get workerCpuUs(): number {
    let us = this.retiredCpuUs;
    for (const s of this.slots) us += s.cpuUs;
    return us;
  }
  private retiredCpuUs = 0;

  private constructor(options: BatchPoolOptions) {
    this.options = options;
  }

  /** Starts the workers and resolves when every one is ready to take batches. */
  static async start(options: BatchPoolOptions): Promise<BatchPool> {
    const pool = new BatchPool(options);
    if (options.size === 0) pool.inline = options.inlineEnv();
    await Promise.all(Array.from({ length: options.size }, () => pool.spawn()));
    return pool;
  }

  get size(): number {
    return this.slots.length;
  }

  /** The worker threads (operators' diagnostics, and tests that stop one). */
  get threads(): readonly Worker[] {
    return this.slots.map((s) => s.worker);
  }

  /** Batches handed to workers and not answered yet. */
  get queuedBatches(): number {
    let n = 0;
    for (const s of this.slots) n += s.pending.size;
    return n;
  }

  private spawn(): Promise<void> {
    const worker = new Worker(WORKER_URL, { workerData: this.options.init });
    const slot: Slot = { worker, pending: new Map(), cpuUs: 0 };
    this.slots.push(slot);
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on('message', (msg: JobReply | { ready: true; cpuUs: number }) => {
        if ('ready' in msg) {
          ready = true;
          slot.cpuUs = msg.cpuUs;
          resolve();
          return;
        }
        const p = slot.pending.get(msg.id);
        if (!p) return;
        slot.pending.delete(msg.id);
        if ('result' in msg) {
          slot.cpuUs = msg.cpuUs;
          p.resolve(unpackResult(msg.result));
        } else if ('error' in msg) p.reject(leechguardErrorFromJSON(msg.error));
        else {
          this.options.logger.error({ err: msg.internal }, 'batch worker failed on a batch');
          p.reject(new LeechguardError('LG_ERR_INTERNAL'));
        }
      });
      const lost = (why: unknown) => {
        const i = this.slots.indexOf(slot);
        if (i === -1) return;
        this.slots.splice(i, 1);
        this.retiredCpuUs += slot.cpuUs;
        for (const p of slot.pending.values()) p.reject(new LeechguardError('ING_ERR_WORKER_LOST'));
        slot.pending.clear();
        if (!ready) {
          reject(why instanceof Error ? why : new Error(`batch worker exited: ${String(why)}`));
          return;
        }
        if (this.closing) return;
        this.options.logger.error({ err: why }, 'batch worker stopped; starting another');
        this.spawn().catch((err) => this.options.logger.error({ err }, 'could not restart a batch worker'));
      };
      worker.on('error', lost);
      worker.on('exit', (code) => lost(`exit code ${code}`));
    });
  }

  /** Runs one batch; rejects with the LeechguardError that refused it (4xx / 503). */
  run(job: BatchJob): Promise<BatchResult> {
    if (this.closing) return Promise.reject(new LeechguardError('LG_ERR_SHUTTING_DOWN'));
    if (this.inline) {
      try {
        return Promise.resolve(runBatchJob(job, this.inline));
      } catch (err) {
        return Promise.reject(err);
      }
    }
    let slot: Slot | undefined;
    for (const s of this.slots) if (!slot || s.pending.size < slot.pending.size) slot = s;
    if (!slot) return Promise.reject(new LeechguardError('LG_ERR_INTERNAL', 'no batch worker running'));
    if (slot.pending.size >= LIMITS.ingestWorkerQueuedBatchesMax) {
      return Promise.reject(
        new LeechguardError('LG_ERR_OVERLOADED', `${this.queuedBatches} batches waiting for workers`),
      );
    }
    const id = this.nextId++;
    const chosen = slot;
    return new Promise<BatchResult>((resolve, reject) => {
      chosen.pending.set(id, { resolve, reject });
      const req: JobRequest = { id, job };
      chosen.worker.postMessage(req);
    });
  }

  /** Stops taking batches, waits for those in the workers, stops the workers. */
  async close(): Promise<void> {
    this.closing = true;
    while (this.queuedBatches > 0) await new Promise((r) => setTimeout(r, 10));
    const slots = this.slots.splice(0);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}
