/**
 * The detector's one config schema: Kafka / registry endpoints, the consumer and state store,
 * rule thresholds (defaults), per-tenant and per-plan rule overrides, and the default plan of
 * accounts not (yet) on the accounts topic. Validated at boot, unknown keys rejected, frozen.
 */
import { z } from 'zod';
import { httpSection, kafkaSection, logSection, registrySection } from '../core/config.ts';
import { LeechguardError } from '../core/errors.ts';
import { LIMITS } from '../core/limits.ts';
import { concurrencyGroupSchema } from '../core/plans.ts';
import type { AccountPlan } from '../core/schemas/generated.ts';
import { TOPICS } from '../core/topics.ts';
import { type AnyRule, RULES } from './rules/index.ts';

export const planSchema = z
  .object({
    planId: z.string().min(1).default('default'),
    /** Concurrent streams an account on this plan may play. */
    streamLimit: z.number().int().positive().default(2),
    perTitleLimit: z.number().int().positive().nullable().default(null),
    concurrencyGroups: z.array(concurrencyGroupSchema).default([]),
  })
  .strict();
export type PlanDefaults = z.infer<typeof planSchema>;

/** Partial rule configs by rule name, validated against each rule's schema at boot. */
const ruleOverrides = z.record(z.string(), z.record(z.string(), z.unknown()));

const tenantSchema = z
  .object({
    /** Plan of this tenant's accounts that are not on the accounts topic. */
    defaultPlan: planSchema.partial().optional(),
    /** Rule overrides for every account of the tenant. */
    rules: ruleOverrides.default({}),
    /** Rule overrides per plan id (applied after the tenant's). */
    plans: z.record(z.string(), ruleOverrides).default({}),
  })
  .strict();

const rulesSection = z
  .object(
    Object.fromEntries(RULES.map((r) => [r.name, r.configSchema.prefault({})])) as Record<
      string,
      z.ZodType<{ enabled: boolean }>
    >,
  )
  .strict();

export const detectorSection = z
  .object({
    /** Consumer group. Offsets live in RocksDB beside the state; Kafka's copy is informational. */
    groupId: z.string().min(1).default('leechguard-detector'),
    /** RocksDB folder (one instance per process, state per partition under a key prefix). */
    stateDir: z.string().min(1).default('.leechguard/detector-state'),
    /** Topic names (tests and staging use their own). */
    topics: z
      .object({
        requests: z.string().default(TOPICS.requests.name),
        heartbeats: z.string().default(TOPICS.heartbeats.name),
        accounts: z.string().default(TOPICS.accounts.name),
        anomalies: z.string().default(TOPICS.anomalies.name),
      })
      .strict()
      .prefault({}),
    /** Events older than the partition watermark minus this are late: counted and dropped, ms. */
    allowedLatenessMs: z
      .number()
      .int()
      .nonnegative()
      .default(5 * 60_000),
    /**
     * Lateness by log source (the records' `source`), for a source known to deliver behind the
     * others (a CDN whose logs arrive in 10-minute files), ms. Its events are judged late against
     * this instead of allowedLatenessMs; state is kept for the longest lateness configured.
     */
    allowedLatenessBySourceMs: z.record(z.string().min(1), z.number().int().nonnegative()).default({}),
    /**
     * Events stamped further ahead of the detector's clock than this are counted and dropped, so a
     * wrong CDN clock or a forged heartbeat cannot move a partition's watermark into the future, ms.
     */
    maxFutureSkewMs: z.number().int().positive().default(LIMITS.detectorMaxFutureSkewMs),
    /** Time between two state flushes (offsets with state, one atomic batch), ms. */
    flushIntervalMs: z.number().int().positive().default(LIMITS.detectorFlushIntervalMs),
    /** Dirty keys that trigger a flush before the interval (bounded write-behind batches). */
    flushKeysMax: z.number().int().positive().default(LIMITS.detectorFlushKeysMax),
    stateKeysPerPartitionMax: z.number().int().positive().default(LIMITS.detectorStateKeysPerPartitionMax),
    entriesPerKeyMax: z.number().int().positive().default(LIMITS.detectorEntriesPerKeyMax),
    bufferedRecordsMax: z.number().int().positive().default(LIMITS.detectorBufferedRecordsMax),
    flagVersionsMax: z.number().int().positive().default(LIMITS.detectorFlagVersionsMax),
    /** Rebuild look-back when RocksDB lost a partition, ms; default: longest rule horizon + lateness. */
    recoveryLookbackMs: z.number().int().positive().optional(),
    /** Consumer session timeout, ms (a killed detector's partitions move after this). */
    sessionTimeoutMs: z.number().int().min(6_000).default(10_000),
    /** Most bytes one fetch returns per partition (smaller: smoother back-pressure). */
    fetchMaxBytesPerPartition: z
      .number()
      .int()
      .positive()
      .default(1024 * 1024),
    /** fsync every state batch (survives a machine crash, not only a process crash). */
    syncWrites: z.boolean().default(false),
  })
  .strict();

