/**
 * The detector topology: records of the three co-partitioned inputs (accounts, heartbeats,
 * requests) go through every enabled rule against the partition's state, and flags come out
 * with deterministic ids and versions. Pure with respect to I/O and the clock: the same records
 * in the same order give the same state and the same flags, which is what makes recovery exact.
 * The Kafka runner, the backtest and the test driver all drive this one class.
 */
import type { Clock } from '../../core/clock.ts';
import { deterministicId } from '../../core/ids.ts';
import type {
  AccountPlan,
  Anomaly,
  CdnRequest,
  PlayerHeartbeat,
  Severity,
} from '../../core/schemas/generated.ts';
import { type DetectorConfig, RuleConfigs } from '../config.ts';
import { type AnyRule, RULES } from '../rules/index.ts';
import type { DetectorEvent, FlagDraft, RuleContext, RuleOutput, StateValue } from '../rules/kit.ts';
import type { SignalsConfig } from '../rules/signals/index.ts';
import { type InputRole, PartitionState, type TenantSeen } from './partition-state.ts';

/** One input record as the topology sees it. */
export type InputRecord =
  | { role: 'requests'; offset: number; value: CdnRequest }
  | { role: 'heartbeats'; offset: number; value: PlayerHeartbeat }
  | { role: 'accounts'; offset: number; key: string; value: AccountPlan | null };

/** Counters the runner exports as metrics (plain numbers: the topology knows no metrics library). */
export interface TopologyStats {
  events: number;
  lateEvents: number;
  /** Events stamped further ahead of the wall clock than maxFutureSkewMs: counted and dropped. */
  futureEvents: number;
  flags: Record<string, number>;
  /** Flag escalations past flagVersionsMax, not published. */
  flagVersionsCapped: number;
  /** Entries refused by a bounded map (entries per key). */
  overflowEntries: number;
  /** Events each rule did not judge for want of a signal (a CDN-logs-only tenant, heartbeats behind). */
  silenced: Record<string, number>;
}

/** Latest event time of each input per tenant over the partitions held (metrics, readiness). */
export interface TenantSignals {
  cdnLogsLastMs: number | null;
  heartbeatsLastMs: number | null;
}

/**
 * Tenants whose inputs a partition tracks (a bound on the meta written with each flush). A further
 * tenant is not tracked: it has no signals, so the rules that need heartbeats stay silent for it.
 * Sharing one entry among such tenants would lend a CDN-logs-only tenant another's heartbeats.
 */
const TENANTS_TRACKED_MAX = 1_000;

/** A published flag of one subject and window. */
interface FlagWindow {
  /** Window start, epoch ms. */
  w: number;
  /** Flag id (hashed once, when first published). */
  id: string;
  /** Last published version. */
  v: number;
  /** Highest observed value published. */
  o: number;
  /** Severity rank published. */
  s: number;
  /** Expires at (window end + lateness), epoch ms. */
  e: number;
}

/**
 * The flags of one rule + subject kind on one subject key, per window still open to late events:
 * a non-escalating draft is recognised without hashing its id.
 */
interface FlagState extends StateValue {
  f: FlagWindow[];
}

interface PlanState extends StateValue {
  p: AccountPlan;
}

/** Returned when an event raised nothing (most events): one shared, frozen array. */
const NO_FLAGS: Anomaly[] = Object.freeze([]) as unknown as Anomaly[];

const SEVERITIES: readonly Severity[] = ['low', 'medium', 'high', 'critical'];

/** Severity from how far past the threshold the observed value is. */
export function severityOf(observed: number, threshold: number): Severity {
  const ratio = threshold > 0 ? observed / threshold : Number.POSITIVE_INFINITY;
  if (ratio <= 1.5) return 'low';
  if (ratio <= 2) return 'medium';
  if (ratio <= 4) return 'high';
  return 'critical';
}

/** Deterministic flag id: rule + subject kind + subject key + window start. */
export function flagId(rule: string, subjectKind: string, subjectKey: string, windowStartMs: number): string {
  return deterministicId(rule, subjectKind, subjectKey, windowStartMs);
}

/** Namespace of the plans from the accounts topic (key: account id). */
export const PLANS_NS = 'plan';
/** Namespace prefix of published flags (`flag/<rule>/<subject kind>`, key: subject key). */
export const FLAGS_NS = 'flag';

