/**
 * The pieces `leechguard demo` and the end-to-end tests share: the three services' config for a
 * simulated run (keys, token verification with the simulator's keys, unique consumer groups and
 * state folder), and a collector that watches what the pipeline does with that run's accounts:
 * flags (anomalies topic), revocations (revocations topic) and the moment each deny entry appears
 * in Redis (the `lg:deny:changes` message is published by the same Lua script that writes it).
 */
import { randomBytes } from 'node:crypto';
import type { Consumer } from 'kafkajs';
import { loadConfig } from '../../core/config.ts';
import { createConsumer, createKafka, type KafkaConfig } from '../../core/kafka.ts';
import type { Logger } from '../../core/log.ts';
import { createRedis, type Redis } from '../../core/redis.ts';
import type { Anomaly, Revocation } from '../../core/schemas/generated.ts';
import { AvroSerde, type RegistryOptions } from '../../core/serde.ts';
import { TOPICS } from '../../core/topics.ts';
import { enforcerConfigSchema } from '../../enforcer/config.ts';
import { DENY_CHANGES_CHANNEL, denyKey } from '../../enforcer/denylist/keys.ts';
import { defaultTokenConfig } from '../../ingest/transforms/token/config.ts';
import { CLOUDFRONT_REALTIME_FIELDS, type SimulationConfig, type Truth } from '../../simulate/index.ts';
import type { AllSections } from '../all.ts';

/** Bearer keys of one run (random: nothing guessable is left listening). */
export interface DemoKeys {
  ingest: string;
  analyst: string;
  operator: string;
  edge: string;
  backend: string;
}

export function demoKeys(): DemoKeys {
  const k = (role: string) => `demo-${role}-${randomBytes(12).toString('hex')}`;
  return {
    ingest: k('ingest'),
    analyst: k('analyst'),
    operator: k('operator'),
    edge: k('edge'),
    backend: k('backend'),
  };
}

export type RulePolicyInput = {
  mode: 'monitor' | 'moderate' | 'automate';
  rolloutPercent?: number;
  action?: 'block_token' | 'evict_session' | 'block_account' | 'throttle' | 'substitute';
  durationMs?: number;
};

/**
 * The demo policy, the same reasoning as the shipped example (config/enforcer.json): automate only
 * what no legitimate viewer can trigger. account-concurrency evicts the newest session beyond the
 * plan (what the plan itself says; a restarted player is not a second stream). Every other rule has
 * a legitimate look-alike somewhere (a catreplay=1 request retried across a network switch, an
 * offline download pulling faster than real time, a mobile pool rotating networks, a corporate
 * VPN toggled on and off, a player whose heartbeat module fails), so an analyst judges it; the
 * signals that alone cannot tell a viewer from an abuser only count.
 */
export const DEMO_POLICIES: Record<string, RulePolicyInput> = {
  'account-concurrency': {
    mode: 'automate',
    rolloutPercent: 100,
    action: 'evict_session',
    durationMs: 600_000,
  },
  'token-network-spread': { mode: 'moderate', action: 'block_token' },
  'geo-spread': { mode: 'moderate', action: 'block_token' },
  'impossible-travel': { mode: 'moderate', action: 'block_token' },
  'cat-replay': { mode: 'moderate', action: 'block_token' },
  'request-rate': { mode: 'moderate', action: 'block_token' },
  'segment-without-session': { mode: 'moderate', action: 'block_token', durationMs: 600_000 },
  'segment-fanout': { mode: 'moderate', action: 'block_token' },
  'title-concurrency': { mode: 'moderate', action: 'evict_session' },
  'cmcd-concurrency': { mode: 'moderate', action: 'evict_session' },
  'group-concurrency': { mode: 'monitor' },
  'datacenter-source': { mode: 'monitor' },
  'cat-network-binding': { mode: 'monitor' },
};

export interface SectionOptions {
  runId: string;
  stateDir: string;
  keys: DemoKeys;
  sim: Readonly<SimulationConfig>;
  policies: Record<string, RulePolicyInput>;
  defaultMode?: 'monitor' | 'moderate' | 'automate';
  /** 0 = any free port (tests); undefined = each service's default. */
  ports?: { ingest?: number; enforcer?: number; detector?: number };
  /** Events this far behind the detector's watermark are still counted, ms. */
  allowedLatenessMs: number;
  /** Detector rule settings by rule name (partial; the rest keep their defaults). */
  detectorRules?: Record<string, Record<string, unknown>>;
  logLevel?: string;
}

