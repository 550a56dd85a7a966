/** Helpers for the enforcer's integration tests: flags, a producer, topic read-back, a child enforcer. */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Producer } from 'kafkajs';
import { PROJECT_ROOT } from '../../../core/endpoints.ts';
import { createKafka, createProducer, withTimeout } from '../../../core/kafka.ts';
import { createLogger } from '../../../core/log.ts';
import type { Anomaly, Revocation } from '../../../core/schemas/generated.ts';
import { AvroSerde } from '../../../core/serde.ts';
import { TOPICS } from '../../../core/topics.ts';
import { type EnforcerConfig, enforcerConfigSchema } from '../../../enforcer/config.ts';
import { testEndpoints, uniqueName } from '../../support/stack.ts';

export const ANALYST_KEY = 'analyst-key-0123456789abcdef';
export const OPERATOR_KEY = 'operator-key-0123456789abcdef';

export async function enforcerConfig(
  over: {
    policies?: unknown;
    groupId?: string;
    redisUrl?: string;
    registryUrl?: string;
    apiKeys?: Array<{ name: string; key: string; roles: string[] }>;
  } = {},
): Promise<EnforcerConfig> {
  const ep = await testEndpoints();
  return enforcerConfigSchema.parse({
    kafka: { brokers: ep.kafkaBrokers },
    registry: { url: over.registryUrl ?? ep.registryUrl },
    redis: { url: over.redisUrl ?? ep.redisUrl },
    http: {
      port: 0,
      apiKeys: over.apiKeys ?? [
        { name: 'alice', key: ANALYST_KEY, roles: ['analyst'] },
        { name: 'olga', key: OPERATOR_KEY, roles: ['operator'] },
      ],
    },
    log: { level: 'silent' },
    anomalies: { groupId: over.groupId ?? uniqueName('enf-test') },
    policies: over.policies ?? {},
  });
}

/** A flag with sensible defaults; ids unique per call unless given. */
export function flag(over: Partial<Anomaly> & { rule: string }): Anomaly {
  const nowMs = Date.now();
  const accountId = over.accountId === undefined ? `acct-${randomUUID().slice(0, 8)}` : over.accountId;
  return {
    id: randomUUID().replaceAll('-', ''),
    version: 1,
    subjectKind: 'token',
    subjectKey: `tok-${randomUUID().slice(0, 12)}`,
    tenant: 'default',
    accountId,
    tokenHash: null,
    tokenExpiresAtMs: null,
    evictSessionId: null,
    severity: 'high',
    threshold: 3,
    observed: 9,
    windowStartMs: nowMs - 60_000,
    windowEndMs: nowMs,
    detectedAtMs: nowMs,
    triggerEventId: randomUUID(),
    evidence: {
      eventCount: 42,
      networks: [{ value: '203.0.113.0/24', count: 10, firstSeenMs: nowMs - 50_000, lastSeenMs: nowMs }],
      countries: [],
      asns: [],
      devices: [],
      sessions: [],
      travel: null,
      note: 'test flag',
      signals: [],
      ruledOut: [],
    },
    ...over,
  };
}

export interface FlagProducer {
  /** Produces the flags (acks=all); returns each partition written with its first offset. */
  send(flags: Anomaly[]): Promise<Array<{ partition: number; offset: number }>>;
  close(): Promise<void>;
  serde: AvroSerde;
}

export async function flagProducer(): Promise<FlagProducer> {
  const ep = await testEndpoints();
  const kafka = createKafka(
    { brokers: ep.kafkaBrokers, clientId: 'enf-test', ssl: false, replicationFactor: 1 },
    createLogger('test', 'silent'),
  );
  const serde = new AvroSerde({ url: ep.registryUrl });
  await serde.registerAll([TOPICS.anomalies.name, TOPICS.revocations.name, TOPICS.reviews.name]);
  const producer: Producer = createProducer(kafka);
  await producer.connect();
  return {
    serde,
    async send(flags) {
      const meta = await producer.send({
        topic: TOPICS.anomalies.name,
        acks: -1,
        messages: flags.map((f) => ({
          key: f.accountId ?? f.subjectKey,
          value: serde.encode(TOPICS.anomalies.name, f),
        })),
      });
      return meta.map((m) => ({ partition: m.partition, offset: Number(m.baseOffset) }));
    },
    close: () => producer.disconnect(),
  };
}

/** Every record of `topic` whose key is in `keys` (tombstones as null), read from the beginning to the current end. */
export async function readTopic<T>(
  topic: string,
  keys: ReadonlySet<string>,
): Promise<Array<{ key: string; value: T }>> {
  const ep = await testEndpoints();
  const kafka = createKafka(
    { brokers: ep.kafkaBrokers, clientId: 'enf-test-read', ssl: false, replicationFactor: 1 },
    createLogger('test', 'silent'),
  );
  const serde = new AvroSerde({ url: ep.registryUrl });
  await serde.registerAll([topic]);
  const admin = kafka.admin();
  await admin.connect();
  const ends = (await admin.fetchTopicOffsets(topic)).filter((p) => Number(p.high) > Number(p.low));
  await admin.disconnect();
  const out: Array<{ key: string; value: T }> = [];
  if (ends.length === 0) return out;
  const consumer = kafka.consumer({ groupId: uniqueName('enf-test-read'), maxWaitTimeInMs: 50 });
  const remaining = new Map(ends.map((p) => [p.partition, Number(p.high) - 1]));
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const done = new Promise<void>((resolve) => {
    consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          const key = m.key?.toString() ?? '';
          if (keys.has(key))
            out.push({ key, value: m.value ? await serde.decode<T>(topic, m.value) : (null as T) });
          if (Number(m.offset) >= (remaining.get(batch.partition) ?? Number.POSITIVE_INFINITY)) {
            remaining.delete(batch.partition);
          }
        }
        if (remaining.size === 0) resolve();
      },
    });
  });
  try {
    await withTimeout(done, 30_000, `reading ${topic} to its end`);
  } finally {
    await consumer.disconnect();
  }
  return out;
}

export function readRevocations(
  ids: ReadonlySet<string>,
): Promise<Array<{ key: string; value: Revocation }>> {
  return readTopic<Revocation>(TOPICS.revocations.name, ids);
}

/** `leechguard enforcer --config configFile` as a child process; `url` once it listens. */
export function startChild(
  configFile: string,
  env: Record<string, string>,
): { child: ChildProcess; url: Promise<string> } {
  const child = spawn(
    process.execPath,
    [join(PROJECT_ROOT, 'bin/leechguard.mjs'), 'enforcer', '--config', configFile],
    {
      // Test keys are short and public: the flag the demo uses lets the CLI boot with them.
      env: { ...process.env, LEECHGUARD_INSECURE_DEMO_SECRETS: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  const url = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /enforcer listening on (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`enforcer exited early (${code ?? signal}): ${err}${out}`)),
    );
  });
  return { child, url };
}

/** Resolves with the child's exit code / signal (at once if it already exited). */
export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return withTimeout(
    new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
    30_000,
    'the enforcer child to exit',
  );
}