export class Topology {
  readonly config: DetectorConfig;
  readonly ruleConfigs: RuleConfigs;
  readonly partitions = new Map<number, PartitionState>();
  readonly stats: TopologyStats;
  /** The tenant entry of the last event (see tenantSeen). */
  private lastSeen: { meta: PartitionState['meta']; tenant: string; seen: TenantSeen } | undefined;
  private readonly rules: readonly AnyRule[];
  private readonly out: RuleOutput = { changes: [], flags: [], overflow: 0, silenced: 0 };
  /** Index of the signals rule in `rules`, or -1 (then every rule judges every tenant). */
  private readonly signalsIndex: number;
  /** Per rule (in rule order): true when it judges only tenants that send heartbeats. */
  private readonly needsHeartbeats: readonly boolean[];
  /** Per rule: true when it judges only tenants without heartbeats (a stand-in for the above). */
  private readonly needsNoHeartbeats: readonly boolean[];
  /** The configs of the last event's tenant + plan (consecutive events mostly share them). */
  private lastConfigs:
    | { tenant: string; planId: string; configs: ReadonlyArray<{ enabled: boolean }> }
    | undefined;

  /** Flag namespaces per rule and subject kind, built once. */
  private readonly flagNamespaces = new Map<string, Map<string, string>>();
  /** The partition of the event being processed (for `wouldFlag`). */
  private current: PartitionState | undefined;
  /** Bound once: rules call it through their context. */
  private readonly wouldFlag: RuleContext['wouldFlag'] = (
    rule,
    kind,
    key,
    windowStartMs,
    observed,
    threshold,
    on,
  ) => {
    const stored = this.current?.get<FlagState>(this.flagNs(rule, kind), key);
    const prev = stored?.f.find((f) => f.w === windowStartMs);
    if (!prev) return true;
    const escalates =
      on === 'severity' ? SEVERITIES.indexOf(severityOf(observed, threshold)) > prev.s : observed > prev.o;
    if (!escalates) return false;
    if (prev.v >= this.config.detector.flagVersionsMax) {
      this.stats.flagVersionsCapped++;
      return false;
    }
    return true;
  };
  /**
   * The rules' context, one object refilled per event: rules read it during their call only
   * (evidence is built before process returns), so no event needs its own.
   */
  private readonly ctx: { -readonly [K in keyof RuleContext]: RuleContext[K] };
  private readonly wallClock: Clock | undefined;
  /** Rule configs (in rule order) per tenant + plan. */
  private readonly configsByPlan = new Map<string, Map<string, ReadonlyArray<{ enabled: boolean }>>>();

  /**
   * `wallClock`: the live runner's clock. With it, an event stamped more than
   * detector.maxFutureSkewMs ahead is dropped instead of moving the partition's watermark (a CDN
   * with a wrong clock, or a forged heartbeat, would otherwise make every session of the partition
   * look stale). Backtests replay any time range and pass none.
   */
  /** Lateness of the sources configured apart from allowedLatenessMs, ms. */
  private readonly latenessBySource: ReadonlyMap<string, number>;
  /** The longest lateness of any source: how long state and flag windows stay open to late events, ms. */
  private readonly latenessMaxMs: number;

  constructor(config: DetectorConfig, rules: readonly AnyRule[] = RULES, wallClock?: Clock) {
    this.config = config;
    this.wallClock = wallClock;
    this.ruleConfigs = new RuleConfigs(config);
    this.rules = rules;
    this.signalsIndex = rules.findIndex((r) => r.name === 'signals');
    this.ctx = {
      nowMs: 0,
      heartbeatNowMs: 0,
      plan: this.ruleConfigs.defaultPlan('', ''),
      entriesPerKeyMax: config.detector.entriesPerKeyMax,
      wouldFlag: this.wouldFlag,
    };
    this.needsHeartbeats = rules.map((r) => r.requires?.includes('heartbeats') === true);
    this.needsNoHeartbeats = rules.map((r) => r.requires?.includes('no-heartbeats') === true);
    const bySource = config.detector.allowedLatenessBySourceMs;
    this.latenessBySource = new Map(Object.entries(bySource));
    this.latenessMaxMs = Math.max(config.detector.allowedLatenessMs, ...Object.values(bySource));
    this.stats = {
      events: 0,
      lateEvents: 0,
      futureEvents: 0,
      flags: Object.fromEntries(rules.map((r) => [r.name, 0])),
      flagVersionsCapped: 0,
      overflowEntries: 0,
      silenced: Object.fromEntries(rules.map((r) => [r.name, 0])),
    };
  }