export const detectorConfigSchema = z
  .object({
    kafka: kafkaSection.prefault({}),
    registry: registrySection.prefault({}),
    log: logSection.prefault({}),
    http: httpSection(9102).prefault({}),
    detector: detectorSection.prefault({}),
    rules: rulesSection.prefault({}),
    defaultPlan: planSchema.prefault({}),
    tenants: z.record(z.string(), tenantSchema).default({}),
  })
  .strict();

export type DetectorConfig = z.infer<typeof detectorConfigSchema>;

/** Parses a (partial) detector config with defaults, for tests, backtest and `leechguard all`. */
export function detectorConfig(input: unknown = {}): DetectorConfig {
  const parsed = detectorConfigSchema.parse(input);
  new RuleConfigs(parsed); // validates every override at boot
  return parsed;
}

/**
 * Rule configs after overrides: defaults < tenant < tenant's plan. Every combination named in
 * the config is validated at construction (unknown rule or key: DET_ERR_RULE_CONFIG_INVALID).
 */
export class RuleConfigs {
  private readonly config: DetectorConfig;
  private readonly cache = new Map<string, { enabled: boolean }>();
  private readonly byName = new Map<string, AnyRule>(RULES.map((r) => [r.name, r]));
  private readonly plans = new Map<string, PlanDefaults>();

  constructor(config: DetectorConfig) {
    this.config = config;
    for (const [tenant, t] of Object.entries(config.tenants)) {
      for (const name of Object.keys(t.rules)) this.resolve(name, tenant, '\u0000');
      for (const [planId, rules] of Object.entries(t.plans)) {
        for (const name of Object.keys(rules)) this.resolve(name, tenant, planId);
      }
    }
  }

  /** Config of `rule` for an account of `tenant` on `planId`. */
  get<C extends { enabled: boolean }>(rule: string, tenant: string, planId: string): C {
    const key = `${rule}\u001f${tenant}\u001f${planId}`;
    let c = this.cache.get(key);
    if (!c) {
      c = this.resolve(rule, tenant, planId);
      this.cache.set(key, c);
    }
    return c as C;
  }

  /** The plan of an account that is not on the accounts topic. */
  defaultPlan(tenant: string, accountId: string): AccountPlan {
    let base = this.plans.get(tenant);
    if (!base) {
      base = { ...this.config.defaultPlan, ...(this.config.tenants[tenant]?.defaultPlan ?? {}) };
      this.plans.set(tenant, base);
    }
    return { accountId, tenant, updatedAtMs: 0, ...base };
  }

  private resolve(name: string, tenant: string, planId: string): { enabled: boolean } {
    const rule = this.byName.get(name);
    if (!rule)
      throw new LeechguardError('DET_ERR_RULE_CONFIG_INVALID', `unknown rule ${name} (tenant ${tenant})`);
    const t = this.config.tenants[tenant];
    const merged = {
      ...(this.config.rules[name] as object),
      ...(t?.rules[name] ?? {}),
      ...(t?.plans[planId]?.[name] ?? {}),
    };
    const result = rule.configSchema.safeParse(merged);
    if (!result.success) {
      const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
      throw new LeechguardError(
        'DET_ERR_RULE_CONFIG_INVALID',
        `${name} for tenant ${tenant} plan ${planId}: ${problems.join('; ')}`,
      );
    }
    return Object.freeze(result.data);
  }

  /** Longest state horizon over every rule and override, ms: what a rebuild must re-read. */
  longestHorizonMs(): number {
    let max = 0;
    const combos: Array<[string, string]> = [['', '']];
    for (const [tenant, t] of Object.entries(this.config.tenants)) {
      combos.push([tenant, '']);
      for (const planId of Object.keys(t.plans)) combos.push([tenant, planId]);
    }
    for (const rule of RULES) {
      for (const [tenant, planId] of combos)
        max = Math.max(max, rule.horizonMs(this.get(rule.name, tenant, planId)));
    }
    return max;
  }
}
