/**
 * Consumes leechguard.anomalies.v1 in the enforcer's group. Each batch is handed to the
 * Enforcement as a whole and its offset committed only after Redis and Kafka have everything the
 * batch led to ("nothing is acknowledged before it is durable"). A crash before the commit
 * replays the batch; deterministic ids make the replay a no-op.
 */
import type { Admin, Consumer, Kafka } from 'kafkajs';
import type { Clock } from '../../core/clock.ts';
import { LeechguardError } from '../../core/errors.ts';
import { createConsumer } from '../../core/kafka.ts';
import { LIMITS } from '../../core/limits.ts';
import type { Logger } from '../../core/log.ts';
import { Counter, type Registry } from '../../core/metrics.ts';
import type { Anomaly } from '../../core/schemas/generated.ts';
import type { AvroSerde } from '../../core/serde.ts';
import { TOPICS } from '../../core/topics.ts';
import { type CrashPoint, crashIfAt } from '../crash-point.ts';
import type { Enforcement } from '../service.ts';

export interface AnomalyConsumerOptions {
  kafka: Kafka;
  admin: Admin;
  serde: AvroSerde;
  enforcement: Enforcement;
  groupId: string;
  startLookbackMs: number;
  clock: Clock;
  logger: Logger;
  metrics: Registry;
  crashAt?: CrashPoint;
}

const TOPIC = TOPICS.anomalies.name;

export class AnomalyConsumer {
  private readonly options: AnomalyConsumerOptions;
  private readonly consumer: Consumer;
  private readonly undecodable: Counter;
  private readonly registryWaits: Counter;

  constructor(options: AnomalyConsumerOptions) {
    this.options = options;
    this.consumer = createConsumer(options.kafka, {
      groupId: options.groupId,
      maxBytesPerPartition: LIMITS.enforcerAnomalyBatchBytesMax,
      maxWaitTimeInMs: 100,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
    });
    this.undecodable = new Counter({
      name: 'leechguard_enforcer_flags_undecodable_total',
      help: 'Flags skipped because their Avro value could not be decoded (each one is logged)',
      registers: [options.metrics],
    });
    this.registryWaits = new Counter({
      name: 'leechguard_enforcer_registry_waits_total',
      help: 'Times a flag batch was held because the schema registry did not answer (nothing skipped)',
      registers: [options.metrics],
    });
  }

  /** A group without committed offsets starts at now − startLookbackMs, committed at once. */
  private async ensureStartOffsets(): Promise<void> {
    const { admin, groupId, startLookbackMs, clock } = this.options;
    const [committed] = await admin.fetchOffsets({ groupId, topics: [TOPIC] });
    if (committed?.partitions.every((p) => Number(p.offset) >= 0)) return;
    const highs = new Map((await admin.fetchTopicOffsets(TOPIC)).map((p) => [p.partition, p.high]));
    const byTime =
      startLookbackMs > 0
        ? await admin.fetchTopicOffsetsByTimestamp(TOPIC, clock.nowMs() - startLookbackMs)
        : [];
    const atTime = new Map(byTime.map((p) => [p.partition, p.offset]));
    const partitions = [...highs].map(([partition, high]) => {
      const fromTime = atTime.get(partition);
      const known = committed?.partitions.find((p) => p.partition === partition);
      if (known && Number(known.offset) >= 0) return { partition, offset: known.offset };
      return { partition, offset: fromTime !== undefined && Number(fromTime) >= 0 ? fromTime : high };
    });
    await this.commitStartOffsets(partitions);
    const [after] = await admin.fetchOffsets({ groupId, topics: [TOPIC] });
    if (!after?.partitions.every((p) => Number(p.offset) >= 0)) {
      this.options.logger.warn(
        { groupId },
        'start offsets not committed by the seek; using admin.setOffsets',
      );
      await admin.setOffsets({ groupId, topic: TOPIC, partitions }); // the slow but sure way
    }
  }

  /**
   * kafkajs's admin.setOffsets, with a short fetch wait: a member joins the group, pauses, seeks
   * (which commits) and leaves at its first (empty) fetch. admin.setOffsets waits 5 s for that fetch.
   */
  private async commitStartOffsets(partitions: Array<{ partition: number; offset: string }>): Promise<void> {
    const seeker = createConsumer(this.options.kafka, {
      groupId: this.options.groupId,
      maxWaitTimeInMs: 50,
      sessionTimeout: 10_000,
    });
    await seeker.connect();
    try {
      await seeker.subscribe({ topics: [TOPIC], fromBeginning: false });
      await new Promise<void>((resolve, reject) => {
        seeker.on(seeker.events.FETCH, () => {
          seeker.stop().then(resolve, reject);
        });
        seeker.run({ eachBatchAutoResolve: false, eachBatch: async () => {} }).catch(reject);
        seeker.pause([{ topic: TOPIC }]);
        for (const p of partitions) seeker.seek({ topic: TOPIC, ...p });
      });
    } finally {
      await seeker.disconnect();
    }
  }

  async start(): Promise<void> {
    await this.ensureStartOffsets();
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [TOPIC], fromBeginning: false });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, heartbeat, isRunning, isStale }) => {
        if (!isRunning() || isStale() || batch.messages.length === 0) return;
        const flags: Anomaly[] = [];
        // A registry that does not answer holds the batch (heartbeating) until it does: a flag is
        // skipped only when it cannot be decoded at all, never because the registry was down.
        const wait = async (err: Error) => {
          this.registryWaits.inc();
          this.options.logger.warn(
            { err: err.message, partition: batch.partition },
            'registry unavailable: holding the batch',
          );
          if (!isRunning() || isStale()) return false;
          await heartbeat();
          return true;
        };
        for (const m of batch.messages) {
          if (!m.value) continue;
          try {
            flags.push(await this.options.serde.decodeWaiting<Anomaly>(TOPIC, m.value, wait));
          } catch (err) {
            if (err instanceof LeechguardError && err.retriable) throw err; // stopping: not committed
            this.undecodable.inc();
            this.options.logger.error(
              { err, partition: batch.partition, offset: m.offset },
              'undecodable flag skipped',
            );
          }
        }
        await this.options.enforcement.handleFlags(flags);
        if (flags.length > 0) await crashIfAt('before-commit', this.options.crashAt, this.options.logger);
        const next = String(Number(batch.lastOffset()) + 1);
        await this.consumer.commitOffsets([{ topic: TOPIC, partition: batch.partition, offset: next }]);
        await heartbeat();
      },
    });
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}
