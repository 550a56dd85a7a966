/**
 * Helpers for the detector's integration tests on the real stack: private topics (so other
 * engineers' traffic on the shared stack never mixes in), producing a scenario with Kafka
 * timestamps = event times, running the detector in-process or as a child, and reading an
 * anomalies topic back.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { PROJECT_ROOT } from '../../../core/endpoints.ts';
import { createKafka, createProducer } from '../../../core/kafka.ts';
import { createLogger } from '../../../core/log.ts';
import type { Anomaly } from '../../../core/schemas/generated.ts';
import { AvroSerde } from '../../../core/serde.ts';
import { TOPICS } from '../../../core/topics.ts';
import { keyOf, type TopicRecord } from '../../../detector/backtest/index.ts';
import { detectorConfig } from '../../../detector/config.ts';
import { type DetectorService, startDetector } from '../../../detector/main.ts';
import { recordTimeMs } from '../../../detector/testing/scenario.ts';
import { testEndpoints, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';

export interface TestTopics {
  requests: string;
  heartbeats: string;
  accounts: string;
  anomalies: string;
}

const CANONICAL: Record<string, string> = {
  [TOPICS.requests.name]: 'requests',
  [TOPICS.heartbeats.name]: 'heartbeats',
  [TOPICS.accounts.name]: 'accounts',
};

/** The test stack as the detector tests use it: a Kafka client, a serde, and where they are. */
export interface DetectorTestContext {
  kafka: Kafka;
  serde: AvroSerde;
  brokers: string[];
  registryUrl: string;
}

export async function connect(): Promise<DetectorTestContext> {
  const endpoints = await testEndpoints();
  const kafka = createKafka(
    { brokers: endpoints.kafkaBrokers, clientId: 'detector-test', ssl: false, replicationFactor: 1 },
    createLogger('test', 'silent'),
  );
  const serde = new AvroSerde({ url: endpoints.registryUrl });
  await serde.registerAll([
    TOPICS.requests.name,
    TOPICS.heartbeats.name,
    TOPICS.accounts.name,
    TOPICS.anomalies.name,
  ]);
  return { kafka, serde, brokers: endpoints.kafkaBrokers, registryUrl: endpoints.registryUrl };
}

/** Creates a private set of the detector's topics (6 partitions each, accounts compacted). */
export async function createTopics(kafka: Kafka, prefix: string, anomaliesTopics = 1): Promise<TestTopics[]> {
  const base = uniqueName(prefix);
  const admin = kafka.admin();
  await admin.connect();
  const names = {
    requests: `${base}.requests`,
    heartbeats: `${base}.heartbeats`,
    accounts: `${base}.accounts`,
  };
  const anomalies = Array.from({ length: anomaliesTopics }, (_, i) => `${base}.anomalies-${i}`);
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic: names.requests, numPartitions: 6 },
      { topic: names.heartbeats, numPartitions: 6 },
      {
        topic: names.accounts,
        numPartitions: 6,
        configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
      },
      ...anomalies.map((topic) => ({ topic, numPartitions: 6 })),
    ],
  });
  await admin.disconnect();
  return anomalies.map((a) => ({ ...names, anomalies: a }));
}

/** Produces the records keyed as ingest keys them, with Kafka timestamps = event times. */
export async function produce(
  kafka: Kafka,
  serde: AvroSerde,
  topics: TestTopics,
  records: TopicRecord[],
): Promise<void> {
  const producer = createProducer(kafka);
  await producer.connect();
  const batch = 500;
  for (let i = 0; i < records.length; i += batch) {
    const byTopic = new Map<string, Array<{ key: string; value: Buffer | null; timestamp: string }>>();
    for (const rec of records.slice(i, i + batch)) {
      const role = CANONICAL[rec.topic] as keyof TestTopics;
      const topic = topics[role];
      const list = byTopic.get(topic) ?? [];
      list.push({
        key: keyOf(rec),
        value: rec.value === null ? null : serde.encode(rec.topic, rec.value),
        timestamp: String(recordTimeMs(rec)),
      });
      byTopic.set(topic, list);
    }
    await producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
  }
  await producer.disconnect();
}

/** Records on the topic now (sum of partition high watermarks). */
export async function topicSize(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  return offsets.reduce((sum, o) => sum + Number(o.high), 0);
}

/** Every anomaly on the topic, in partition then offset order. */
export async function readAnomalies(kafka: Kafka, serde: AvroSerde, topic: string): Promise<Anomaly[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const remaining = new Map(ends.filter((o) => Number(o.high) > 0).map((o) => [o.partition, Number(o.high)]));
  const got = new Map<number, Array<{ offset: number; a: Anomaly }>>();
  if (remaining.size === 0) return [];
  const consumer = kafka.consumer({ groupId: uniqueName('detector-test-read'), maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`reading ${topic} timed out`)), 30_000);
    consumer
      .run({
        eachMessage: async ({ partition, message }) => {
          const offset = Number(message.offset);
          const end = remaining.get(partition);
          if (end === undefined || offset >= end || !message.value) return;
          const a = await serde.decode<Anomaly>(TOPICS.anomalies.name, message.value);
          const list = got.get(partition) ?? [];
          list.push({ offset, a });
          got.set(partition, list);
          if (offset === end - 1) remaining.delete(partition);
          if (remaining.size === 0) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return [...got.keys()]
    .sort((a, b) => a - b)
    .flatMap((p) =>
      got
        .get(p)!
        .sort((x, y) => x.offset - y.offset)
        .map((x) => x.a),
    );
}

/** Sorted `id:version` keys, for comparing flag sets. */
export function idVersions(flags: readonly Anomaly[]): string[] {
  return flags.map((f) => `${f.id}:${f.version}`).sort();
}

/** Flags sorted by id then version, as plain JSON (the order-free form of a topic's content). */
export function sortFlags(flags: readonly Anomaly[]): unknown[] {
  return [...flags]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.version - b.version))
    .map((f) => JSON.parse(JSON.stringify(f)));
}

