/**
 * Benchmark: flags → revocations end to end through the real enforcer (Kafka in, Lua script into
 * Redis + change message, revocation record on Kafka, offset commit), beside two baselines
 * measured in the same run on the same stack:
 *   1. bare Kafka: the same flags produced and consumed (decode only) by a bare consumer group;
 *   2. bare Redis: the same number of HSET + PEXPIREAT + PUBLISH, pipelined in 1k chunks.
 * Latency per flag = change message seen on lg:deny:changes − flag produced (what an edge sees).
 *
 *   node bench/enforcer.ts [--flags 5000]
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { resolveEndpoints } from '../core/endpoints.ts';
import { createConsumer, createKafka, createProducer, ensureTopics } from '../core/kafka.ts';
import { createLogger } from '../core/log.ts';
import type { Anomaly } from '../core/schemas/generated.ts';
import { AvroSerde } from '../core/serde.ts';
import { TOPICS } from '../core/topics.ts';
import { enforcerConfigSchema } from '../enforcer/config.ts';
import { DENY_CHANGES_CHANNEL, type DenyChange } from '../enforcer/denylist/keys.ts';
import { startEnforcer } from '../enforcer/main.ts';

const { values } = parseArgs({ options: { flags: { type: 'string', default: '5000' } } });
const N = Number(values.flags);
const PRODUCE_BATCH = 500; // flags per produce request
const TIMEOUT_MS = 45_000; // the whole bench stays well under a minute

const endpoints = resolveEndpoints();
if (!endpoints) throw new Error('no stack: run `leechguard stack up` or set LEECHGUARD_STACK_DIR');
const logger = createLogger('bench', 'silent');
const kafka = createKafka(
  { brokers: endpoints.kafkaBrokers, clientId: 'bench-enforcer', ssl: false, replicationFactor: 1 },
  logger,
);
const admin = kafka.admin();
await admin.connect();
await ensureTopics(admin, 1);
const serde = new AvroSerde({ url: endpoints.registryUrl });
await serde.registerAll([TOPICS.anomalies.name]);
const producer = createProducer(kafka);
await producer.connect();
const run = randomUUID().slice(0, 8);
const rule = `bench-${run}`;

function makeFlag(i: number, tokenHash: string): Anomaly {
  const nowMs = Date.now();
  return {
    id: `${run}-${i}`,
    version: 1,
    rule,
    subjectKind: 'token',
    subjectKey: tokenHash,
    tenant: 'default',
    accountId: `bench-acct-${run}-${i}`,
    tokenHash,
    tokenExpiresAtMs: nowMs + 120_000, // short: the bench's entries leave the shared Redis on their own
    evictSessionId: null,
    severity: 'high',
    threshold: 3,
    observed: 8,
    windowStartMs: nowMs - 60_000,
    windowEndMs: nowMs,
    detectedAtMs: nowMs,
    triggerEventId: `${run}-e${i}`,
    evidence: {
      eventCount: 30,
      networks: [{ value: '203.0.113.0/24', count: 10, firstSeenMs: nowMs, lastSeenMs: nowMs }],
      countries: [],
      asns: [],
      devices: [],
      sessions: [],
      travel: null,
      note: null,
      signals: [],
      ruledOut: [],
    },
  };
}

/** Produces N flags in batches; returns produce time per token hash. */
async function produceFlags(prefix: string): Promise<Map<string, number>> {
  const sentAt = new Map<string, number>();
  for (let i = 0; i < N; i += PRODUCE_BATCH) {
    const batch: Anomaly[] = [];
    for (let j = i; j < Math.min(N, i + PRODUCE_BATCH); j++) batch.push(makeFlag(j, `${prefix}-${run}-${j}`));
    const t = Date.now();
    for (const f of batch) sentAt.set(f.tokenHash!, t);
    await producer.send({
      topic: TOPICS.anomalies.name,
      acks: -1,
      messages: batch.map((f) => ({ key: f.accountId!, value: serde.encode(TOPICS.anomalies.name, f) })),
    });
  }
  return sentAt;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: timed out`)), TIMEOUT_MS).unref(),
    ),
  ]);
}

// ── baseline 1: bare Kafka produce → consume (decode) ─────────────────────────────────────────
async function bareKafka(): Promise<{ perSecond: number; p50: number; p99: number }> {
  const groupId = `bench-bare-${run}`;
  const highs = await admin.fetchTopicOffsets(TOPICS.anomalies.name);
  await admin.setOffsets({
    groupId,
    topic: TOPICS.anomalies.name,
    partitions: highs.map((p) => ({ partition: p.partition, offset: p.high })),
  });
  const consumer = createConsumer(kafka, { groupId, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [TOPICS.anomalies.name] });
  const seenAt = new Map<string, number>();
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((r) => {
    resolveDone = r;
  });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) {
        const f = await serde.decode<Anomaly>(TOPICS.anomalies.name, m.value!);
        if (f.rule === rule && f.tokenHash?.startsWith('bare-')) seenAt.set(f.tokenHash, Date.now());
      }
      if (seenAt.size >= N) resolveDone();
    },
  });
  await new Promise((r) => setTimeout(r, 1_500)); // group join
  const start = Date.now();
  const sentAt = await produceFlags('bare');
  await withTimeout(done, 'bare kafka');
  const elapsedMs = Math.max(...seenAt.values()) - start;
  await consumer.disconnect();
  await admin.deleteGroups([groupId]).catch(() => {});
  const lat = [...seenAt].map(([k, t]) => t - sentAt.get(k)!).sort((a, b) => a - b);
  return { perSecond: (N / elapsedMs) * 1000, p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

// ── baseline 2: bare Redis pipeline of the same writes ────────────────────────────────────────
async function bareRedis(): Promise<{ perSecond: number }> {
  const redis = new Redis(endpoints!.redisUrl);
  const start = Date.now();
  for (let i = 0; i < N; i += 1_000) {
    const p = redis.pipeline();
    for (let j = i; j < Math.min(N, i + 1_000); j++) {
      const key = `bench:bare:{${run}-${j}}`;
      p.hset(
        key,
        'action',
        'block_token',
        'revocationId',
        `${run}-${j}`,
        'expiresAtMs',
        String(Date.now() + 60_000),
      );
      p.pexpireat(key, Date.now() + 60_000);
      p.publish(`bench:bare:${run}`, key);
    }
    await p.exec();
  }
  const elapsedMs = Date.now() - start;
  redis.disconnect();
  return { perSecond: (N / elapsedMs) * 1000 };
}

// ── the enforcer, end to end ──────────────────────────────────────────────────────────────────
async function enforcerEndToEnd(): Promise<{ perSecond: number; p50: number; p99: number; bootMs: number }> {
  const config = enforcerConfigSchema.parse({
    kafka: { brokers: endpoints!.kafkaBrokers },
    registry: { url: endpoints!.registryUrl },
    redis: { url: endpoints!.redisUrl },
    http: { port: 0 },
    log: { level: 'silent' },
    anomalies: { groupId: `bench-enforcer-${run}` },
    policies: { rules: { [rule]: { mode: 'automate', action: 'block_token', durationMs: 120_000 } } },
  });
  const bootStart = Date.now();
  const enforcer = await startEnforcer(config, { logger });
  const bootMs = Date.now() - bootStart;
  const sub = new Redis(endpoints!.redisUrl);
  const seenAt = new Map<string, number>();
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((r) => {
    resolveDone = r;
  });
  await sub.subscribe(DENY_CHANGES_CHANNEL);
  sub.on('message', (_c, message) => {
    const change = JSON.parse(message) as DenyChange;
    if (change.op === 'set' && change.subject.startsWith(`enf-${run}`)) {
      seenAt.set(change.subject, Date.now());
      if (seenAt.size >= N) resolveDone();
    }
  });
  await new Promise((r) => setTimeout(r, 1_500)); // group join
  const start = Date.now();
  const sentAt = await produceFlags('enf');
  await withTimeout(done, 'enforcer');
  // Durable too: every revocation is on the topic (the table holds what the writer produced).
  await withTimeout(
    (async () => {
      while (enforcer.enforcement.parts.revocations.list({ rule, limit: 1 }).total < N)
        await new Promise((r) => setTimeout(r, 20));
    })(),
    'revocation records',
  );
  const elapsedMs = Math.max(...seenAt.values()) - start;
  sub.disconnect();
  await enforcer.close();
  await admin.deleteGroups([`bench-enforcer-${run}`]).catch(() => {});
  const lat = [...seenAt].map(([k, t]) => t - sentAt.get(k)!).sort((a, b) => a - b);
  return { perSecond: (N / elapsedMs) * 1000, p50: percentile(lat, 50), p99: percentile(lat, 99), bootMs };
}

const kafkaBase = await bareKafka();
const redisBase = await bareRedis();
const e2e = await enforcerEndToEnd();
await producer.disconnect();
await admin.disconnect();
const rssMiB = Math.round(process.memoryUsage().rss / 1024 / 1024);
const f = (n: number) => n.toFixed(0).padStart(8);
process.stdout.write(
  [
    `enforcer bench: ${N} flags, automate block_token, one process, shared local stack`,
    `  baseline bare Kafka produce→consume   ${f(kafkaBase.perSecond)} flags/s   p50 ${kafkaBase.p50} ms  p99 ${kafkaBase.p99} ms`,
    `  baseline bare Redis HSET+PEXPIREAT+PUBLISH pipelined ${f(redisBase.perSecond)} writes/s`,
    `  enforcer flags→revocations end to end ${f(e2e.perSecond)} revocations/s  p50 ${e2e.p50} ms  p99 ${e2e.p99} ms  (boot ${e2e.bootMs} ms)`,
    `  ratio enforcer / bare Kafka           ${(e2e.perSecond / kafkaBase.perSecond).toFixed(2)}`,
    `  rss ${rssMiB} MiB`,
    '',
  ].join('\n'),
);
process.exit(0);
