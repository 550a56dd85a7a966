/**
 * The enforcer's durable state lives in Kafka, not in Redis: Redis is the edge's cache and may be
 * wiped (FLUSHALL, a new replica), Kafka keeps every revocation, review entry and policy change.
 *
 * StateLog tails the state topics from their beginning (its own throwaway consumer group, never
 * committed, so every instance sees every partition) and hands each record to its table; boot
 * waits until every partition is read to its end. StateWriter produces records (acks=all) and
 * applies them to the tables at once with the offsets Kafka gave them, so an API call reads its
 * own write; the tail's copy of the same record is then ignored (same offset, not newer).
 */
import { randomUUID } from 'node:crypto';
import { type Admin, type Consumer, type Kafka, Partitioners } from 'kafkajs';
import { createConsumer, type RenewingProducer, withTimeout } from '../../core/kafka.ts';
import { LIMITS } from '../../core/limits.ts';
import type { Logger } from '../../core/log.ts';
import type { AvroSerde } from '../../core/serde.ts';

/** One record of a state topic as a table sees it (value null = tombstone). */
export interface StateRecord<T> {
  key: string;
  value: T | null;
  partition: number;
  offset: number;
}

/** A table fed by one state topic. Records reach it in offset order per partition. */
export interface StateTable<T> {
  readonly topic: string;
  apply(record: StateRecord<T>): void;
}

/**
 * Latest value per key, as a compacted topic keeps it. A record older than (or equal to) the one
 * held for its key is ignored, so a local write followed by the tail's copy applies once.
 */
export class KeyedTable<T> implements StateTable<T> {
  readonly topic: string;
  private readonly rows = new Map<string, { value: T; partition: number; offset: number }>();
  private readonly onChange: ((value: T, previous: T | undefined) => void) | undefined;

  constructor(topic: string, onChange?: (value: T, previous: T | undefined) => void) {
    this.topic = topic;
    this.onChange = onChange;
  }

  apply(record: StateRecord<T>): void {
    const held = this.rows.get(record.key);
    if (held && held.partition === record.partition && held.offset >= record.offset) return;
    if (record.value === null) {
      this.rows.delete(record.key);
      return;
    }
    this.rows.set(record.key, { value: record.value, partition: record.partition, offset: record.offset });
    this.onChange?.(record.value, held?.value);
  }

  get(key: string): T | undefined {
    return this.rows.get(key)?.value;
  }

  values(): IterableIterator<T> {
    return Array.from(this.rows.values(), (r) => r.value)[Symbol.iterator]();
  }

  get size(): number {
    return this.rows.size;
  }
}

/** Tails the state topics into their tables. */
export class StateLog {
  private readonly consumer: Consumer;
  private readonly tables: Map<string, StateTable<unknown>>;
  private readonly consumed = new Map<string, number>(); // `${topic}/${partition}` → last offset read
  private readonly serde: AvroSerde;
  private readonly logger: Logger;
  private readonly admin: Admin;

  constructor(kafka: Kafka, admin: Admin, serde: AvroSerde, logger: Logger, tables: StateTable<unknown>[]) {
    this.serde = serde;
    this.logger = logger;
    this.admin = admin;
    this.tables = new Map(tables.map((t) => [t.topic, t]));
    this.consumer = createConsumer(kafka, {
      // A throwaway group: no offsets are ever committed, each boot reads the topics from the start.
      groupId: `leechguard-enforcer-state-${randomUUID()}`,
      maxWaitTimeInMs: LIMITS.enforcerStateFetchWaitMs,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
    });
  }

