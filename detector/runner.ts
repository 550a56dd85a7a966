/**
 * The detector's Kafka loop. One consumer group over the three co-partitioned inputs; per
 * assigned partition: state loaded from RocksDB (or rebuilt through Kafka's timestamp index when
 * the store has none), a deterministic merge of the inputs, the topology, flags produced to the
 * anomalies partition of the same number, and a write-behind flush of state + offsets in one
 * atomic batch. Flags are produced BEFORE the state that raised them is flushed; after a crash
 * the replay raises them again and the ones already on the anomalies partition (read back from
 * the offset stored with the state) are dropped, so the topic holds each id + version once.
 */
import type { Admin, Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import type { Clock } from '../core/clock.ts';
import { LeechguardError } from '../core/errors.ts';
import { createConsumer, createProducer } from '../core/kafka.ts';
import { LIMITS } from '../core/limits.ts';
import type { Logger } from '../core/log.ts';
import type { AccountPlan, Anomaly, CdnRequest, PlayerHeartbeat } from '../core/schemas/generated.ts';
import type { AvroSerde } from '../core/serde.ts';
import { TOPICS } from '../core/topics.ts';
import type { DetectorConfig } from './config.ts';
import { PartitionMerger } from './engine/merger.ts';
import { INPUT_ROLES, type InputRole, type PartitionState } from './engine/partition-state.ts';
import type { RocksStore } from './engine/rocks-store.ts';
import { type InputRecord, Topology } from './engine/topology.ts';
import { coPartitionedAssigner } from './io/co-partitioned-assigner.ts';
import { FastDecoder } from './io/codec.ts';

/** Observations the runner reports (the service maps them onto Prometheus metrics). */
export interface RunnerHooks {
  /** Delay from the triggering record's append to the flag's append, ms. */
  onFlagDelay?(delayMs: number): void;
  onFlush?(partition: number, ops: number): void;
  /**
   * A flag could not be produced. The runner stops processing; the owner must exit the process
   * (fail-stop): a restart replays from the last flush, which never includes unpublished flags.
   */
  onFatal?(err: unknown): void;
}

interface Task {
  partition: number;
  state: PartitionState;
  merger: PartitionMerger;
  /** `${id}:${version}` of flags already on the anomalies partition past the stored offset. */
  suppress: Set<string>;
  lastFlushMs: number;
  /** Flags being produced, in order; a flush waits for them (flags before the state that raised them). */
  sending: Promise<void>;
}

const CANONICAL: Record<InputRole, string> = {
  requests: TOPICS.requests.name,
  heartbeats: TOPICS.heartbeats.name,
  accounts: TOPICS.accounts.name,
};

export class DetectorRunner {
  readonly topology: Topology;
  /** Flags dropped because the same id + version was already on the anomalies topic. */
  suppressedFlags = 0;
  /** Times a batch was held because the schema registry did not answer (nothing skipped). */
  registryWaits = 0;
  /** Flags produced by this process. */
  producedFlags = 0;
  private readonly config: DetectorConfig;
  private readonly kafka: Kafka;
  private readonly serde: AvroSerde;
  private readonly store: RocksStore;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly hooks: RunnerHooks;
  private readonly roleOf = new Map<string, InputRole>();
  private readonly topicOf: Record<InputRole, string>;
  private readonly decoders: Record<InputRole, FastDecoder<unknown>>;
  private readonly tasks = new Map<number, Task>();
  private readonly ready = new Map<number, Promise<Task | undefined>>();
  private consumer: Consumer | undefined;
  private producer: Producer | undefined;
  private admin: Admin | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  /** Serialises batch processing, flushes and rebalances (the state has one writer). */
  private lock: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Set when producing failed: nothing more is processed or flushed. */
  private fatal: unknown;
  private rebalancing = false;

  constructor(options: {
    config: DetectorConfig;
    kafka: Kafka;
    serde: AvroSerde;
    store: RocksStore;
    logger: Logger;
    clock: Clock;
    hooks?: RunnerHooks;
  }) {
    this.config = options.config;
    this.kafka = options.kafka;
    this.serde = options.serde;
    this.store = options.store;
    this.logger = options.logger;
    this.clock = options.clock;
    this.hooks = options.hooks ?? {};
    this.topology = new Topology(options.config, undefined, options.clock);
    const t = options.config.detector.topics;
    this.topicOf = { requests: t.requests, heartbeats: t.heartbeats, accounts: t.accounts };
    for (const role of INPUT_ROLES) this.roleOf.set(this.topicOf[role], role);
    this.decoders = {
      requests: new FastDecoder(options.serde, CANONICAL.requests),
      heartbeats: new FastDecoder(options.serde, CANONICAL.heartbeats),
      accounts: new FastDecoder(options.serde, CANONICAL.accounts),
    };
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lock.then(fn, fn);
    this.lock = next.catch(() => undefined);
    return next;
  }

  async start(): Promise<void> {
    const d = this.config.detector;
    this.admin = this.kafka.admin();
    await this.admin.connect();
    // Flags of input partition p go to anomalies partition p (one writer per anomalies partition).
    const meta = await this.admin.fetchTopicMetadata({ topics: [d.topics.requests, d.topics.anomalies] });
    const count = (name: string) => meta.topics.find((t) => t.name === name)?.partitions.length ?? 0;
    if (count(d.topics.anomalies) < count(d.topics.requests)) {
      throw new LeechguardError(
        'LG_ERR_CONFIG_INVALID',
        `${d.topics.anomalies} has ${count(d.topics.anomalies)} partitions, fewer than the ${count(d.topics.requests)} of ${d.topics.requests}`,
      );
    }
    this.producer = createProducer(this.kafka);
    await this.producer.connect();
    const consumer = createConsumer(this.kafka, {
      groupId: d.groupId,
      partitionAssigners: [coPartitionedAssigner],
      sessionTimeout: d.sessionTimeoutMs,
      heartbeatInterval: Math.floor(d.sessionTimeoutMs / 4),
      maxBytesPerPartition: d.fetchMaxBytesPerPartition,
      maxWaitTimeInMs: 100,
    });
    this.consumer = consumer;
    // A rebalance is starting: the batch being processed waits for its flags, so partitions leave
    // with their flags on the topic (the new owner reads them back before it replays).
    consumer.on(consumer.events.REBALANCING, () => {
      this.rebalancing = true;
    });
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      this.rebalancing = false;
      const assignment = e.payload.memberAssignment as Record<string, number[]>;
      // Co-partitioned: the partitions assigned on the requests topic are the task partitions.
      const partitions = new Set(assignment[this.topicOf.requests] ?? []);
      // Batches of a new partition wait (in onBatch) until its state is loaded and seeked.
      const pending = new Map<number, (task: Task | undefined) => void>();
      for (const p of partitions) {
        if (this.tasks.has(p)) continue;
        this.ready.set(p, new Promise((resolve) => pending.set(p, resolve)));
      }
      void this.serial(() => this.rebalance(partitions, pending)).catch((err) => {
        this.logger.error({ err }, 'partition assignment failed');
        for (const resolve of pending.values()) resolve(undefined);
      });
    });
    await consumer.connect();
    await consumer.subscribe({ topics: INPUT_ROLES.map((r) => this.topicOf[r]), fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.onBatch(payload),
    });
    this.flushTimer = setInterval(() => {
      void this.serial(() => this.flushDue(false)).catch((err) => this.logger.error({ err }, 'flush failed'));
    }, d.flushIntervalMs);
    this.flushTimer.unref();
  }

  /** Assigned partitions, for readiness and metrics. */
  partitions(): number[] {
    return [...this.tasks.keys()].sort((a, b) => a - b);
  }

  /** Records behind the log end per partition (all inputs), from the last fetch. */
  lag(): Map<number, number> {
    const out = new Map<number, number>();
    for (const [p, task] of this.tasks) {
      let lag = 0;
      for (const role of INPUT_ROLES)
        lag += Math.max(0, task.merger.logEnd[role] - (task.state.meta.offsets[role] ?? 0));
      out.set(p, lag);
    }
    return out;
  }

  /** Keys held in memory over all partitions. */
  stateKeys(): number {
    let n = 0;
    for (const task of this.tasks.values()) n += task.state.size;
    return n;
  }

  stateOverflowKeys(): number {
    let n = 0;
    for (const task of this.tasks.values()) n += task.state.overflowKeys;
    return n;
  }

  /** Flushes every partition, stops consuming, closes clients. RocksDB is closed by its owner. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.flushTimer) clearInterval(this.flushTimer);
    await this.consumer?.stop();
    await this.serial(() => this.flushDue(true));
    await this.consumer?.disconnect();
    await this.producer?.disconnect();
    await this.admin?.disconnect();
  }

  // ── assignment ──────────────────────────────────────────────────────────────────────────────

  private async rebalance(
    partitions: Set<number>,
    pending: Map<number, (task: Task | undefined) => void>,
  ): Promise<void> {
    for (const p of [...this.tasks.keys()]) {
      if (partitions.has(p)) continue;
      // Revoked: flush what we hold and drop it from memory (RocksDB keeps it for a return).
      const task = this.tasks.get(p)!;
      await this.flushTask(task);
      this.tasks.delete(p);
      this.topology.drop(p);
      this.ready.delete(p);
      this.logger.info({ partition: p }, 'partition revoked: flushed and dropped');
    }
    for (const p of partitions) {
      if (this.tasks.has(p)) continue;
      pending.get(p)?.(await this.assign(p));
    }
  }

  private async endOffsets(topic: string, partition: number): Promise<{ low: number; high: number }> {
    const offsets = await this.admin!.fetchTopicOffsets(topic);
    const o = offsets.find((x) => x.partition === partition);
    return { low: Number(o?.low ?? 0), high: Number(o?.high ?? 0) };
  }

  private async offsetAt(topic: string, partition: number, timestampMs: number): Promise<number> {
    const offsets = await this.admin!.fetchTopicOffsetsByTimestamp(topic, timestampMs);
    return Number(offsets.find((x) => x.partition === partition)?.offset ?? 0);
  }

  /** Loads (or rebuilds) one partition, reads back its recent flags, seeks the inputs. */
  private async assign(p: number): Promise<Task | undefined> {
    const d = this.config.detector;
    let state = await this.store.load(p, d.stateKeysPerPartitionMax);
    const anomalies = this.anomaliesPartition(p);
    let mode: string;
    if (state) {
      mode = 'resume';
    } else {
      // Lost (or never had) the state: rebuild from now − longest window via the timestamp index.
      mode = 'rebuild';
      state = this.topology.partition(p);
      const fromMs = this.clock.nowMs() - this.topology.recoveryLookbackMs();
      for (const role of INPUT_ROLES) {
        const topic = this.topicOf[role];
        // Plans are a table: always read the compacted topic from its start.
        state.meta.offsets[role] =
          role === 'accounts' ? (await this.endOffsets(topic, p)).low : await this.offsetAt(topic, p, fromMs);
      }
      state.meta.anomaliesOffset = await this.offsetAt(d.topics.anomalies, anomalies, fromMs);
    }
    this.topology.adopt(state);
    if (state.meta.anomaliesOffset === null) {
      state.meta.anomaliesOffset = (await this.endOffsets(d.topics.anomalies, anomalies)).high;
    }
    const suppress = await this.readPublished(anomalies, state.meta.anomaliesOffset);
    const fetched = {} as Record<InputRole, number>;
    const logEnd = {} as Record<InputRole, number>;
    for (const role of INPUT_ROLES) {
      const topic = this.topicOf[role];
      const { low, high } = await this.endOffsets(topic, p);
      const from = Math.max(state.meta.offsets[role] ?? low, low);
      state.meta.offsets[role] = from;
      fetched[role] = from;
      logEnd[role] = high;
      this.consumer!.seek({ topic, partition: p, offset: String(from) });
    }
    const task: Task = {
      partition: p,
      state,
      merger: new PartitionMerger(fetched, logEnd),
      suppress,
      lastFlushMs: 0,
      sending: Promise.resolve(),
    };
    this.tasks.set(p, task);
    // The starting point is durable before any flag of it is produced.
    await this.flushTask(task);
    this.logger.info(
      { partition: p, mode, offsets: state.meta.offsets, suppress: suppress.size, keys: state.size },
      'partition assigned',
    );
    return task;
  }

  private anomaliesPartition(p: number): number {
    return p;
  }

  /** `${id}:${version}` of the flags on the anomalies partition from `fromOffset` to its end. */
  private async readPublished(partition: number, fromOffset: number): Promise<Set<string>> {
    const topic = this.config.detector.topics.anomalies;
    const seen = new Set<string>();
    const { high } = await this.endOffsets(topic, partition);
    if (fromOffset >= high) return seen;
    const reader = this.kafka.consumer({
      groupId: `${this.config.detector.groupId}-readback-${partition}-${this.clock.nowMs()}`,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 100,
    });
    await reader.connect();
    await reader.subscribe({ topics: [topic], fromBeginning: false });
    reader.on(reader.events.GROUP_JOIN, (e) => {
      const parts = (e.payload.memberAssignment as Record<string, number[]>)[topic] ?? [];
      if (parts.includes(partition)) reader.seek({ topic, partition, offset: String(fromOffset) });
    });
    let timer: NodeJS.Timeout | undefined;
    const done = new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => {
        this.logger.warn({ partition, fromOffset, high, read: seen.size }, 'flag read-back timed out');
        resolve();
      }, LIMITS.kafkaAckTimeoutMs);
      reader
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            if (batch.partition !== partition) return;
            for (const m of batch.messages) {
              const offset = Number(m.offset);
              if (offset >= high) break;
              if (!m.value) continue;
              const a = await this.serde.decode<Anomaly>(TOPICS.anomalies.name, m.value);
              seen.add(`${a.id}:${a.version}`);
              if (seen.size > LIMITS.detectorSuppressIdsMax)
                seen.delete(seen.values().next().value as string);
            }
            const last = batch.messages.at(-1);
            if (last && Number(last.offset) >= high - 1) resolve();
          },
        })
        .catch(reject);
    });
    try {
      await done;
    } finally {
      clearTimeout(timer);
      await reader.disconnect();
    }
    return seen;
  }

  // ── processing ──────────────────────────────────────────────────────────────────────────────

  private async onBatch({ batch, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const role = this.roleOf.get(batch.topic);
    if (this.fatal) throw this.fatal;
    if (!role || this.closed) return;
    const p = batch.partition;
    const task = await this.ready.get(p);
    if (!task || this.tasks.get(p) !== task) return;
    // A registry that does not answer holds the batch (heartbeating) until it does: nothing is
    // skipped, and nothing after the record is pushed, so no state or offset goes past it.
    this.decoders[role].wait = async (err) => {
      this.registryWaits++;
      this.logger.warn({ err: err.message, partition: p, role }, 'registry unavailable: holding the batch');
      if (!isRunning() || isStale() || this.closed) return false;
      await heartbeat();
      return true;
    };
    await this.serial(async () => {
      const merger = task.merger;
      const hw = Number(batch.highWatermark);
      if (hw > merger.logEnd[role]) merger.logEnd[role] = hw;
      for (const m of batch.messages) {
        const offset = Number(m.offset);
        if (offset < merger.fetched[role]) continue;
        const ts = Number(m.timestamp);
        let record: InputRecord;
        if (role === 'accounts') {
          const key = m.key ? m.key.toString('utf8') : '';
          let value: AccountPlan | null = null;
          if (m.value) {
            const decoded = this.decoders.accounts.decode(m.value);
            value = (decoded instanceof Promise ? await decoded : decoded) as AccountPlan;
          }
          record = { role, offset, key: value?.accountId ?? key, value };
        } else if (!m.value) {
          continue;
        } else {
          // Our own schema decodes synchronously: no promise (and no microtask) per record.
          const decoded = this.decoders[role].decode(m.value);
          const value = decoded instanceof Promise ? await decoded : decoded;
          record =
            role === 'requests'
              ? { role, offset, value: value as CdnRequest }
              : { role, offset, value: value as PlayerHeartbeat };
        }
        merger.push(role, ts, record);
      }
      await this.drain(task);
      // Every partition's flags, not only this one's: any of them may be about to move.
      if (this.rebalancing) await Promise.all([...this.tasks.values()].map((t) => t.sending));
      const d = this.config.detector;
      if (task.state.dirtySize >= d.flushKeysMax) await this.flushTask(task);
      // Back-pressure: an input far ahead of the others waits for them.
      const paused = merger.buffered(role) >= d.bufferedRecordsMax;
      if (paused) this.consumer!.pause([{ topic: batch.topic, partitions: [p] }]);
      for (const r of INPUT_ROLES) {
        if (merger.buffered(r) < d.bufferedRecordsMax / 2)
          this.consumer!.resume([{ topic: this.topicOf[r], partitions: [p] }]);
      }
    });
  }

  private async drain(task: Task): Promise<void> {
    const flags: Array<{ flag: Anomaly; appendMs: number }> = [];
    task.merger.drain((record, timestampMs) => {
      for (const flag of this.topology.process(task.partition, record)) {
        if (task.suppress.delete(`${flag.id}:${flag.version}`)) {
          this.suppressedFlags++;
          continue;
        }
        flags.push({ flag, appendMs: timestampMs });
      }
    });
    if (flags.length === 0) return;
    // Produced in the background (one producer, in order); the next flush of this partition waits.
    task.sending = task.sending.then(() =>
      this.produce(task, flags).catch((err) => {
        this.fatal = err;
        this.logger.fatal({ err, partition: task.partition }, 'producing flags failed: stopping (fail-stop)');
        this.hooks.onFatal?.(err);
        throw err;
      }),
    );
  }

  private async produce(task: Task, flags: Array<{ flag: Anomaly; appendMs: number }>): Promise<void> {
    const topic = this.config.detector.topics.anomalies;
    const partition = this.anomaliesPartition(task.partition);
    for (let i = 0; i < flags.length; i += LIMITS.detectorProduceBatchMax) {
      const chunk = flags.slice(i, i + LIMITS.detectorProduceBatchMax);
      const result = await this.producer!.send({
        topic,
        acks: -1,
        messages: chunk.map(({ flag }) => ({
          key: flag.accountId ?? flag.subjectKey,
          value: this.serde.encode(TOPICS.anomalies.name, flag),
          partition,
        })),
      });
      const meta = result.find((r) => r.partition === partition);
      if (meta) task.state.meta.anomaliesOffset = Number(meta.baseOffset) + chunk.length;
      this.producedFlags += chunk.length;
      const now = this.clock.nowMs();
      if (this.hooks.onFlagDelay) for (const f of chunk) this.hooks.onFlagDelay(now - f.appendMs);
    }
  }

  // ── flushing ────────────────────────────────────────────────────────────────────────────────

  private async flushDue(all: boolean): Promise<void> {
    const now = this.clock.nowMs();
    for (const task of this.tasks.values()) {
      if (all || now - task.lastFlushMs >= this.config.detector.flushIntervalMs) await this.flushTask(task);
    }
  }

  /** Sweeps expired state, then writes changes + offsets + watermark in one atomic batch. */
  private async flushTask(task: Task): Promise<void> {
    if (this.fatal) return;
    await task.sending;
    this.topology.sweep(task.partition);
    const hadChanges = task.state.dirtySize > 0;
    let ops: number;
    try {
      ops = await this.store.flush(task.state);
    } catch (err) {
      // Fail-stop, as for a failed produce: processing on past a state that is not durable would
      // let the next flush store offsets beyond changes never written. A restart replays from the
      // last flush that was (the keys of the failed one stay dirty, so a final flush may retry them).
      this.fatal = err;
      this.logger.fatal({ err, partition: task.partition }, 'state flush failed: stopping (fail-stop)');
      this.hooks.onFatal?.(err);
      throw err;
    }
    task.lastFlushMs = this.clock.nowMs();
    this.hooks.onFlush?.(task.partition, ops);
    // Kafka's copy of the offsets is informational (lag tooling); the truth is in RocksDB. Once
    // closing, the consumer has stopped and its group is gone (kafkajs refuses the commit): the
    // final flush writes RocksDB only, and Kafka's copy catches up at the next start.
    if (!hadChanges || !this.consumer || this.closed) return;
    const offsets = INPUT_ROLES.flatMap((role) => {
      const o = task.state.meta.offsets[role];
      return o === undefined
        ? []
        : [{ topic: this.topicOf[role], partition: task.partition, offset: String(o) }];
    });
    await this.consumer
      .commitOffsets(offsets)
      .catch((err) => this.logger.warn({ err }, 'offset commit failed'));
  }
}
