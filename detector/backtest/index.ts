/**
 * `leechguard backtest`: the same topology over files of typed records, no Kafka. Input lines are
 * NDJSON, either `{"topic": "cdn.requests.v1", "value": {...}}` (also player.heartbeats.v1 and
 * leechguard.accounts.v1, with `"value": null` and `"key"` for a plan tombstone) or a plain
 * CdnRequest / PlayerHeartbeat / AccountPlan object. Records are partitioned as the Kafka path
 * partitions them (murmur2 of the account id, else the token hash) so per-partition watermarks
 * agree, and processed in file order. Flags come out as NDJSON; a summary table follows.
 */
import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Partitioners } from 'kafkajs';
import { LeechguardError } from '../../core/errors.ts';
import type { AccountPlan, Anomaly, CdnRequest, PlayerHeartbeat } from '../../core/schemas/generated.ts';
import { TOPICS } from '../../core/topics.ts';
import { type DetectorConfig, detectorConfig } from '../config.ts';
import type { InputRole } from '../engine/partition-state.ts';
import { type TenantSignals, Topology } from '../engine/topology.ts';
import { FLAG_RULES } from '../rules/index.ts';

/** One input record: a topic name and its typed value. */
export interface TopicRecord {
  topic: string;
  value: CdnRequest | PlayerHeartbeat | AccountPlan | null;
  /** Record key (the account id for plans; needed for a plan tombstone). */
  key?: string;
}

export interface BacktestOptions {
  /** Detector config (partial, defaults filled in) or a parsed one. */
  config?: unknown;
  /** Partitions to spread keys over, as the input topics have (default: the requests topic's, 6). */
  partitions?: number;
  /** Called for each flag as it is raised. */
  onFlag?: (flag: Anomaly) => void;
  /** Keep every flag in the result (default true; false for huge inputs streamed through onFlag). */
  collect?: boolean;
  /** Sweep expired state every this many events (bounds memory on big files). */
  sweepEveryEvents?: number;
}

export interface BacktestSummary {
  records: number;
  events: number;
  lateEvents: number;
  flags: number;
  /** Flags (new ids and escalations) per rule. */
  flagsByRule: Record<string, number>;
  /** Events a rule did not judge for want of a signal (no heartbeats for the tenant, or behind). */
  silencedByRule: Record<string, number>;
  /** Latest event time of each input per tenant: which signals each tenant had. */
  tenantSignals: Record<string, TenantSignals>;
  /** Per tenant: the inputs present and the rules silent for want of one. */
  signals: ReturnType<Topology['signalsReport']>;
  /** Distinct flag ids per rule. */
  idsByRule: Record<string, number>;
  overflowEntries: number;
  overflowKeys: number;
}

export interface BacktestResult {
  flags: Anomaly[];
  summary: BacktestSummary;
}

const ROLE_OF: Record<string, InputRole> = {
  [TOPICS.requests.name]: 'requests',
  [TOPICS.heartbeats.name]: 'heartbeats',
  [TOPICS.accounts.name]: 'accounts',
};

const ROLE_INDEX: Record<InputRole, number> = { accounts: 0, heartbeats: 1, requests: 2 };

const partitioner = Partitioners.DefaultPartitioner();
const metadataByCount = new Map<number, unknown[]>();

/** The partition Kafka's default (murmur2) partitioner gives `key` among `count` partitions. */
export function partitionOf(key: string, count: number): number {
  let partitionMetadata = metadataByCount.get(count);
  if (!partitionMetadata) {
    partitionMetadata = Array.from({ length: count }, (_, partitionId) => ({
      partitionId,
      leader: 0,
      replicas: [0],
      isr: [0],
      partitionErrorCode: 0,
    }));
    metadataByCount.set(count, partitionMetadata);
  }
  return partitioner({
    topic: 't',
    partitionMetadata: partitionMetadata as never,
    message: { key, value: null },
  });
}

/** The record key the ingest side uses: account id, else token hash, else the record id. */
export function keyOf(record: TopicRecord): string {
  const v = record.value;
  if (v === null) return record.key ?? '';
  if ('streamLimit' in v) return v.accountId;
  return v.accountId ?? v.tokenHash ?? v.id;
}

