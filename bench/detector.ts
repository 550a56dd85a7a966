/**
 * Detector benchmark on the real local stack (private topics, so nothing else mixes in):
 * 1. events/s of the detector with ALL rules on, beside a bare consume (kafkajs fetch + Avro
 *    decode, no rules) of the same topics in the same run, and their ratio;
 * 2. p50 / p99 delay from an event's append to its flag's append, with events produced live;
 * 3. bytes of state per active token (serialized, as RocksDB stores it), and process memory.
 *
 * `--against DIR`: another checkout of leechguard (e.g. `git worktree add /tmp/lg-before <commit>`
 * with this checkout's node_modules linked in). Each checkout gets the same scenario on topics of
 * its own, encoded with its own schemas, and the two detectors run in this process in turn
 * (`--runs` each, order alternated every round), so a change is measured beside the code before it
 * under the same machine noise; medians and their ratio are printed.
 *
 * Usage: LEECHGUARD_STACK_DIR=... node bench/detector.ts [--accounts 1500] [--minutes 6]
 *        [--runs 1] [--against DIR]
 * Bounded: about 30–50 s on a 2-core machine, plus ~15 s per extra run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
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
  options: {
    accounts: { type: 'string', default: '1500' },
    minutes: { type: 'string', default: '6' },
    runs: { type: 'string', default: '1' },
    against: { type: 'string' },
  },
});
const endpoints = resolveEndpoints();
if (!endpoints) throw new Error('no stack endpoints: run `leechguard stack up` or set LEECHGUARD_STACK_DIR');
const logger = createLogger('bench', 'warn');
const kafka = createKafka(
  { brokers: endpoints.kafkaBrokers, clientId: 'bench-detector', ssl: false, replicationFactor: 1 },
  logger,
);

/** One checkout's detector and the schemas its decoder expects (its own ids on its own topics). */
interface Tree {
  label: string;
  serde: AvroSerde;
  topics: { requests: string; heartbeats: string; accounts: string; anomalies: string };
  start: (
    groupId: string,
    stateDir: string,
    anomalies: string,
    onFlagDelay: (ms: number) => void,
  ) => Promise<Service>;
}
interface Service {
  runner: {
    topology: {
      stats: { events: number; lateEvents: number; flags: Record<string, number> };
      partitions: Map<number, { entities: Map<string, { v: Record<string, unknown> }> }>;
    };
    producedFlags: number;
  };
  close(): Promise<void>;
}

const run = `bench-det-${Date.now().toString(36)}`;
const ROLE_TOPICS = [
  TOPICS.requests.name,
  TOPICS.heartbeats.name,
  TOPICS.accounts.name,
  TOPICS.anomalies.name,
];

async function treeOf(label: string, dir: string | undefined, index: number): Promise<Tree> {
  const load = (path: string) =>
    dir === undefined ? undefined : import(pathToFileURL(resolve(dir, path)).href);
  const serdeModule = (await load('core/serde.ts')) ?? { AvroSerde };
  const configModule = (await load('detector/config.ts')) ?? { detectorConfig };
  const mainModule = (await load('detector/main.ts')) ?? { startDetector };
  const treeSerde: AvroSerde = new serdeModule.AvroSerde({ url: endpoints!.registryUrl });
  await treeSerde.registerAll(ROLE_TOPICS);
  const prefix = `${run}-${index}`;
  const topics = {
    requests: `${prefix}.requests`,
    heartbeats: `${prefix}.heartbeats`,
    accounts: `${prefix}.accounts`,
    anomalies: `${prefix}.anomalies`,
  };
  return {
    label,
    serde: treeSerde,
    topics,
    start: (groupId, stateDir, anomalies, onFlagDelay) =>
      mainModule.startDetector(
        configModule.detectorConfig({
          kafka: { brokers: endpoints!.kafkaBrokers },
          registry: { url: endpoints!.registryUrl },
          detector: { groupId, stateDir, topics: { ...topics, anomalies } },
        }),
        { logger, http: false, onFlagDelay },
      ),
  };
}

const trees = [await treeOf('this checkout', undefined, 0)];
if (values.against !== undefined) trees.push(await treeOf(resolve(values.against), values.against, 1));
const serde = trees[0]!.serde;
const topics = trees[0]!.topics;
const runs = Math.max(1, Number(values.runs));

