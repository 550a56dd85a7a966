/**
 * Runs the admission heartbeat sink (Avro encode + kafkajs produce) on a worker thread, so the
 * request thread only appends plain records to an array. Every linger the request thread posts
 * the array to the worker, which feeds them to a `HeartbeatSink` with its own producer.
 *
 * Semantics are the sink's: one bound on records not yet acknowledged by Kafka (queued here, in
 * transit, or queued in the worker); above it new records are dropped, counted and logged here;
 * the worker retries a failed send in order; `flush` drains both sides within its timeout.
 * Messages: main → worker `records` | `flush`; worker → main `ready` | `sent` | `dropped` | `flushed`.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { KafkaConfig } from '../../core/kafka.ts';
import { LIMITS } from '../../core/limits.ts';
import type { Logger } from '../../core/log.ts';
import type { HeartbeatEvent } from '../../core/schemas/generated.ts';
import type { RegistryOptions } from '../../core/serde.ts';
import type { AdmissionEvent, HeartbeatOutlet } from './heartbeat-sink.ts';

export interface HeartbeatWorkerOptions {
  kafka: KafkaConfig;
  registry: RegistryOptions;
  logLevel: string;
  /** `source` of the records (sessions.heartbeatSource). */
  source: string;
  /** How often the request thread hands its records to the worker, ms. */
  lingerMs?: number;
  /** Records not yet acknowledged above which new ones are dropped (tests lower it). */
  queueMax?: number;
}

const WORKER_ROLE = 'leechguard-heartbeat-sink';

/**
 * An AdmissionEvent as a tuple, in field order: a tuple of primitives is cloned across threads ~4x
 * cheaper than an object (no key strings), and the request thread pays for that clone.
 */
type Packed = [
  event: HeartbeatEvent,
  timestampMs: number,
  tenant: string,
  accountId: string,
  sessionId: string,
  deviceId: string,
  contentId: string,
  tokenHash: string | null,
  tokenKeyId: string | null,
];

function pack(e: AdmissionEvent): Packed {
  return [
    e.event,
    e.timestampMs,
    e.tenant,
    e.accountId,
    e.sessionId,
    e.deviceId,
    e.contentId,
    e.tokenHash,
    e.tokenKeyId,
  ];
}

function unpack(p: Packed): AdmissionEvent {
  const [event, timestampMs, tenant, accountId, sessionId, deviceId, contentId, tokenHash, tokenKeyId] = p;
  return { event, timestampMs, tenant, accountId, sessionId, deviceId, contentId, tokenHash, tokenKeyId };
}

type ToWorker = { type: 'records'; records: Packed[] } | { type: 'flush'; timeoutMs: number };
type FromWorker =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'sent'; records: number }
  | { type: 'dropped'; records: number; message: string }
  | { type: 'flushed'; unsent: number };

/** The request thread's side: a HeartbeatOutlet whose Kafka work happens on a worker thread. */
export class WorkerHeartbeatSink implements HeartbeatOutlet {
  sent = 0;
  dropped = 0;
  private pending: Packed[] = [];
  /** Records pushed and not yet acknowledged by Kafka nor dropped by the worker. */
  private outstanding = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private onFlushed: ((unsent: number) => void) | undefined;
  private readonly worker: Worker;
  private readonly logger: Logger;
  private readonly lingerMs: number;
  private readonly queueMax: number;

  private constructor(worker: Worker, logger: Logger, options: HeartbeatWorkerOptions) {
    this.worker = worker;
    this.logger = logger;
    this.lingerMs = options.lingerMs ?? LIMITS.admissionHeartbeatLingerMs;
    this.queueMax = options.queueMax ?? LIMITS.admissionHeartbeatQueueMax;
    worker.on('message', (m: FromWorker) => this.onMessage(m));
    worker.on('error', (err) => logger.error({ err }, 'heartbeat worker failed'));
    worker.on('exit', (code) => {
      if (this.closed) return;
      // Records the worker held are lost: count them, never silently.
      this.closed = true;
      this.drop(this.outstanding, `heartbeat worker exited (${code})`);
      this.outstanding = 0;
    });
  }

  /** Starts the worker; resolves once its producer is connected and the schema registered. */
  static async start(options: HeartbeatWorkerOptions, logger: Logger): Promise<WorkerHeartbeatSink> {
    const worker = new Worker(new URL(import.meta.url), {
      workerData: {
        role: WORKER_ROLE,
        kafka: options.kafka,
        registry: options.registry,
        logLevel: options.logLevel,
      },
    });
    await new Promise<void>((resolve, reject) => {
      const onExit = (code: number) => reject(new Error(`heartbeat worker exited (${code}) while starting`));
      worker.once('exit', onExit);
      worker.once('error', reject);
      worker.once('message', (m: FromWorker) => {
        worker.off('exit', onExit);
        worker.off('error', reject);
        if (m.type === 'ready') resolve();
        else reject(new Error(m.type === 'failed' ? m.message : `unexpected ${m.type}`));
      });
    });
    return new WorkerHeartbeatSink(worker, logger, options);
  }