/** Ingest token settings reading the simulator's three token kinds, verified with its keys. */
export function simulatorTokenConfig(sim: Readonly<SimulationConfig>): Record<string, unknown> {
  return {
    // `CAT=` is the simulator's (uppercase) parameter; query names are case-sensitive.
    locations: [{ in: 'query', name: 'CAT', kind: 'cat' }, ...defaultTokenConfig().locations],
    jwt: { hmacSecrets: { '*': sim.tokenSigningKey }, publicKeysPem: {}, accountClaim: 'sub' },
    cat: { macKeysHex: { [sim.catKeyId]: sim.catKeyHex } },
    edgeauth: { accountField: 'data' },
  };
}

/** The `leechguard all` sections of one run. */
export function demoSections(o: SectionOptions): AllSections {
  const log = { level: o.logLevel ?? 'warn' };
  const port = (p: number | undefined) => (p === undefined ? {} : { port: p });
  return {
    ingest: {
      log,
      http: {
        ...port(o.ports?.ingest),
        apiKeys: [{ name: `demo-${o.runId}`, key: o.keys.ingest, roles: ['source', 'player', 'backend'] }],
      },
      tokenHashing: o.sim.tokenHashing,
      defaultToken: simulatorTokenConfig(o.sim),
      // The simulator's real-time log configuration (20 fields + the 18 CMCD ones).
      defaultFields: { 'cloudfront-realtime': [...CLOUDFRONT_REALTIME_FIELDS] },
    },
    detector: {
      log,
      http: { ...port(o.ports?.detector) },
      detector: {
        groupId: `leechguard-demo-detector-${o.runId}`,
        stateDir: `${o.stateDir}/detector-state`,
        allowedLatenessMs: o.allowedLatenessMs,
        // A new group reads only what arrives from now on (the shared topics may hold hours of others' traffic).
        recoveryLookbackMs: 1_000,
      },
      ...(o.detectorRules ? { rules: o.detectorRules } : {}),
    },
    enforcer: {
      log,
      http: {
        ...port(o.ports?.enforcer),
        apiKeys: [
          { name: 'demo-analyst', key: o.keys.analyst, roles: ['analyst'] },
          { name: 'demo-operator', key: o.keys.operator, roles: ['operator'] },
          { name: 'demo-edge', key: o.keys.edge, roles: ['edge'] },
          { name: 'demo-backend', key: o.keys.backend, roles: ['backend'] },
        ],
      },
      tokenHashing: o.sim.tokenHashing,
      anomalies: { groupId: `leechguard-demo-enforcer-${o.runId}`, startLookbackMs: 0 },
      policies: {
        defaultPolicy: { mode: o.defaultMode ?? 'monitor' },
        rules: o.policies,
      },
    },
  };
}

/** When a revocation's deny entry was first seen in Redis (wall ms). */
export interface RedisSighting {
  atMs: number;
  key: string;
}

export interface CollectorOptions {
  kafka: KafkaConfig;
  registry: RegistryOptions;
  redisUrl: string;
  logger: Logger;
  runId: string;
}

/**
 * Watches the pipeline's outputs for one run's accounts. Start it before playing: it joins a
 * fresh consumer group at the log end and subscribes to the change channel first.
 */
export class RunCollector {
  readonly flags = new Map<string, Anomaly>();
  /** Every version of every flag (escalations), by flag id. */
  readonly flagVersions = new Map<string, Anomaly[]>();
  readonly revocations = new Map<string, Revocation>();
  /** Revocation id -> first sighting of its entry in Redis. */
  readonly sightings = new Map<string, RedisSighting>();
  lastChangeMs = Date.now();
  private readonly accounts: Set<string>;
  private readonly tokens: Set<string>;
  private consumer: Consumer | undefined;
  private sub: Redis | undefined;
  private readonly serde: AvroSerde;

  private readonly options: CollectorOptions;