  /** Latest event time of each input per tenant, over the partitions held. */
  tenantSignals(): Map<string, TenantSignals> {
    const out = new Map<string, TenantSignals>();
    for (const state of this.partitions.values()) {
      for (const [tenant, seen] of Object.entries(state.meta.signals ?? {})) {
        const t = out.get(tenant) ?? { cdnLogsLastMs: null, heartbeatsLastMs: null };
        if (seen.c !== null && (t.cdnLogsLastMs === null || seen.c > t.cdnLogsLastMs))
          t.cdnLogsLastMs = seen.c;
        if (seen.h !== null && (t.heartbeatsLastMs === null || seen.h > t.heartbeatsLastMs))
          t.heartbeatsLastMs = seen.h;
        out.set(tenant, t);
      }
    }
    return out;
  }

  /**
   * Per tenant: the inputs seen within the signals rule's window of the tenant's latest event,
   * and the rules silenced for want of one (what /readyz and the quality report show).
   */
  signalsReport(): Record<string, { cdnLogs: boolean; heartbeats: boolean; silencedRules: string[] }> {
    const heartbeatRules = this.rules.filter((_, i) => this.needsHeartbeats[i]).map((r) => r.name);
    const standIns = this.rules.filter((_, i) => this.needsNoHeartbeats[i]).map((r) => r.name);
    const out: Record<string, { cdnLogs: boolean; heartbeats: boolean; silencedRules: string[] }> = {};
    for (const [tenant, t] of this.tenantSignals()) {
      const withinMs = this.presentWithinMs(tenant);
      const latest = Math.max(t.cdnLogsLastMs ?? 0, t.heartbeatsLastMs ?? 0);
      const heartbeats = t.heartbeatsLastMs !== null && t.heartbeatsLastMs >= latest - withinMs;
      out[tenant] = {
        cdnLogs: t.cdnLogsLastMs !== null && t.cdnLogsLastMs >= latest - withinMs,
        heartbeats,
        silencedRules: heartbeats ? standIns : heartbeatRules,
      };
    }
    return out;
  }

  /** How recent an input must be to count as present for the tenant, ms (no signals rule: always). */
  private presentWithinMs(tenant: string): number {
    if (this.signalsIndex < 0) return Number.POSITIVE_INFINITY;
    const c = this.ruleConfigs.get<SignalsConfig>('signals', tenant, '\u0000');
    return c.enabled ? c.presentWithinMs : Number.POSITIVE_INFINITY;
  }

  /** The partition's entry of the tenant's inputs, created when new (bounded: see TENANTS_TRACKED_MAX). */
  private tenantSeen(state: PartitionState, tenant: string): TenantSeen {
    // Consecutive events mostly share partition and tenant: the last answer, without a lookup.
    const last = this.lastSeen;
    if (last !== undefined && last.meta === state.meta && last.tenant === tenant) return last.seen;
    const seen = this.tenantSeenLookup(state, tenant);
    // Only a tracked entry is kept at hand: an untracked tenant's is new on every event, so its
    // rules that need heartbeats are silent whatever events come between.
    if (state.meta.signals?.[tenant] === seen) this.lastSeen = { meta: state.meta, tenant, seen };
    return seen;
  }

  private tenantSeenLookup(state: PartitionState, tenant: string): TenantSeen {
    state.meta.signals ??= {};
    const all = state.meta.signals;
    let seen = all[tenant];
    if (seen === undefined) {
      seen = { c: null, h: null };
      if (Object.keys(all).length < TENANTS_TRACKED_MAX) all[tenant] = seen;
    }
    return seen;
  }

  /** The partition's state, created empty when new. */
  partition(partition: number): PartitionState {
    let p = this.partitions.get(partition);
    if (!p) {
      p = new PartitionState(partition, this.config.detector.stateKeysPerPartitionMax);
      this.partitions.set(partition, p);
    }
    return p;
  }

  /** Installs a partition loaded from the durable store. */
  adopt(state: PartitionState): void {
    this.partitions.set(state.partition, state);
  }

  drop(partition: number): void {
    this.partitions.delete(partition);
  }

  /** Longest look-back a rebuild re-reads, ms. */
  recoveryLookbackMs(): number {
    return (
      this.config.detector.recoveryLookbackMs ?? this.ruleConfigs.longestHorizonMs() + this.latenessMaxMs
    );
  }