const admin = kafka.admin();
await admin.connect();
await admin.createTopics({
  waitForLeaders: true,
  topics: trees.flatMap(({ topics: t }) => [
    { topic: t.requests, numPartitions: 6 },
    { topic: t.heartbeats, numPartitions: 6 },
    {
      topic: t.accounts,
      numPartitions: 6,
      configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
    },
    { topic: t.anomalies, numPartitions: 6 },
  ]),
});

// ── input: the same records for every checkout, each encoded with its own schemas ─────────────────
const nowMs = Date.now();
const durationMs = Number(values.minutes) * 60_000;
const records = scenario({
  accounts: Number(values.accounts),
  durationMs,
  startMs: nowMs - durationMs - 60_000,
  seed: 3,
});
const producer = createProducer(kafka);
await producer.connect();
const t = performance.now();
for (const tree of trees) {
  const roleTopic: Record<string, string> = {
    [TOPICS.requests.name]: tree.topics.requests,
    [TOPICS.heartbeats.name]: tree.topics.heartbeats,
    [TOPICS.accounts.name]: tree.topics.accounts,
  };
  for (let i = 0; i < records.length; i += 5000) {
    const byTopic = new Map<string, Array<{ key: string; value: Buffer; timestamp: string }>>();
    for (const rec of records.slice(i, i + 5000)) {
      const topic = roleTopic[rec.topic]!;
      const list = byTopic.get(topic) ?? [];
      list.push({
        key: keyOf(rec),
        value: tree.serde.encode(rec.topic, rec.value),
        timestamp: String(recordTimeMs(rec)),
      });
      byTopic.set(topic, list);
    }
    await producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
  }
}
const events = records.filter((r) => r.topic !== TOPICS.accounts.name).length;
const recordCount = records.length;
const accountsCount = Number(values.accounts);
// The input is on Kafka now: drop it so neither consumer below pays GC for the bench's own copy.
records.length = 0;
process.stderr.write(
  `produced ${recordCount} records (${events} events) per checkout in ${((performance.now() - t) / 1000).toFixed(1)} s\n`,
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
interface Pass {
  rate: number;
  cpuRate: number;
  wallMs: number;
  cpuMs: number;
  flags: number;
}
const delays: number[] = [];
let collecting = false;
const passTopics: string[] = [];

/** One detector over a checkout's topics from the start (fresh group and state); left running. */
async function pass(tree: Tree, round: number): Promise<{ pass: Pass; service: Service; stateDir: string }> {
  const stateDir = join(mkdtempSync(join(tmpdir(), 'lg-bench-det-')), 'state');
  // Flags go to a topic of the pass's own: a detector reads back the flags already on its
  // anomalies topic and does not produce them again, which would leave later passes the cheaper.
  const anomalies = `${tree.topics.anomalies}.${round}`;
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: anomalies, numPartitions: 6 }] });
  passTopics.push(anomalies);
  const service = await tree.start(
    `${run}-det-${trees.indexOf(tree)}-${round}`,
    stateDir,
    anomalies,
    (ms) => {
      if (collecting) delays.push(ms);
    },
  );
  const stats = service.runner.topology.stats;
  let detStart = 0;
  let detCpu: NodeJS.CpuUsage = process.cpuUsage();
  const t0 = performance.now();
  for (;;) {
    if (detStart === 0 && stats.events > 0) {
      detStart = performance.now();
      detCpu = process.cpuUsage();
    }
    if (stats.events + stats.lateEvents >= events) break;
    if (performance.now() - t0 > 120_000)
      throw new Error(`${tree.label}: detector stalled at ${stats.events} of ${events} events`);
    await new Promise((r) => setTimeout(r, 5));
  }
  const wallMs = performance.now() - detStart;
  const detCpuMs = cpuMs(detCpu);
  const flags = Object.values(stats.flags).reduce((x, y) => x + y, 0);
  return {
    pass: {
      rate: events / (wallMs / 1000),
      cpuRate: events / (detCpuMs / 1000),
      wallMs,
      cpuMs: detCpuMs,
      flags,
    },
    service,
    stateDir,
  };
}

async function stop(service: Service, stateDir: string): Promise<void> {
  await service.close();
  rmSync(stateDir, { recursive: true, force: true });
}