export function tempStateDir(): string {
  return join(mkdtempSync(join(tmpdir(), 'lg-detector-')), 'state');
}

/** The detector settings a test chooses; the rest are the service's defaults. */
export interface TestDetectorSettings {
  groupId: string;
  stateDir: string;
  topics: TestTopics;
  flushIntervalMs?: number;
  fetchMaxBytesPerPartition?: number;
}

/** A detector service in this process on the test stack, logging warnings; `http` serves /metrics on a free port. */
export function startTestDetector(
  ctx: DetectorTestContext,
  detector: TestDetectorSettings,
  options: { http?: boolean } = {},
): Promise<DetectorService> {
  return startDetector(
    detectorConfig({
      kafka: { brokers: ctx.brokers },
      registry: { url: ctx.registryUrl },
      http: { port: 0 },
      detector,
    }),
    { logger: createLogger('detector', 'warn'), http: options.http ?? false },
  );
}

/**
 * The uninterrupted run a recovery test is held to: a detector on `topics` until `count` flags
 * are out (30 s at most), closed, and the flags it published.
 */
export async function uninterruptedRun(
  ctx: DetectorTestContext,
  topics: TestTopics,
  count: number,
  stateDir = tempStateDir(),
): Promise<Anomaly[]> {
  const service = await startTestDetector(ctx, {
    groupId: uniqueName('det-base'),
    stateDir,
    topics,
    flushIntervalMs: 100,
  });
  try {
    await waitFor(
      'baseline flags',
      async () => (await topicSize(ctx.kafka, topics.anomalies)) >= count,
      30_000,
    );
  } finally {
    await service.close();
  }
  return readAnomalies(ctx.kafka, ctx.serde, topics.anomalies);
}

/** Asserts `got` is exactly `want`: no id + version twice, the same ids + versions, field for field. */
export function assertSameFlags(got: readonly Anomaly[], want: readonly Anomaly[]): void {
  assert.equal(new Set(idVersions(got)).size, got.length, 'no duplicates');
  assert.deepEqual(idVersions(got), idVersions(want));
  assert.ok(
    JSON.stringify(sortFlags(got)) === JSON.stringify(sortFlags(want)),
    'every field and evidence item agrees',
  );
}

/**
 * The live half of a backtest-vs-Kafka test: the detector service (with HTTP) consumes `topics`
 * until `expected.length` flags are out, and 500 ms more so that an extra one would show;
 * `whileRunning` then sees the service (its /metrics, say). Asserts the anomalies topic holds
 * exactly `expected`.
 */
export async function assertLiveDetectorPublishes(
  ctx: DetectorTestContext,
  topics: TestTopics,
  expected: readonly Anomaly[],
  whileRunning?: (service: DetectorService) => Promise<void>,
): Promise<void> {
  const service = await startTestDetector(
    ctx,
    { groupId: uniqueName('det-live'), stateDir: tempStateDir(), topics, flushIntervalMs: 100 },
    { http: true },
  );
  try {
    await waitFor(
      'all flags',
      async () => (await topicSize(ctx.kafka, topics.anomalies)) >= expected.length,
      30_000,
    );
    await new Promise((r) => setTimeout(r, 500)); // nothing beyond the expected may follow
    await whileRunning?.(service);
  } finally {
    await service.close();
  }
  assertSameFlags(await readAnomalies(ctx.kafka, ctx.serde, topics.anomalies), expected);
}

export interface DetectorChild {
  child: ChildProcess;
  /** Its stdout and stderr, as they came. */
  output: string[];
  /** Resolves with its exit code (null when a signal ended it). */
  exited: Promise<number | null>;
}

/**
 * `leechguard detector` as a child process, its config (`detector` settings, HTTP on a free port,
 * logging at info) written to `configFile` first.
 */
export function startDetectorChild(configFile: string, detector: TestDetectorSettings): DetectorChild {
  writeFileSync(configFile, JSON.stringify({ http: { port: 0 }, log: { level: 'info' }, detector }));
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'leechguard.mjs'), 'detector'], {
    // Test keys are short and public: the flag the demo uses lets the CLI boot with them.
    env: { ...process.env, LEECHGUARD_CONFIG: configFile, LEECHGUARD_INSECURE_DEMO_SECRETS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const output: string[] = [];
  child.stdout?.on('data', (b) => output.push(String(b)));
  child.stderr?.on('data', (b) => output.push(String(b)));
  return { child, output, exited };
}