  /** Processes one record of `partition`; returns the flags it raised (new ids or escalations). */
  process(partition: number, record: InputRecord): Anomaly[] {
    const state = this.partition(partition);
    if (record.offset >= 0) state.meta.offsets[record.role as InputRole] = record.offset + 1;
    if (record.role === 'accounts') {
      state.set(PLANS_NS, record.key, record.value ? ({ x: 0, p: record.value } as PlanState) : undefined);
      return NO_FLAGS;
    }
    const value = record.value;
    const atMs = value.timestampMs;
    // Most deployments give no source a lateness of its own: no lookup per event then.
    const lateness =
      this.latenessBySource.size === 0
        ? this.config.detector.allowedLatenessMs
        : (this.latenessBySource.get(value.source) ?? this.config.detector.allowedLatenessMs);
    if (atMs < state.meta.watermarkMs - lateness) {
      this.stats.lateEvents++;
      return NO_FLAGS;
    }
    if (
      this.wallClock !== undefined &&
      atMs > state.meta.watermarkMs &&
      atMs > this.wallClock.nowMs() + this.config.detector.maxFutureSkewMs
    ) {
      this.stats.futureEvents++;
      return NO_FLAGS;
    }
    if (atMs > state.meta.watermarkMs) state.meta.watermarkMs = atMs;
    this.stats.events++;
    const event: DetectorEvent =
      record.role === 'requests'
        ? { kind: 'request', value: record.value }
        : { kind: 'heartbeat', value: record.value };
    const accountId = value.accountId;
    const plan =
      (accountId === null ? undefined : state.get<PlanState>(PLANS_NS, accountId)?.p) ??
      this.ruleConfigs.defaultPlan(value.tenant, accountId ?? '');
    this.current = state;
    const configs = this.configsFor(value.tenant, plan.planId);
    // What the tenant sends, read before this event is counted: a heartbeat is its own evidence
    // that heartbeats flow.
    const seen = this.tenantSeen(state, value.tenant);
    const hbNowMs = event.kind === 'heartbeat' ? Math.max(atMs, seen.h ?? atMs) : seen.h;
    const signalsConfig =
      this.signalsIndex >= 0 ? (configs[this.signalsIndex] as SignalsConfig | undefined) : undefined;
    // Without the signals rule every rule judges every tenant, stand-ins included.
    const heartbeatsSeen =
      signalsConfig?.enabled === true && hbNowMs !== null && hbNowMs >= atMs - signalsConfig.presentWithinMs;
    const heartbeatsPresent = heartbeatsSeen || signalsConfig?.enabled !== true;
    if (event.kind === 'heartbeat') seen.h = hbNowMs;
    else if (seen.c === null || atMs > seen.c) seen.c = atMs;
    const ctx = this.ctx;
    ctx.nowMs = state.meta.watermarkMs;
    ctx.heartbeatNowMs = hbNowMs ?? state.meta.watermarkMs;
    ctx.plan = plan;
    const out = this.out;
    // A rule that threw on the previous event may have left its output: start clean.
    if (out.changes.length !== 0 || out.flags.length !== 0) {
      out.changes.length = 0;
      out.flags.length = 0;
    }
    out.overflow = 0;
    out.silenced = 0;
    let flags: Anomaly[] | undefined;
    for (let i = 0; i < this.rules.length; i++) {
      const rule = this.rules[i]!;
      const config = configs[i]!;
      if (!config.enabled) continue;
      if (!heartbeatsPresent && this.needsHeartbeats[i]) {
        this.stats.silenced[rule.name] = (this.stats.silenced[rule.name] ?? 0) + 1;
        continue;
      }
      if (heartbeatsSeen && this.needsNoHeartbeats[i]) continue;
      rule.apply(state, event, config, ctx, out);
      // Most calls change one value or none and raise nothing: each part is reset only when used
      // (setting an array's length is not free, and this runs per rule per event).
      const changes = out.changes;
      if (changes.length !== 0) {
        for (let c = 0; c < changes.length; c++) {
          const change = changes[c]!;
          state.set(change.ns, change.key, change.value);
        }
        // One change is the common case, and pop is cheaper than the length setter.
        if (changes.length === 1) changes.pop();
        else changes.length = 0;
      }
      if (out.overflow !== 0) {
        this.stats.overflowEntries += out.overflow;
        out.overflow = 0;
      }
      if (out.silenced !== 0) {
        this.stats.silenced[rule.name] = (this.stats.silenced[rule.name] ?? 0) + out.silenced;
        out.silenced = 0;
      }
      if (out.flags.length === 0) continue;
      const drafts = out.flags.splice(0);
      for (const draft of drafts) {
        const flag = this.finalize(state, draft);
        if (!flag) continue;
        if (signalsConfig !== undefined) {
          const within = signalsConfig.presentWithinMs;
          flag.evidence.signals = [
            ...(seen.c !== null && seen.c >= atMs - within ? ['cdn-logs'] : []),
            ...(seen.h !== null && seen.h >= atMs - within ? ['heartbeats'] : []),
          ];
        }
        if (flags) flags.push(flag);
        else flags = [flag];
      }
    }
    return flags ?? NO_FLAGS;
  }

