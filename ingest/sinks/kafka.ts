/**
 * The Kafka sink of ingest: batches from concurrent requests are group-committed into one
 * `sendBatch` (the idempotent producer allows one request in flight, so merging is what keeps
 * throughput), each caller resolved only when Kafka acked all of its records (acks=all).
 * Bounded: more records waiting than `inFlightRecordsMax` -> LG_ERR_OVERLOADED (503, nothing
 * taken); a failed produce -> LG_ERR_KAFKA_UNAVAILABLE (503) for its callers, and new writes are
 * refused for `failFastMs` instead of queueing into a dead broker.
 *
 * After a failed produce the producer is thrown away and a new one (new producer id) is made: a
 * failed request may still have been written, and an idempotent producer that kept its sequence
 * numbers would send the NEXT batch with the same ones, which the broker would take for a retry
 * and acknowledge without writing it (an acked batch lost). The broker-kill test caught exactly
 * that. With a fresh producer id the worst case is a duplicate, which the record ids resolve.
 */
import type { Clock } from '../../core/clock.ts';
import { LeechguardError } from '../../core/errors.ts';
import type { Producer } from '../../core/kafka.ts';
import { LIMITS } from '../../core/limits.ts';
import type { Logger } from '../../core/log.ts';
import { partitionOf } from '../../core/partition.ts';

export interface OutMessage {
  /** Record key: a string, or its UTF-8 bytes (batches packed by ingest's workers). */
  key: string | Buffer;
  /** null: tombstone. */
  value: Buffer | null;
  /** Set by the sink when the topic's partition count is known (see partition.ts). */
  partition?: number;
}

export interface TopicBatch {
  topic: string;
  messages: OutMessage[];
}

/** One caller's write: resolved when all its messages are acked, rejected on the first failure. */
interface Owner {
  outstanding: number;
  settled: boolean;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface Entry {
  topic: string;
  message: OutMessage;
  bytes: number;
  owner: Owner;
}

export interface KafkaSinkOptions {
  inFlightRecordsMax?: number;
  chunkRecordsMax?: number;
  /** Bytes of keys + values per produce request: one partition's batch must stay under the broker's message.max.bytes. */
  requestBytesMax?: number;
  failFastMs?: number;
  clock: Clock;
  logger: Logger;
  /** Partition count of a topic, when known: the sink then picks partitions itself (same as Kafka's default). */
  partitions?: (topic: string) => number | undefined;
  /** Called with the outcome of every produce request (metrics). */
  onProduce?: (records: number, ok: boolean, seconds: number) => void;
}

/** Per-record framing in a Kafka record batch (varints, headers, timestamps), a safe upper bound. */
const RECORD_OVERHEAD_BYTES = 32;

export class KafkaSink {
  private readonly newProducer: () => Producer;
  private producer: Producer;
  private connected = false;
  private readonly options: Required<Omit<KafkaSinkOptions, 'onProduce' | 'partitions'>> &
    Pick<KafkaSinkOptions, 'onProduce' | 'partitions'>;
  private queue: Entry[] = [];
  private sending = false;
  private inFlight = 0;
  private failedUntilMs = 0;
  private closed = false;

  /** `newProducer` makes an unconnected idempotent producer (core/kafka.ts createProducer). */
  constructor(newProducer: () => Producer, options: KafkaSinkOptions) {
    this.newProducer = newProducer;
    this.producer = newProducer();
    this.options = {
      inFlightRecordsMax: options.inFlightRecordsMax ?? LIMITS.ingestInFlightRecordsMax,
      chunkRecordsMax: options.chunkRecordsMax ?? LIMITS.ingestProduceChunkRecordsMax,
      requestBytesMax: options.requestBytesMax ?? LIMITS.ingestProduceRequestBytesMax,
      failFastMs: options.failFastMs ?? LIMITS.ingestKafkaFailFastMs,
      clock: options.clock,
      logger: options.logger,
      ...(options.onProduce ? { onProduce: options.onProduce } : {}),
      ...(options.partitions ? { partitions: options.partitions } : {}),
    };
  }

  /** Records accepted but not yet acked. */
  get inFlightRecords(): number {
    return this.inFlight;
  }

