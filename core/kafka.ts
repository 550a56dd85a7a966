/**
 * The Kafka client module: everything that touches kafkajs goes through here, so the client can
 * be swapped on measurement. Producers are idempotent with acks=all; topics are created with the
 * partitions and cleanup policy of core/topics.ts.
 */

import { readFileSync } from 'node:fs';
import {
  type Admin,
  type Consumer,
  type ConsumerConfig,
  type ICustomPartitioner,
  Kafka,
  type KafkaConfig as KafkaConfigOptions,
  logLevel,
  Partitioners,
  type Producer,
} from 'kafkajs';
import type { z } from 'zod';
import type { kafkaSection } from './config.ts';
import { LeechguardError } from './errors.ts';
import { LIMITS } from './limits.ts';
import type { Logger } from './log.ts';
import { partitionOf } from './partition.ts';
import { ALL_TOPICS, type TopicSpec } from './topics.ts';

export type KafkaConfig = z.infer<typeof kafkaSection>;

// leechguard keys every record itself with kafkajs's Java-compatible default partitioner, so
// co-partitioned topics line up; kafkajs's notice about that default is noise in every process.
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';

/**
 * kafkajs warns on every idempotent producer whose retries are bounded. Bounding them is the
 * point (a request fails fast with 503 instead of hanging); a retried batch keeps its
 * deterministic record ids, so consumers drop any duplicate. Logged at debug instead.
 */
const EXPECTED_WARNINGS = ['Limiting retries for the idempotent producer'];

export type { Admin, Consumer, Producer };

const LEVEL_NAMES: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

function readPem(file: string, key: string): Buffer {
  try {
    return readFileSync(file);
  } catch (cause) {
    throw new LeechguardError('LG_ERR_CONFIG_INVALID', `kafka.ssl.${key}: ${(cause as Error).message}`, {
      cause,
    });
  }
}

/** kafkajs `ssl` from the config: PEM files read once, at boot (a missing one stops it, named). */
export function kafkaTls(ssl: KafkaConfig['ssl']): KafkaConfigOptions['ssl'] {
  if (typeof ssl === 'boolean') return ssl;
  return {
    ...(ssl.caFile ? { ca: [readPem(ssl.caFile, 'caFile')] } : {}),
    ...(ssl.certFile ? { cert: readPem(ssl.certFile, 'certFile') } : {}),
    ...(ssl.keyFile ? { key: readPem(ssl.keyFile, 'keyFile') } : {}),
    ...(ssl.servername ? { servername: ssl.servername } : {}),
  };
}

/**
 * OAUTHBEARER tokens from an OAuth 2.0 client-credentials grant (RFC 6749 §4.4), reused until a
 * minute before they expire; kafkajs asks on every (re)authentication.
 */
export function clientCredentialsProvider(
  sasl: Extract<NonNullable<KafkaConfig['sasl']>, { mechanism: 'oauthbearer' }>,
  nowMs: () => number = Date.now,
): () => Promise<{ value: string }> {
  let cached: { value: string; untilMs: number } | undefined;
  return async () => {
    if (cached && nowMs() < cached.untilMs) return { value: cached.value };
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      ...(sasl.scope ? { scope: sasl.scope } : {}),
    });
    const res = await fetch(sasl.tokenUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(sasl.clientId)}:${encodeURIComponent(sasl.clientSecret)}`).toString('base64')}`,
      },
      body,
      signal: AbortSignal.timeout(LIMITS.readinessProbeTimeoutMs * 5),
    });
    if (!res.ok)
      throw new LeechguardError('LG_ERR_KAFKA_UNAVAILABLE', `OAuth token endpoint answered ${res.status}`);
    const token = (await res.json()) as { access_token?: unknown; expires_in?: unknown };
    if (typeof token.access_token !== 'string') {
      throw new LeechguardError('LG_ERR_KAFKA_UNAVAILABLE', 'OAuth token endpoint gave no access_token');
    }
    const lifetimeMs = (typeof token.expires_in === 'number' ? token.expires_in : 300) * 1000;
    cached = { value: token.access_token, untilMs: nowMs() + Math.max(0, lifetimeMs - 60_000) };
    return { value: cached.value };
  };
}

/** kafkajs `sasl` from the config. */
export function kafkaSasl(sasl: KafkaConfig['sasl']): KafkaConfigOptions['sasl'] {
  if (!sasl) return undefined;
  if (sasl.mechanism === 'oauthbearer') {
    return { mechanism: 'oauthbearer', oauthBearerProvider: clientCredentialsProvider(sasl) };
  }
  return { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password } as never;
}