  private configsFor(tenant: string, planId: string): ReadonlyArray<{ enabled: boolean }> {
    const last = this.lastConfigs;
    if (last !== undefined && last.tenant === tenant && last.planId === planId) return last.configs;
    const configs = this.configsLookup(tenant, planId);
    this.lastConfigs = { tenant, planId, configs };
    return configs;
  }

  private configsLookup(tenant: string, planId: string): ReadonlyArray<{ enabled: boolean }> {
    let byPlan = this.configsByPlan.get(tenant);
    if (!byPlan) {
      byPlan = new Map();
      this.configsByPlan.set(tenant, byPlan);
    }
    let configs = byPlan.get(planId);
    if (!configs) {
      configs = this.rules.map((r) => this.ruleConfigs.get(r.name, tenant, planId));
      byPlan.set(planId, configs);
    }
    return configs;
  }

  /** Sweeps expired state of every partition (keeps allowed lateness as a margin). */
  sweep(partition: number): number {
    const state = this.partitions.get(partition);
    if (!state) return 0;
    return state.sweep(state.meta.watermarkMs - this.latenessMaxMs);
  }

  /** One flag per subject and window: version 1 first, version + 1 on escalation, else nothing. */
  private flagNs(rule: string, kind: string): string {
    let byKind = this.flagNamespaces.get(rule);
    if (!byKind) {
      byKind = new Map();
      this.flagNamespaces.set(rule, byKind);
    }
    let ns = byKind.get(kind);
    if (!ns) {
      ns = `${FLAGS_NS}/${rule}/${kind}`;
      byKind.set(kind, ns);
    }
    return ns;
  }

  private finalize(state: PartitionState, draft: FlagDraft): Anomaly | null {
    const ns = this.flagNs(draft.rule, draft.subjectKind);
    const key = draft.idKey ?? draft.subjectKey;
    const stored = state.get<FlagState>(ns, key);
    const prev = stored?.f.find((f) => f.w === draft.windowStartMs);
    const severity = severityOf(draft.observed, draft.threshold);
    const rank = SEVERITIES.indexOf(severity);
    let version = 1;
    if (prev) {
      const escalates = draft.escalateOn === 'severity' ? rank > prev.s : draft.observed > prev.o;
      if (!escalates) return null;
      if (prev.v >= this.config.detector.flagVersionsMax) {
        this.stats.flagVersionsCapped++;
        return null;
      }
      version = prev.v + 1;
    }
    const id = prev?.id ?? flagId(draft.rule, draft.subjectKind, key, draft.windowStartMs);
    const expiresMs = draft.windowEndMs + this.latenessMaxMs;
    const next: FlagWindow = {
      w: draft.windowStartMs,
      id,
      v: version,
      o: Math.max(draft.observed, prev?.o ?? 0),
      s: Math.max(rank, prev?.s ?? 0),
      e: expiresMs,
    };
    // Keep every window a late event may still reach (bounded); older ones are past lateness.
    const others = (stored?.f ?? []).filter(
      (f) => f.w !== draft.windowStartMs && f.e >= state.meta.watermarkMs,
    );
    others.sort((a, b) => b.w - a.w);
    const f = [next, ...others.slice(0, this.config.detector.entriesPerKeyMax - 1)];
    state.set(ns, key, { x: Math.max(...f.map((w) => w.e)), f } as FlagState);
    this.stats.flags[draft.rule] = (this.stats.flags[draft.rule] ?? 0) + 1;
    return {
      id,
      version,
      rule: draft.rule,
      subjectKind: draft.subjectKind,
      subjectKey: draft.subjectKey,
      tenant: draft.tenant,
      accountId: draft.accountId,
      tokenHash: draft.tokenHash,
      tokenExpiresAtMs: draft.tokenExpiresAtMs,
      evictSessionId: draft.evictSessionId,
      severity,
      threshold: draft.threshold,
      observed: draft.observed,
      windowStartMs: draft.windowStartMs,
      windowEndMs: draft.windowEndMs,
      detectedAtMs: draft.detectedAtMs,
      triggerEventId: draft.triggerEventId,
      evidence: typeof draft.evidence === 'function' ? draft.evidence() : draft.evidence,
    };
  }
}