  push(event: AdmissionEvent): void {
    if (this.closed || this.outstanding >= this.queueMax) {
      this.drop(1, this.closed ? 'heartbeat sink closed' : 'heartbeat queue full');
      return;
    }
    this.pending.push(pack(event));
    this.outstanding++;
    this.timer ??= setTimeout(() => this.post(), this.lingerMs);
  }

  /** Hands what is pending to the worker and waits (bounded) until it is sent; then stops the worker. */
  async flush(timeoutMs = 5_000): Promise<void> {
    if (this.closed) return;
    this.post();
    const flushed = new Promise<number>((resolve) => (this.onFlushed = resolve));
    this.worker.postMessage({ type: 'flush', timeoutMs } satisfies ToWorker);
    const unsent = await Promise.race([
      flushed,
      new Promise<number>((r) => setTimeout(() => r(this.outstanding), timeoutMs + 1_000).unref()),
    ]);
    this.closed = true;
    if (unsent > 0) this.drop(unsent, 'heartbeat records unsent at shutdown');
    await this.worker.terminate();
  }

  private post(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    this.worker.postMessage({ type: 'records', records: this.pending } satisfies ToWorker);
    this.pending = [];
  }

  private onMessage(m: FromWorker): void {
    if (m.type === 'sent') {
      this.sent += m.records;
      this.outstanding -= m.records;
    } else if (m.type === 'dropped') {
      this.outstanding -= m.records;
      this.drop(m.records, m.message);
    } else if (m.type === 'flushed') {
      this.onFlushed?.(m.unsent);
    }
  }

  private drop(records: number, why: string): void {
    if (records <= 0) return;
    const before = this.dropped;
    this.dropped += records;
    // Logged on the first drop and every 1,000th after: counted always, logged without flooding.
    if (before === 0 || Math.floor(before / 1000) !== Math.floor(this.dropped / 1000)) {
      this.logger.warn({ dropped: this.dropped, why }, 'admission heartbeat record(s) dropped');
    }
  }
}

/** The worker's side: its own producer and serde, feeding a HeartbeatSink. */
async function runWorker(port: NonNullable<typeof parentPort>): Promise<void> {
  const options = workerData as HeartbeatWorkerOptions;
  const [
    { createKafka, createProducer, RenewingProducer },
    { createLogger },
    { AvroSerde },
    { TOPICS },
    { HeartbeatSink },
  ] = await Promise.all([
    import('../../core/kafka.ts'),
    import('../../core/log.ts'),
    import('../../core/serde.ts'),
    import('../../core/topics.ts'),
    import('./heartbeat-sink.ts'),
  ]);
  const send = (m: FromWorker) => port.postMessage(m);
  const logger = createLogger('edge-heartbeats', options.logLevel);
  let producer: InstanceType<typeof RenewingProducer>;
  let sink: InstanceType<typeof HeartbeatSink>;
  try {
    const serde = new AvroSerde(options.registry);
    await serde.registerAll([TOPICS.heartbeats.name]);
    const kafka = createKafka(options.kafka, logger);
    producer = new RenewingProducer(() => createProducer(kafka));
    await producer.connect();
    // The request thread already lingered; send what arrives at once (still one send at a time).
    sink = new HeartbeatSink(producer, serde, logger, {
      source: options.source,
      lingerMs: 0,
      onSent: (records) => send({ type: 'sent', records }),
    });
  } catch (err) {
    send({ type: 'failed', message: (err as Error).message });
    return;
  }
  port.on('message', async (m: ToWorker) => {
    if (m.type === 'records') {
      for (const r of m.records) {
        try {
          const before = sink.dropped;
          sink.push(unpack(r));
          if (sink.dropped !== before) send({ type: 'dropped', records: 1, message: 'heartbeat queue full' });
        } catch (err) {
          // An unencodable record cannot be retried: count it as dropped.
          send({ type: 'dropped', records: 1, message: (err as Error).message });
        }
      }
    } else {
      await sink.flush(m.timeoutMs);
      await producer.disconnect().catch(() => {});
      send({ type: 'flushed', unsent: sink.queued });
      port.close();
    }
  });
  send({ type: 'ready' });
}

if (!isMainThread && parentPort && (workerData as { role?: string } | null)?.role === WORKER_ROLE) {
  await runWorker(parentPort);
}
