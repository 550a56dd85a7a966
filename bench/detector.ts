/**
 * Detector benchmark on the real local stack (private topics, so nothing else mixes in):
 * 1. events/s of the detector with ALL rules on, beside a bare consume (kafkajs fetch + Avro
 *    decode, no rules) of the same topics in the same run, and their ratio;
 * 2. p50 / p99 delay from an event's append to its flag's append, with events produced live;
 * 3. bytes of state per active token (serialized, as RocksDB stores it), and process memory.
 * Usage: LEECHGUARD_STACK_DIR=... node bench/detector.ts [--accounts 1500] [--minutes 6]
 * Bounded: about 30–50 s on a 2-core machine.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveEndpoints } from '../core/endpoints.ts';
import { createKafka, createProducer } from '../core/kafka.ts';
import { createLogger } from '../core/log.ts';
import { AvroSerde } from '../core/serde.ts';
import { TOPICS } from '../core/topics.ts';
import { keyOf } from '../detector/backtest/index.ts';
import { detectorConfig } from '../detector/config.ts';
import { FastDecoder } from '../detector/io/codec.ts';
import { startDetector } from '../detector/main.ts';
import { request } from '../detector/testing/fixtures.ts';
import { recordTimeMs, scenario } from '../detector/testing/scenario.ts';

const { values } = parseArgs({
  options: { accounts: { type: 'string', default: '1500' }, minutes: { type: 'string', default: '6' } },
});
const endpoints = resolveEndpoints();
if (!endpoints) throw new Error('no stack endpoints: run `leechguard stack up` or set LEECHGUARD_STACK_DIR');
const logger = createLogger('bench', 'warn');
const kafka = createKafka(
  { brokers: endpoints.kafkaBrokers, clientId: 'bench-detector', ssl: false, replicationFactor: 1 },
  logger,
);
const serde = new AvroSerde({ url: endpoints.registryUrl });
await serde.registerAll([
  TOPICS.requests.name,
  TOPICS.heartbeats.name,
  TOPICS.accounts.name,
  TOPICS.anomalies.name,
]);

const run = `bench-det-${Date.now().toString(36)}`;
const topics = {
  requests: `${run}.requests`,
  heartbeats: `${run}.heartbeats`,
  accounts: `${run}.accounts`,
  anomalies: `${run}.anomalies`,
};
const admin = kafka.admin();
await admin.connect();
await admin.createTopics({
  waitForLeaders: true,
  topics: [
    { topic: topics.requests, numPartitions: 6 },
    { topic: topics.heartbeats, numPartitions: 6 },
    {
      topic: topics.accounts,
      numPartitions: 6,
      configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
    },
    { topic: topics.anomalies, numPartitions: 6 },
  ],
});

// ── input ─────────────────────────────────────────────────────────────────────────────────────
const nowMs = Date.now();
const durationMs = Number(values.minutes) * 60_000;
const records = scenario({
  accounts: Number(values.accounts),
  durationMs,
  startMs: nowMs - durationMs - 60_000,
  seed: 3,
});
const roleTopic: Record<string, string> = {
  [TOPICS.requests.name]: topics.requests,
  [TOPICS.heartbeats.name]: topics.heartbeats,
  [TOPICS.accounts.name]: topics.accounts,
};
const producer = createProducer(kafka);
await producer.connect();
let t = performance.now();
for (let i = 0; i < records.length; i += 5000) {
  const byTopic = new Map<string, Array<{ key: string; value: Buffer; timestamp: string }>>();
  for (const rec of records.slice(i, i + 5000)) {
    const topic = roleTopic[rec.topic]!;
    const list = byTopic.get(topic) ?? [];
    list.push({
      key: keyOf(rec),
      value: serde.encode(rec.topic, rec.value),
      timestamp: String(recordTimeMs(rec)),
    });
    byTopic.set(topic, list);
  }
  await producer.sendBatch({
    acks: -1,
    topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
  });
}
const events = records.filter((r) => r.topic !== TOPICS.accounts.name).length;
const recordCount = records.length;
const accountsCount = Number(values.accounts);
// The input is on Kafka now: drop it so neither consumer below pays GC for the bench's own copy.
records.length = 0;
process.stderr.write(
  `produced ${recordCount} records (${events} events) in ${((performance.now() - t) / 1000).toFixed(1)} s\n`,
);

function cpuMs(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
}

// ── 1a. bare consume of the same topics ─────────────────────────────────────────────────────────
const decoders = {
  [topics.requests]: new FastDecoder(serde, TOPICS.requests.name),
  [topics.heartbeats]: new FastDecoder(serde, TOPICS.heartbeats.name),
  [topics.accounts]: new FastDecoder(serde, TOPICS.accounts.name),
};
const bare = kafka.consumer({
  groupId: `${run}-bare`,
  maxWaitTimeInMs: 100,
  maxBytesPerPartition: 1024 * 1024,
});
await bare.connect();
await bare.subscribe({ topics: [topics.requests, topics.heartbeats, topics.accounts], fromBeginning: true });
let bareCount = 0;
let bareStart = 0;
let bareCpu: NodeJS.CpuUsage = process.cpuUsage();
const bareDone = Promise.withResolvers<number>();
await bare.run({
  autoCommit: false,
  eachBatch: async ({ batch }) => {
    if (bareCount === 0) {
      bareStart = performance.now();
      bareCpu = process.cpuUsage();
    }
    const decoder = decoders[batch.topic]!;
    for (const m of batch.messages) {
      if (m.value) {
        const decoded = decoder.decode(m.value);
        if (decoded instanceof Promise) await decoded;
      }
      bareCount++;
    }
    if (bareCount >= recordCount) bareDone.resolve(performance.now());
  },
});
const bareEnd = await bareDone.promise;
const bareCpuMs = cpuMs(bareCpu);
await bare.disconnect();
const bareMs = bareEnd - bareStart;
const bareRate = recordCount / (bareMs / 1000);

// ── 1b. the detector, all rules on ──────────────────────────────────────────────────────────────
const stateDir = join(mkdtempSync(join(tmpdir(), 'lg-bench-det-')), 'state');
const delays: number[] = [];
let collecting = false;
const service = await startDetector(
  detectorConfig({
    kafka: { brokers: endpoints.kafkaBrokers },
    registry: { url: endpoints.registryUrl },
    detector: { groupId: `${run}-det`, stateDir, topics },
  }),
  { logger, http: false, onFlagDelay: (ms) => collecting && delays.push(ms) },
);
const stats = service.runner.topology.stats;
let detStart = 0;
let detCpu: NodeJS.CpuUsage = process.cpuUsage();
t = performance.now();
for (;;) {
  if (detStart === 0 && stats.events > 0) {
    detStart = performance.now();
    detCpu = process.cpuUsage();
  }
  if (stats.events + stats.lateEvents >= events) break;
  if (performance.now() - t > 120_000)
    throw new Error(`detector stalled at ${stats.events} of ${events} events`);
  await new Promise((r) => setTimeout(r, 5));
}
const detMs = performance.now() - detStart;
const detCpuMs = cpuMs(detCpu);
const detRate = events / (detMs / 1000);

// ── 3. state per active token ──────────────────────────────────────────────────────────────────
let stateBytes = 0;
let stateKeys = 0;
const tokens = new Set<string>();
for (const state of service.runner.topology.partitions.values()) {
  for (const [key, values] of state.entities) {
    stateKeys++;
    stateBytes += Buffer.byteLength(key) + 9 + Buffer.byteLength(JSON.stringify(values.v));
    if ('token-network-spread/token' in values.v) tokens.add(key);
  }
}

// ── 2. live: events appended now, flags timed from append to append ─────────────────────────────
// First let the backlog's flags finish publishing (their records carry old event-time timestamps).
const raised = () => Object.values(stats.flags).reduce((a, b) => a + b, 0);
for (let i = 0; i < 600 && service.runner.producedFlags < raised(); i++)
  await new Promise((r) => setTimeout(r, 50));
collecting = true;
const liveMs = 5_000;
const liveStart = Date.now();
let liveSent = 0;
for (let tick = 0; Date.now() - liveStart < liveMs; tick++) {
  const at = Date.now();
  const batch: Array<{ key: string; value: Buffer }> = [];
  for (let j = 0; j < 40; j++) {
    // 40 tokens, each gaining a new network every tick: a flag (or escalation) per token per tick.
    const token = `live-tok-${j}`;
    const value = request({
      id: `live-${tick}-${j}`,
      timestampMs: at,
      receivedAtMs: at,
      accountId: `live-acct-${j}`,
      tokenHash: token,
      networkPrefix: `198.18.${tick % 250}.0/24`,
      segmentNumber: tick,
    });
    batch.push({ key: `live-acct-${j}`, value: serde.encode(TOPICS.requests.name, value) });
  }
  await producer.send({ topic: topics.requests, acks: -1, messages: batch });
  liveSent += batch.length;
  await new Promise((r) => setTimeout(r, 50));
}
await new Promise((r) => setTimeout(r, 1_500));
collecting = false;
await service.close();
await producer.disconnect();
await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
await admin.disconnect();
rmSync(stateDir, { recursive: true, force: true });

const sorted = delays.sort((a, b) => a - b);
const pct = (p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
const mem = process.memoryUsage();
const flagsTotal = Object.values(stats.flags).reduce((a, b) => a + b, 0);
const lines = [
  `detector benchmark (${recordCount} records: ${events} events + ${recordCount - events} plans, ${accountsCount} accounts, 6 partitions)`,
  `bare consume (fetch + Avro decode):  ${Math.round(bareRate).toLocaleString('en')} records/s wall, ${Math.round(recordCount / (bareCpuMs / 1000)).toLocaleString('en')} per cpu-s  (${(bareMs / 1000).toFixed(2)} s wall, ${(bareCpuMs / 1000).toFixed(2)} s cpu)`,
  `detector, all rules on:             ${Math.round(detRate).toLocaleString('en')} events/s wall, ${Math.round(events / (detCpuMs / 1000)).toLocaleString('en')} per cpu-s  (${(detMs / 1000).toFixed(2)} s wall, ${(detCpuMs / 1000).toFixed(2)} s cpu, ${flagsTotal} flags)`,
  `ratio detector / bare consume:      ${(detRate / bareRate).toFixed(2)} (wall), ${(events / detCpuMs / (recordCount / bareCpuMs)).toFixed(2)} (per cpu-s)`,
  `append -> flag append delay (live, ${liveSent} events, ${sorted.length} flags): p50 ${pct(50).toFixed(0)} ms, p99 ${pct(99).toFixed(0)} ms`,
  `state: ${stateKeys} keys, ${stateBytes} bytes serialized, ${tokens.size} active tokens -> ${Math.round(stateBytes / Math.max(1, tokens.size))} bytes per active token (all rules' state, accounts and flags included)`,
  `memory: rss ${(mem.rss / 1048576).toFixed(0)} MiB, heap used ${(mem.heapUsed / 1048576).toFixed(0)} MiB`,
];
process.stdout.write(`${lines.join('\n')}\n`);
process.exit(0);