// Rounds alternate which checkout goes first, so a drift of the machine falls on both alike. This
// checkout's pass of the last round goes last and stays up for the state and live measurements.
const passes: Pass[][] = trees.map(() => []);
let kept: { service: Service; stateDir: string } | undefined;
for (let round = 0; round < runs; round++) {
  // Counted back from the last round, which runs this checkout last: alternated throughout.
  const order = (runs - 1 - round) % 2 === 0 ? [...trees].reverse() : trees;
  for (const tree of order) {
    const last = round === runs - 1 && tree === trees[0];
    const done = await pass(tree, round);
    passes[trees.indexOf(tree)]!.push(done.pass);
    if (last) kept = done;
    else await stop(done.service, done.stateDir);
  }
}
const { service, stateDir } = kept!;
const stats = service.runner.topology.stats;

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
await admin
  .deleteTopics({ topics: [...trees.flatMap((tree) => Object.values(tree.topics)), ...passTopics] })
  .catch(() => undefined);
await admin.disconnect();
rmSync(stateDir, { recursive: true, force: true });

const sorted = delays.sort((a, b) => a - b);
const pct = (p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
const mem = process.memoryUsage();
const median = (xs: number[]) => {
  const o = [...xs].sort((x, y) => x - y);
  const mid = o.length >> 1;
  return o.length % 2 === 1 ? o[mid]! : (o[mid - 1]! + o[mid]!) / 2;
};
const fmt = (x: number) => Math.round(x).toLocaleString('en');
const detectorLines = trees.map((tree, i) => {
  const ps = passes[i]!;
  const rate = median(ps.map((p) => p.rate));
  const cpuRate = median(ps.map((p) => p.cpuRate));
  const each = ps.length > 1 ? `; runs ${ps.map((p) => fmt(p.rate)).join(', ')}` : '';
  return (
    `detector, all rules on${trees.length > 1 ? ` (${tree.label})` : ''}: ${fmt(rate)} events/s wall, ${fmt(cpuRate)} per cpu-s` +
    `  (median of ${ps.length}: ${(median(ps.map((p) => p.wallMs)) / 1000).toFixed(2)} s wall, ${(median(ps.map((p) => p.cpuMs)) / 1000).toFixed(2)} s cpu, ${ps[0]!.flags} flags${each})`
  );
});
const thisRate = median(passes[0]!.map((p) => p.rate));
const thisCpuRate = median(passes[0]!.map((p) => p.cpuRate));
const againstLines =
  trees.length > 1
    ? [
        `ratio this checkout / ${trees[1]!.label}: ${(thisRate / median(passes[1]!.map((p) => p.rate))).toFixed(3)} (wall), ${(thisCpuRate / median(passes[1]!.map((p) => p.cpuRate))).toFixed(3)} (per cpu-s); above 1: this checkout is faster`,
      ]
    : [];
const lines = [
  `detector benchmark (${recordCount} records: ${events} events + ${recordCount - events} plans, ${accountsCount} accounts, 6 partitions)`,
  `bare consume (fetch + Avro decode):  ${fmt(bareRate)} records/s wall, ${fmt(recordCount / (bareCpuMs / 1000))} per cpu-s  (${(bareMs / 1000).toFixed(2)} s wall, ${(bareCpuMs / 1000).toFixed(2)} s cpu)`,
  ...detectorLines,
  `ratio detector / bare consume:      ${(thisRate / bareRate).toFixed(2)} (wall), ${(thisCpuRate / (recordCount / (bareCpuMs / 1000))).toFixed(2)} (per cpu-s)`,
  ...againstLines,
  `append -> flag append delay (live, ${liveSent} events, ${sorted.length} flags): p50 ${pct(50).toFixed(0)} ms, p99 ${pct(99).toFixed(0)} ms`,
  `state: ${stateKeys} keys, ${stateBytes} bytes serialized, ${tokens.size} active tokens -> ${Math.round(stateBytes / Math.max(1, tokens.size))} bytes per active token (all rules' state, accounts and flags included)`,
  `memory: rss ${(mem.rss / 1048576).toFixed(0)} MiB, heap used ${(mem.heapUsed / 1048576).toFixed(0)} MiB`,
];
process.stdout.write(`${lines.join('\n')}\n`);
process.exit(0);