/** Runs the rules over `records` with an embedded (in-memory) store. */
export async function runBacktest(
  records: AsyncIterable<TopicRecord> | Iterable<TopicRecord>,
  options: BacktestOptions = {},
): Promise<BacktestResult> {
  const config: DetectorConfig =
    options.config &&
    typeof options.config === 'object' &&
    'detector' in options.config &&
    'rules' in options.config
      ? (options.config as DetectorConfig)
      : detectorConfig(options.config ?? {});
  const topology = new Topology(config);
  const partitions = options.partitions ?? TOPICS.requests.partitions;
  const collect = options.collect ?? true;
  const sweepEvery = options.sweepEveryEvents ?? 20_000;
  const flags: Anomaly[] = [];
  const idsByRule: Record<string, Set<string>> = {};
  const offsets = new Map<number, number>();
  let recordsSeen = 0;
  let flagCount = 0;
  const one = (rec: TopicRecord): void => {
    recordsSeen++;
    const role = ROLE_OF[rec.topic];
    if (!role) throw new LeechguardError('DET_ERR_INPUT_UNREADABLE', `unknown topic ${rec.topic}`);
    const key = keyOf(rec);
    const p = partitionOf(key, partitions);
    const offsetKey = p * 4 + ROLE_INDEX[role];
    const offset = offsets.get(offsetKey) ?? 0;
    offsets.set(offsetKey, offset + 1);
    let raised: Anomaly[];
    if (role === 'accounts') {
      raised = topology.process(p, { role, offset, key, value: rec.value as AccountPlan | null });
    } else if (rec.value === null) {
      return;
    } else if (role === 'requests') {
      raised = topology.process(p, { role, offset, value: rec.value as CdnRequest });
    } else {
      raised = topology.process(p, { role, offset, value: rec.value as PlayerHeartbeat });
    }
    for (const flag of raised) {
      flagCount++;
      idsByRule[flag.rule] ??= new Set();
      idsByRule[flag.rule]!.add(flag.id);
      if (collect) flags.push(flag);
      options.onFlag?.(flag);
    }
    if (recordsSeen % sweepEvery === 0) for (const q of topology.partitions.keys()) topology.sweep(q);
  };
  // Arrays are walked synchronously: no promise per record.
  if (Symbol.iterator in records) for (const rec of records as Iterable<TopicRecord>) one(rec);
  else for await (const rec of records) one(rec);
  let overflowKeys = 0;
  for (const state of topology.partitions.values()) overflowKeys += state.overflowKeys;
  const s = topology.stats;
  return {
    flags,
    summary: {
      records: recordsSeen,
      events: s.events,
      lateEvents: s.lateEvents,
      flags: flagCount,
      flagsByRule: Object.fromEntries(Object.entries(s.flags).filter(([r]) => FLAG_RULES.includes(r))),
      silencedByRule: Object.fromEntries(
        Object.entries(s.silenced).filter(([r, n]) => FLAG_RULES.includes(r) && n > 0),
      ),
      tenantSignals: Object.fromEntries(topology.tenantSignals()),
      signals: topology.signalsReport(),
      idsByRule: Object.fromEntries(Object.entries(idsByRule).map(([r, ids]) => [r, ids.size])),
      overflowEntries: s.overflowEntries,
      overflowKeys,
    },
  };
}

/** Reads one NDJSON line as a topic record (envelope or plain typed record). */
export function parseLine(line: string, where: string): TopicRecord {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch (cause) {
    throw new LeechguardError('DET_ERR_INPUT_UNREADABLE', `${where}: not JSON`, { cause });
  }
  if (typeof obj !== 'object' || obj === null) {
    throw new LeechguardError('DET_ERR_INPUT_UNREADABLE', `${where}: not an object`);
  }
  const o = obj as Record<string, unknown>;
  if (typeof o.topic === 'string' && 'value' in o) {
    return {
      topic: o.topic,
      value: o.value as TopicRecord['value'],
      ...(typeof o.key === 'string' ? { key: o.key } : {}),
    };
  }
  if ('streamLimit' in o) return { topic: TOPICS.accounts.name, value: o as unknown as AccountPlan };
  if ('path' in o && 'timestampMs' in o)
    return { topic: TOPICS.requests.name, value: o as unknown as CdnRequest };
  if ('event' in o && 'sessionId' in o)
    return { topic: TOPICS.heartbeats.name, value: o as unknown as PlayerHeartbeat };
  throw new LeechguardError(
    'DET_ERR_INPUT_UNREADABLE',
    `${where}: neither {topic, value} nor a CdnRequest / PlayerHeartbeat / AccountPlan`,
  );
}

/** Records of NDJSON files, in file order; `onBytes` reports progress. */
export async function* readNdjsonFiles(
  files: readonly string[],
  onBytes?: (bytes: number) => void,
): AsyncGenerator<TopicRecord> {
  for (const file of files) {
    const stream = createReadStream(file);
    if (onBytes) stream.on('data', (chunk) => onBytes(chunk.length));
    const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
    let n = 0;
    for await (const line of lines) {
      n++;
      if (line.trim() === '') continue;
      yield parseLine(line, `${file}:${n}`);
    }
  }
}

/** Total size of the files, bytes (for the progress bar). */
export function totalBytes(files: readonly string[]): number {
  return files.reduce((sum, f) => sum + statSync(f).size, 0);
}

/** The summary as a plain-text table. */
export function summaryTable(summary: BacktestSummary): string {
  const rows = Object.keys({ ...summary.flagsByRule, ...summary.idsByRule })
    .sort()
    .map((rule) => [
      rule,
      String(summary.idsByRule[rule] ?? 0),
      String(summary.flagsByRule[rule] ?? 0),
      String(summary.silencedByRule[rule] ?? 0),
    ]);
  const header = ['rule', 'flag ids', 'flags (incl. escalations)', 'events silenced (signal missing)'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    `records ${summary.records}  events ${summary.events}  late ${summary.lateEvents}  flags ${summary.flags}  overflow entries ${summary.overflowEntries}  overflow keys ${summary.overflowKeys}`,
    ...Object.entries(summary.tenantSignals).map(
      ([tenant, t]) =>
        `tenant ${tenant}: cdn-logs ${t.cdnLogsLastMs === null ? 'none' : 'yes'}, heartbeats ${t.heartbeatsLastMs === null ? 'none (heartbeat-dependent rules silent)' : 'yes'}`,
    ),
  ].join('\n');
}