  /** Throws now (503) if a write of `count` records would be refused; lets callers skip work. */
  admit(count: number): void {
    if (this.closed) throw new LeechguardError('LG_ERR_SHUTTING_DOWN');
    if (this.options.clock.nowMs() < this.failedUntilMs) {
      throw new LeechguardError('LG_ERR_KAFKA_UNAVAILABLE', 'the last produce failed; retry shortly');
    }
    if (this.inFlight + count > this.options.inFlightRecordsMax) {
      throw new LeechguardError('LG_ERR_OVERLOADED', `${this.inFlight} records waiting for Kafka`);
    }
  }

  /** Resolves when Kafka acked every message of every batch; rejects with a 503 error otherwise. */
  write(batches: TopicBatch[]): Promise<void> {
    const count = batches.reduce((n, b) => n + b.messages.length, 0);
    if (count === 0) return Promise.resolve();
    this.admit(count);
    this.inFlight += count;
    return new Promise<void>((resolve, reject) => {
      const owner: Owner = { outstanding: count, settled: false, resolve, reject };
      for (const b of batches) {
        const n = this.options.partitions?.(b.topic);
        for (const message of b.messages) {
          if (n !== undefined && message.partition === undefined)
            message.partition = partitionOf(message.key, n);
          const bytes = (message.value?.length ?? 0) + Buffer.byteLength(message.key) + RECORD_OVERHEAD_BYTES;
          this.queue.push({ topic: b.topic, message, bytes, owner });
        }
      }
      if (!this.sending) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.sending = true;
    try {
      while (this.queue.length > 0) {
        // Group-commit everything waiting, bounded in records and bytes per produce request.
        let n = 0;
        let bytes = 0;
        while (
          n < this.queue.length &&
          n < this.options.chunkRecordsMax &&
          (n === 0 || bytes + this.queue[n]!.bytes <= this.options.requestBytesMax)
        ) {
          bytes += this.queue[n]!.bytes;
          n++;
        }
        const group = this.queue.splice(0, n);
        const byTopic = new Map<string, OutMessage[]>();
        for (const e of group) {
          let list = byTopic.get(e.topic);
          if (!list) {
            list = [];
            byTopic.set(e.topic, list);
          }
          list.push(e.message);
        }
        const t0 = performance.now();
        try {
          if (!this.connected) {
            await this.producer.connect();
            this.connected = true;
          }
          await this.producer.sendBatch({
            acks: -1,
            timeout: LIMITS.kafkaAckTimeoutMs,
            topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
          });
          this.options.onProduce?.(n, true, (performance.now() - t0) / 1000);
          for (const e of group) {
            e.owner.outstanding--;
            if (e.owner.outstanding === 0 && !e.owner.settled) {
              e.owner.settled = true;
              e.owner.resolve();
            }
          }
        } catch (cause) {
          this.options.onProduce?.(n, false, (performance.now() - t0) / 1000);
          this.failedUntilMs = this.options.clock.nowMs() + this.options.failFastMs;
          this.options.logger.warn({ err: cause, records: n }, 'produce failed; answering 503');
          const err = new LeechguardError('LG_ERR_KAFKA_UNAVAILABLE', (cause as Error).message, { cause });
          // A new producer id for whatever comes next (see the module comment).
          const old = this.producer;
          this.producer = this.newProducer();
          this.connected = false;
          void old.disconnect().catch(() => {});
          // Everything queued behind a failed send would meet the same broker: refuse it all now.
          const dropped = this.queue.splice(0);
          this.inFlight -= dropped.length;
          for (const e of [...group, ...dropped]) {
            if (!e.owner.settled) {
              e.owner.settled = true;
              e.owner.reject(err);
            }
          }
        } finally {
          this.inFlight -= n;
        }
      }
    } finally {
      this.sending = false;
    }
  }

  /** Connects the first producer now, so a service fails at boot rather than on its first batch. */
  async connect(): Promise<void> {
    if (!this.connected) {
      await this.producer.connect();
      this.connected = true;
    }
  }

  /** Stops taking writes; waits for what is queued; disconnects. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.sending || this.queue.length > 0) await new Promise((r) => setTimeout(r, 10));
    await this.producer.disconnect().catch(() => {});
  }
}