export function createKafka(config: KafkaConfig, logger: Logger): Kafka {
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  const sasl = kafkaSasl(config.sasl);
  return new Kafka({
    clientId: config.clientId,
    brokers: [...config.brokers],
    ssl: kafkaTls(config.ssl),
    ...(sasl ? { sasl } : {}),
    connectionTimeout: 3_000,
    requestTimeout: LIMITS.kafkaAckTimeoutMs,
    retry: {
      retries: LIMITS.kafkaRetriesMax,
      initialRetryTime: LIMITS.kafkaRetryBackoffMs,
      maxRetryTime: LIMITS.kafkaRetryBackoffMsMax,
    },
    // kafkajs logs at WARN for routine rebalances; we keep its errors and warnings in our own log.
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log }) => {
        const { message, ...extra } = log;
        const expected = EXPECTED_WARNINGS.some((w) => String(message).startsWith(w));
        kafkaLogger[expected ? 'debug' : (LEVEL_NAMES[level] ?? 'info')](extra, message);
      },
  });
}

/**
 * kafkajs's default (Java-compatible) partitioner, with the keyed case computed by core/partition.ts:
 * the same partition, without kafkajs's 64-bit Long emulation of murmur2 and its per-message scan of
 * the partition list. A given partition is kept; keyless messages go to kafkajs's own round robin.
 */
export const keyedPartitioner: ICustomPartitioner = () => {
  const fallback = Partitioners.DefaultPartitioner();
  return (args) => {
    const { message, partitionMetadata } = args;
    if (message.partition !== null && message.partition !== undefined) return message.partition;
    if (message.key === null || message.key === undefined) return fallback(args);
    return partitionOf(message.key, partitionMetadata.length);
  };
};

/** An idempotent producer (acks=all on every send): a retried batch is written once. */
export function createProducer(kafka: Kafka): Producer {
  return kafka.producer({
    createPartitioner: keyedPartitioner,
    idempotent: true,
    // kafkajs keeps ordering and exactly-once per partition only with one request in flight.
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    retry: { retries: LIMITS.kafkaRetriesMax },
  });
}

/**
 * An idempotent producer that is thrown away after a failed send and made anew (new producer id)
 * for the next one. A failed request may still have been written; a producer that kept its
 * sequence numbers would send the next batch with the same ones, and the broker would take it for
 * a retry and acknowledge it without writing it (an acked batch lost). With a fresh producer id the
 * worst case is a duplicate, which the record ids resolve.
 */
export class RenewingProducer {
  private readonly make: () => Producer;
  private current: { producer: Producer; connected: Promise<void> } | undefined;

  /** `make` returns an unconnected producer (createProducer). */
  constructor(make: () => Producer) {
    this.make = make;
  }

  private connected(): { producer: Producer; connected: Promise<void> } {
    if (!this.current) {
      const producer = this.make();
      const connected = producer.connect();
      const current = { producer, connected };
      connected.catch(() => this.discard(current.producer));
      this.current = current;
    }
    return this.current;
  }

  private discard(producer: Producer): void {
    if (this.current?.producer !== producer) return;
    this.current = undefined;
    void producer.disconnect().catch(() => {});
  }

  /** Connects now, so a service fails at boot rather than on its first send. */
  async connect(): Promise<void> {
    await this.connected().connected;
  }

  /** Runs one send on the current producer; a failure retires it (the next send gets a new one). */
  async run<T>(send: (producer: Producer) => Promise<T>): Promise<T> {
    const { producer, connected } = this.connected();
    try {
      await connected;
      return await send(producer);
    } catch (err) {
      this.discard(producer);
      throw err;
    }
  }

  async disconnect(): Promise<void> {
    const current = this.current;
    this.current = undefined;
    await current?.producer.disconnect().catch(() => {});
  }
}

export function createConsumer(kafka: Kafka, config: ConsumerConfig): Consumer {
  return kafka.consumer({ allowAutoTopicCreation: false, ...config });
}

/** Creates any missing topic of leechguard; leaves existing ones alone. Returns the names created. */
export async function ensureTopics(
  admin: Admin,
  replicationFactor: number,
  topics: readonly TopicSpec[] = ALL_TOPICS,
): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t.name));
  if (missing.length === 0) return [];
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map((t) => ({
      topic: t.name,
      numPartitions: t.partitions,
      replicationFactor,
      configEntries: t.compacted
        ? [
            { name: 'cleanup.policy', value: 'compact' },
            { name: 'min.compaction.lag.ms', value: '60000' },
          ]
        : [{ name: 'retention.ms', value: String(t.retentionMs) }],
    })),
  });
  return missing.map((t) => t.name);
}

/** Readiness: a metadata round trip to the cluster within the probe timeout. */
export async function probeKafka(admin: Admin): Promise<void> {
  await withTimeout(admin.describeCluster(), LIMITS.readinessProbeTimeoutMs, 'kafka describeCluster');
}

export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