  /** Starts tailing and resolves once every partition has been read to the end it had at boot. */
  async start(): Promise<void> {
    const targets = new Map<string, number>();
    for (const topic of this.tables.keys()) {
      for (const p of await this.admin.fetchTopicOffsets(topic)) {
        const high = Number(p.high);
        if (high > Number(p.low)) targets.set(`${topic}/${p.partition}`, high - 1);
      }
    }
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [...this.tables.keys()], fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, heartbeat }) => {
        const table = this.tables.get(batch.topic)!;
        for (const message of batch.messages) {
          const value = message.value ? await this.serde.decode(batch.topic, message.value) : null;
          table.apply({
            key: message.key?.toString() ?? '',
            value,
            partition: batch.partition,
            offset: Number(message.offset),
          });
          this.consumed.set(`${batch.topic}/${batch.partition}`, Number(message.offset));
        }
        await heartbeat();
      },
    });
    await withTimeout(
      this.caughtUp(targets),
      LIMITS.enforcerStateCatchUpTimeoutMs,
      'reading the state topics',
    );
    this.logger.info({ partitions: targets.size }, 'state topics read to their end');
  }

  private async caughtUp(targets: Map<string, number>): Promise<void> {
    for (;;) {
      let behind = 0;
      for (const [key, target] of targets) if ((this.consumed.get(key) ?? -1) < target) behind++;
      if (behind === 0) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}

/** A record to produce to a state topic. */
export interface StateWrite<T> {
  table: StateTable<T>;
  key: string;
  /** null writes a tombstone: compaction then removes the key from the topic. */
  value: T | null;
}

/** Produces state records (acks=all) and applies them locally with their real offsets. */
export class StateWriter {
  private readonly producer: RenewingProducer;
  private readonly serde: AvroSerde;
  private readonly partitionCounts = new Map<string, number>();
  private readonly partitioner = Partitioners.DefaultPartitioner();

  /** Its own producer, made anew after a failed send (see RenewingProducer). */
  constructor(producer: RenewingProducer, serde: AvroSerde) {
    this.producer = producer;
    this.serde = serde;
  }

  /** Learns each topic's partition count, so a key's partition is known before sending. */
  async init(admin: Admin, topics: string[]): Promise<void> {
    const { topics: meta } = await admin.fetchTopicMetadata({ topics });
    for (const t of meta) this.partitionCounts.set(t.name, t.partitions.length);
  }

  partitionOf(topic: string, key: string): number {
    const count = this.partitionCounts.get(topic);
    if (!count) throw new Error(`partition count of ${topic} unknown: call init() first`);
    const partitionMetadata = Array.from({ length: count }, (_, i) => ({
      partitionId: i,
      leader: 0,
      replicas: [],
      isr: [],
      partitionErrorCode: 0,
    }));
    return this.partitioner({ topic, partitionMetadata, message: { key, value: null } });
  }

  /**
   * Writes the records in one acks=all request and applies each to its table. `extra` carries
   * records of topics no table holds (the reviews topic), produced in the same request.
   */
  async write(
    writes: StateWrite<unknown>[],
    extra: Array<{ topic: string; key: string; value: unknown }> = [],
  ): Promise<void> {
    if (writes.length === 0 && extra.length === 0) return;
    const byTopic = new Map<string, Array<{ key: string; value: Buffer | null; partition: number }>>();
    const placed: Array<{ write: StateWrite<unknown>; partition: number; index: number }> = [];
    const indexIn = new Map<string, number>(); // `${topic}/${partition}` → messages so far
    for (const write of writes) {
      const topic = write.table.topic;
      const partition = this.partitionOf(topic, write.key);
      const slot = `${topic}/${partition}`;
      const index = indexIn.get(slot) ?? 0;
      indexIn.set(slot, index + 1);
      placed.push({ write, partition, index });
      const list = byTopic.get(topic) ?? [];
      list.push({
        key: write.key,
        value: write.value === null ? null : this.serde.encode(topic, write.value),
        partition,
      });
      byTopic.set(topic, list);
    }
    for (const e of extra) {
      const list = byTopic.get(e.topic) ?? [];
      list.push({ key: e.key, value: this.serde.encode(e.topic, e.value), partition: -1 });
      byTopic.set(e.topic, list);
    }
    const meta = await this.producer.run((producer) =>
      producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, messages]) => ({
          topic,
          messages: messages.map((m) =>
            m.partition >= 0
              ? { key: m.key, value: m.value, partition: m.partition }
              : { key: m.key, value: m.value },
          ),
        })),
      }),
    );
    const base = new Map(meta.map((m) => [`${m.topicName}/${m.partition}`, Number(m.baseOffset)]));
    for (const p of placed) {
      const baseOffset = base.get(`${p.write.table.topic}/${p.partition}`);
      if (baseOffset === undefined) continue; // the tail will apply it
      p.write.table.apply({
        key: p.write.key,
        value: p.write.value,
        partition: p.partition,
        offset: baseOffset + p.index,
      });
    }
  }
}