  constructor(truth: Truth, options: CollectorOptions) {
    this.options = options;
    this.accounts = new Set(truth.accounts.map((a) => a.accountId));
    this.tokens = new Set(truth.accounts.flatMap((a) => a.tokenHashes));
    this.serde = new AvroSerde(options.registry);
  }

  /** True when a flag / revocation is about an account of this run. */
  private ours(
    accountId: string | null,
    subjectKind: string,
    subjectKey: string,
    tokenHash: string | null,
  ): boolean {
    if (accountId && this.accounts.has(accountId)) return true;
    if (tokenHash && this.tokens.has(tokenHash)) return true;
    if (subjectKind === 'token') return this.tokens.has(subjectKey);
    if (subjectKind === 'account') return this.accounts.has(subjectKey);
    if (subjectKind === 'segment') return this.accounts.has(subjectKey.split('|')[0] ?? '');
    return false;
  }

  async start(): Promise<void> {
    await this.serde.registerAll([TOPICS.anomalies.name, TOPICS.revocations.name]);
    this.sub = createRedis(this.options.redisUrl, this.options.logger);
    const pendingKeys = new Map<string, number>();
    this.sub.on('message', (_channel: string, message: string) => {
      const at = Date.now();
      try {
        const m = JSON.parse(message) as {
          op: string;
          kind: string;
          subject: string;
          entry?: { revocationId?: string };
        };
        if (m.op !== 'set' || !m.entry?.revocationId) return;
        const key = denyKey(m.kind as never, m.subject);
        if (!this.sightings.has(m.entry.revocationId))
          this.sightings.set(m.entry.revocationId, { atMs: at, key });
        pendingKeys.set(key, at);
      } catch {
        // not ours to judge
      }
    });
    await this.sub.subscribe(DENY_CHANGES_CHANNEL);
    const kafka = createKafka(this.options.kafka, this.options.logger);
    const consumer = createConsumer(kafka, { groupId: `leechguard-demo-collector-${this.options.runId}` });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({
      topics: [TOPICS.anomalies.name, TOPICS.revocations.name],
      fromBeginning: false,
    });
    const joined = new Promise<void>((resolve) => {
      consumer.on(consumer.events.GROUP_JOIN, () => resolve());
    });
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        if (!message.value) return;
        if (topic === TOPICS.anomalies.name) {
          const a = await this.serde.decode<Anomaly>(topic, message.value);
          if (!this.ours(a.accountId, a.subjectKind, a.subjectKey, a.tokenHash)) return;
          const versions = this.flagVersions.get(a.id) ?? [];
          versions.push(a);
          this.flagVersions.set(a.id, versions);
          const prev = this.flags.get(a.id);
          if (!prev || prev.version > a.version) this.flags.set(a.id, a);
          this.lastChangeMs = Date.now();
        } else {
          const r = await this.serde.decode<Revocation>(topic, message.value);
          if (!this.ours(r.accountId, r.subjectKind, r.subjectKey, null)) return;
          if (!this.revocations.has(r.id)) this.revocations.set(r.id, r);
          this.lastChangeMs = Date.now();
        }
      },
    });
    await joined;
  }

  /** Waits until nothing new arrived for quietMs (or maxMs passed). */
  async drain(quietMs: number, maxMs: number, signal?: AbortSignal): Promise<void> {
    const until = Date.now() + maxMs;
    while (Date.now() < until && !signal?.aborted) {
      if (Date.now() - this.lastChangeMs >= quietMs) return;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async close(): Promise<void> {
    await this.consumer?.disconnect().catch(() => {});
    this.sub?.disconnect();
  }
}

/** Nearest-rank percentile. */
export function pct(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const s = values.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number;
}

/** Maps simulated time to the wall time its event was due to be sent, and back. */
export interface TimeMap {
  simStartMs: number;
  wallStartMs: number;
  speed: number;
}

export const simToWall = (m: TimeMap, t: number) => m.wallStartMs + (t - m.simStartMs) / m.speed;
export const wallToSim = (m: TimeMap, t: number) => m.simStartMs + (t - m.wallStartMs) * m.speed;

export interface LatencyFigures {
  /** Threshold-crossing request due (wall) -> deny entry in Redis, ms. */
  triggerToRedis: number[];
  /** The same per rule. */
  triggerToRedisByRule: Record<string, number[]>;
  /** Abuse start (wall of its first abusive request) -> deny entry in Redis, wall ms. */
  abuseStartToRedisWall: number[];
  /** The same in simulated time (how long the abuse ran before the edge could refuse it), ms. */
  abuseStartToRedisSim: number[];
}

/**
 * Latencies of a live run from what the collector saw. A request is assumed sent at its due time;
 * the live sink sends it later (batching, lag), so the figures are upper bounds.
 */
export function latencies(truth: Truth, c: RunCollector, map: TimeMap): LatencyFigures {
  const out: LatencyFigures = {
    triggerToRedis: [],
    triggerToRedisByRule: {},
    abuseStartToRedisWall: [],
    abuseStartToRedisSim: [],
  };
  const firstByAccount = new Map<string, number>();
  for (const r of c.revocations.values()) {
    const seen = c.sightings.get(r.id);
    if (!seen) continue;
    const flag = r.anomalyId ? c.flags.get(r.anomalyId) : undefined;
    // An eviction comes from the version naming that session (each escalation evicts the newest).
    const versions = r.anomalyId ? (c.flagVersions.get(r.anomalyId) ?? []) : [];
    const cause =
      (r.subjectKind === 'session' ? versions.find((v) => v.evictSessionId === r.subjectKey) : undefined) ??
      flag;
    if (cause) {
      const ms = seen.atMs - simToWall(map, cause.detectedAtMs);
      out.triggerToRedis.push(ms);
      const list = out.triggerToRedisByRule[r.rule] ?? [];
      list.push(ms);
      out.triggerToRedisByRule[r.rule] = list;
    }
    const acct = r.accountId ?? flag?.accountId ?? null;
    if (acct)
      firstByAccount.set(acct, Math.min(firstByAccount.get(acct) ?? Number.POSITIVE_INFINITY, seen.atMs));
  }
  for (const a of truth.accounts) {
    if (a.label !== 'abuser' || a.abuseStartMs === null) continue;
    const at = firstByAccount.get(a.accountId);
    if (at === undefined) continue;
    out.abuseStartToRedisWall.push(at - simToWall(map, a.abuseStartMs));
    out.abuseStartToRedisSim.push(wallToSim(map, at) - a.abuseStartMs);
  }
  return out;
}

/** Kafka / registry / Redis as the services resolve them (env, else the local stack). */
export function endpointsFor(env: NodeJS.ProcessEnv): {
  kafka: KafkaConfig;
  registry: RegistryOptions;
  redisUrl: string;
} {
  const c = loadConfig(enforcerConfigSchema, { env: { ...env, LEECHGUARD_CONFIG: '' }, overrides: {} });
  return { kafka: c.kafka, registry: c.registry, redisUrl: c.redis.url };
}

/** Review entries of these flags (moderate rules), by status, from the enforcer's API. */
export async function reviewsOf(
  enforcerUrl: string,
  key: string,
  flags: Iterable<Anomaly>,
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const f of flags) {
    const res = await fetch(`${enforcerUrl}/v1/reviews/${encodeURIComponent(f.id)}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    if (res.status === 404) continue;
    const body = (await res.json()) as { status?: string };
    if (body.status) counts[body.status] = (counts[body.status] ?? 0) + 1;
  }
  return counts;
}

/** Would-have records of these flags, per rule, from the enforcer's API. */
export async function wouldHaveOf(
  enforcerUrl: string,
  key: string,
  flags: Iterable<Anomaly>,
): Promise<Record<string, number>> {
  const ids = new Set<string>();
  const targets = new Set<string>();
  for (const f of flags) {
    ids.add(f.id);
    targets.add(`${f.rule}/${new Date(f.detectedAtMs).toISOString().slice(0, 10)}`);
  }
  const counts: Record<string, number> = {};
  for (const t of targets) {
    const res = await fetch(`${enforcerUrl}/v1/would-have/${t}?limit=1000`, {
      headers: { authorization: `Bearer ${key}` },
    });
    if (!res.ok) continue;
    const body = (await res.json()) as { items?: Array<{ anomalyId: string; rule: string }> };
    for (const i of body.items ?? []) if (ids.has(i.anomalyId)) counts[i.rule] = (counts[i.rule] ?? 0) + 1;
  }
  return counts;
}
