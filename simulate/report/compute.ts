/**
 * Detection quality against ground truth: per rule and overall precision, recall of abusive
 * accounts, false-positive rate among legitimate accounts, and time from abuse start to the
 * first flag and to the first revocation (p50 / p99). Pure: truth + flags + revocations in,
 * numbers and plain-language shortfalls out.
 */
import type { Anomaly, Revocation } from '../../core/schemas/generated.ts';
import type { Truth, TruthAccount } from '../model.ts';

/** The issue's targets: precision ≥ 99.9 %, recall ≥ 99 %, p99 abuse-to-revocation < 60 s. */
export const TARGETS = { precision: 0.999, recall: 0.99, revocationP99Ms: 60_000 } as const;

/** Accounts listed per shortfall at most (the rest are counted). */
const EXAMPLES_MAX = 10;

export interface Percentiles {
  n: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

export interface AccountRef {
  accountId: string;
  class: string;
}

export interface RuleQuality {
  rule: string;
  flaggedAccounts: number;
  truePositives: number;
  falsePositives: number;
  precision: number | null;
  /** Abusive accounts whose class this rule is expected to catch, in tenants that send what it needs. */
  expected: number;
  /** Abusive accounts of such classes in tenants without a signal the rule needs (it stays silent there). */
  notJudgeable: number;
  /** Of those, flagged by this rule. */
  caught: number;
  recall: number | null;
  falsePositiveRate: number;
  timeToFlag: Percentiles;
  falsePositiveByClass: Record<string, number>;
  missedByClass: Record<string, number>;
  falsePositiveExamples: AccountRef[];
  missedExamples: AccountRef[];
}

export interface ClassQuality {
  class: string;
  label: 'legit' | 'abuser';
  accounts: number;
  flagged: number;
  revoked: number;
  /** Accounts of this class flagged by each rule. */
  byRule: Record<string, number>;
}

export interface QualityReport {
  inputs: {
    viewers: number;
    abusers: number;
    legit: number;
    flags: number;
    distinctFlags: number;
    revocations: number;
    /** Flags / revocations that name no account of the truth (kept out of the figures, counted here). */
    unattributedFlags: number;
    unattributedRevocations: number;
  };
  overall: {
    flaggedAccounts: number;
    truePositives: number;
    falsePositives: number;
    falseNegatives: number;
    precision: number | null;
    recall: number | null;
    falsePositiveRate: number;
    revokedAbusers: number;
    revokedLegit: number;
    timeToFlag: Percentiles;
    timeToRevocation: Percentiles;
    /**
     * Revocation issue time minus the event time of the request that crossed the threshold (its
     * flag's detectedAtMs), over revocations naming a known flag. A wall-clock pipeline delay when
     * the traffic was played live at speed 1 (event time = send time).
     */
    triggerToRevocation: Percentiles;
  };
  rules: RuleQuality[];
  classes: ClassQuality[];
  /**
   * Per tenant, the inputs the detector had and the rules silent for want of one; and the abusive
   * accounts whose every expected rule needs a signal their tenant does not send.
   */
  signals: {
    tenants: Record<string, { cdnLogs: boolean; heartbeats: boolean; silencedRules: string[] }>;
    abusersWithoutSignals: number;
  };
  /** Where a figure falls short of its target: which rule, and why, in sentences. */
  shortfalls: string[];
  meets: { precision: boolean; recall: boolean; revocationP99: boolean | null };
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: ReadonlyArray<number>, p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

function percentiles(values: number[]): Percentiles {
  const sorted = values.slice().sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.length ? (sorted[sorted.length - 1] as number) : null,
  };
}

function ratio(num: number, den: number): number | null {
  return den === 0 ? null : num / den;
}

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

/** Resolves the account a flag or revocation is about: its accountId, else its subject. */
function resolver(
  truth: Truth,
): (accountId: string | null, kind: string, key: string, tokenHash: string | null) => TruthAccount | null {
  const byId = new Map(truth.accounts.map((a) => [a.accountId, a]));
  const byToken = new Map<string, TruthAccount>();
  for (const a of truth.accounts) for (const h of a.tokenHashes) byToken.set(h, a);
  return (accountId, kind, key, tokenHash) => {
    if (accountId && byId.has(accountId)) return byId.get(accountId) ?? null;
    if (tokenHash && byToken.has(tokenHash)) return byToken.get(tokenHash) ?? null;
    if (kind === 'account') return byId.get(key) ?? null;
    if (kind === 'token') return byToken.get(key) ?? null;
    if (kind === 'segment') return byId.get(key.split('|')[0] ?? '') ?? null;
    return null;
  };
}

/** What each legitimate class does that a rule must leave room for (the "why" of a false positive). */
export const LEGIT_PATTERN: Record<string, string> = {
  household: 'a household on home wifi plus phones on 4G, within its plan',
  commuter: 'a phone changing cells: up to three /24s of one carrier in one session',
  cgnat: 'carrier-grade NAT: many accounts behind the same /24 (and even the same address)',
  traveller: 'one border crossed by train, sessions 13–15 minutes apart',
  vpn: 'one device behind a commercial VPN: one hosting ASN, within the plan',
  'family-abroad': 'a family member abroad on the family plan: two countries at once, within the plan',
  'ipv6-privacy':
    'an IPv6 home: RFC 8981 temporary addresses rotating inside one /64 of its /56, the TV on the same line over IPv4',
  'mobile-carrier':
    "a mobile-only viewer: a new CGNAT address from anywhere in the carrier's pool at each reconnection",
  'shared-network':
    'an office, campus or hotel: tens of unrelated accounts behind one address or a small NAT pool',
  'vpn-switcher':
    'a consumer VPN changing exit server (and country) mid-session, sometimes dropping to the home line',
  'border-household':
    "a border household: home wifi in one country, a member's phone on the neighbouring country's mobile network, handing over between them",
  'roaming-traveller':
    'a traveller abroad alternating between hotel wifi (visited country) and home-routed roaming (home country)',
  'satellite-home':
    "a Starlink home geolocated to the neighbouring country's PoP, phones on the domestic mobile network",
  'in-flight':
    "a passenger on in-flight wifi geolocated to the provider's country while the family watches at home",
  'flight-traveller':
    "a flight between two countries: the origin, maybe the aircraft's wifi, then the destination hotel hours later",
  'corporate-vpn':
    "a remote worker's laptop on a full-tunnel corporate VPN: the company's shared egress, often in another country, then the home line",
  'screen-switcher':
    'one programme moved between screens: the screen left behind sends no stop, the next starts 5–60 s later',
};

/** What each abuse class shows that its expected rules should catch (the "why" of a miss). */
const ABUSE_SIGNAL: Record<string, string> = {
  'token-resale': 'one token on 100+ networks in ~20 countries, fetching the same segments',
  restream: '6–10 hosting-ASN relays fetching every segment within a second of each other',
  'credential-sharing': 'more heartbeat sessions at once than the plan allows, from several cities',
  bot: 'segments pulled 6–12x faster than real time',
  'no-session': 'segments with CMCD but no heartbeat session ever',
  'cat-replay': 'a catreplay=1 Common Access Token used again from other homes',
};

function describeCounts(counts: Record<string, number>): string {
  return Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}

function pct(x: number | null): string {
  return x === null ? 'n/a' : `${(x * 100).toFixed(2)} %`;
}

/**
 * The quality report. Flags are deduplicated by id (an escalation re-publishes the same id; the
 * earliest detection counts); revocations in state lifted still count as issued.
 */
/** What the detector reported about signals, for a report that knows what each rule could see. */
export interface SignalsInput {
  /** Signals each rule needs (the detector's `requires`), by rule name. */
  ruleSignals: Record<string, readonly string[]>;
  /** The detector's per-tenant report (backtest summary / readiness details). */
  tenants: Record<string, { cdnLogs: boolean; heartbeats: boolean; silencedRules: string[] }>;
}

export function buildReport(
  truth: Truth,
  flags: ReadonlyArray<Anomaly>,
  revocations: ReadonlyArray<Revocation> = [],
  signals?: SignalsInput,
): QualityReport {
  const resolve = resolver(truth);
  // A rule can be expected to catch an abuser only in a tenant that sends what the rule needs.
  const tenantHeartbeats = (tenant: string): boolean =>
    signals?.tenants[tenant]?.heartbeats ?? truth.deployment?.tenants[tenant]?.heartbeats ?? true;
  const judgeable = (a: TruthAccount, rule: string): boolean => {
    const needs = signals?.ruleSignals[rule] ?? [];
    if (needs.includes('heartbeats')) return tenantHeartbeats(a.tenant);
    // A stand-in for the heartbeat rules judges only where heartbeats are missing.
    if (needs.includes('no-heartbeats')) return !tenantHeartbeats(a.tenant);
    return true;
  };
  const distinct = new Map<string, Anomaly>();
  for (const f of flags) {
    const seen = distinct.get(f.id);
    if (!seen || f.detectedAtMs < seen.detectedAtMs) distinct.set(f.id, f);
  }

  // account -> rule -> earliest detection
  const flagged = new Map<string, Map<string, number>>();
  let unattributedFlags = 0;
  const rulesSeen = new Set<string>();
  for (const f of distinct.values()) {
    rulesSeen.add(f.rule);
    const a = resolve(f.accountId, f.subjectKind, f.subjectKey, f.tokenHash);
    if (!a) {
      unattributedFlags++;
      continue;
    }
    let byRule = flagged.get(a.accountId);
    if (!byRule) {
      byRule = new Map();
      flagged.set(a.accountId, byRule);
    }
    const prev = byRule.get(f.rule);
    if (prev === undefined || f.detectedAtMs < prev) byRule.set(f.rule, f.detectedAtMs);
  }

  const triggerDelays: number[] = [];
  for (const r of revocations) {
    const f = r.anomalyId ? distinct.get(r.anomalyId) : undefined;
    if (f) triggerDelays.push(Math.max(0, r.issuedAtMs - f.detectedAtMs));
  }
  const revokedAt = new Map<string, number>();
  let unattributedRevocations = 0;
  for (const r of revocations) {
    const a = resolve(
      r.accountId,
      r.subjectKind,
      r.subjectKey,
      r.subjectKind === 'token' ? r.subjectKey : null,
    );
    if (!a) {
      unattributedRevocations++;
      continue;
    }
    const prev = revokedAt.get(a.accountId);
    if (prev === undefined || r.issuedAtMs < prev) revokedAt.set(a.accountId, r.issuedAtMs);
  }

  const abusers = truth.accounts.filter((a) => a.label === 'abuser');
  const legit = truth.accounts.filter((a) => a.label === 'legit');
  for (const a of abusers) for (const r of a.expectedRules) rulesSeen.add(r);

  // Overall.
  let tp = 0;
  let fp = 0;
  const flagTimes: number[] = [];
  const revokeTimes: number[] = [];
  let revokedAbusers = 0;
  let revokedLegit = 0;
  const missed: TruthAccount[] = [];
  for (const a of truth.accounts) {
    const byRule = flagged.get(a.accountId);
    const isFlagged = byRule !== undefined && byRule.size > 0;
    const revoked = revokedAt.get(a.accountId);
    if (a.label === 'abuser') {
      if (isFlagged) {
        tp++;
        const first = Math.min(...byRule.values());
        flagTimes.push(Math.max(0, first - (a.abuseStartMs ?? first)));
      } else missed.push(a);
      if (revoked !== undefined) {
        revokedAbusers++;
        revokeTimes.push(Math.max(0, revoked - (a.abuseStartMs ?? revoked)));
      }
    } else {
      if (isFlagged) fp++;
      if (revoked !== undefined) revokedLegit++;
    }
  }

  // Per rule.
  const rules: RuleQuality[] = [...rulesSeen].sort().map((rule) => {
    let ruleTp = 0;
    let ruleFp = 0;
    const fpByClass: Record<string, number> = {};
    const fpExamples: AccountRef[] = [];
    const times: number[] = [];
    for (const a of truth.accounts) {
      const at = flagged.get(a.accountId)?.get(rule);
      if (at === undefined) continue;
      if (a.label === 'abuser') {
        ruleTp++;
        times.push(Math.max(0, at - (a.abuseStartMs ?? at)));
      } else {
        ruleFp++;
        bump(fpByClass, a.class);
        if (fpExamples.length < EXAMPLES_MAX) fpExamples.push({ accountId: a.accountId, class: a.class });
      }
    }
    const expectedAccounts = abusers.filter((a) => a.expectedRules.includes(rule) && judgeable(a, rule));
    const notJudgeable = abusers.filter((a) => a.expectedRules.includes(rule) && !judgeable(a, rule)).length;
    const missedByClass: Record<string, number> = {};
    const missedExamples: AccountRef[] = [];
    let caught = 0;
    for (const a of expectedAccounts) {
      if (flagged.get(a.accountId)?.has(rule)) caught++;
      else {
        bump(missedByClass, a.class);
        if (missedExamples.length < EXAMPLES_MAX)
          missedExamples.push({ accountId: a.accountId, class: a.class });
      }
    }
    return {
      rule,
      flaggedAccounts: ruleTp + ruleFp,
      truePositives: ruleTp,
      falsePositives: ruleFp,
      precision: ratio(ruleTp, ruleTp + ruleFp),
      expected: expectedAccounts.length,
      notJudgeable,
      caught,
      recall: ratio(caught, expectedAccounts.length),
      falsePositiveRate: legit.length ? ruleFp / legit.length : 0,
      timeToFlag: percentiles(times),
      falsePositiveByClass: fpByClass,
      missedByClass,
      falsePositiveExamples: fpExamples,
      missedExamples,
    };
  });

  // Per class.
  const classMap = new Map<string, ClassQuality>();
  for (const a of truth.accounts) {
    let c = classMap.get(a.class);
    if (!c) {
      c = { class: a.class, label: a.label, accounts: 0, flagged: 0, revoked: 0, byRule: {} };
      classMap.set(a.class, c);
    }
    c.accounts++;
    const byRule = flagged.get(a.accountId);
    if (byRule && byRule.size > 0) c.flagged++;
    if (revokedAt.has(a.accountId)) c.revoked++;
    for (const r of byRule?.keys() ?? []) bump(c.byRule, r);
  }
  const classes = [...classMap.values()].sort((x, y) =>
    x.label === y.label ? x.class.localeCompare(y.class) : x.label === 'legit' ? -1 : 1,
  );

  const precision = ratio(tp, tp + fp);
  const recall = ratio(tp, abusers.length);
  const timeToRevocation = percentiles(revokeTimes);
  const overall = {
    flaggedAccounts: tp + fp,
    truePositives: tp,
    falsePositives: fp,
    falseNegatives: missed.length,
    precision,
    recall,
    falsePositiveRate: legit.length ? fp / legit.length : 0,
    revokedAbusers,
    revokedLegit,
    timeToFlag: percentiles(flagTimes),
    timeToRevocation,
    triggerToRevocation: percentiles(triggerDelays),
  };

  // Shortfalls, in words.
  const shortfalls: string[] = [];
  const meetsPrecision = precision === null || precision >= TARGETS.precision;
  const meetsRecall = recall !== null && recall >= TARGETS.recall;
  if (!meetsPrecision) {
    shortfalls.push(
      `Precision ${pct(precision)} is under the ${pct(TARGETS.precision)} target: ${fp} legitimate account(s) were flagged.`,
    );
    for (const r of rules
      .filter((x) => x.falsePositives > 0)
      .sort((a, b) => b.falsePositives - a.falsePositives)) {
      shortfalls.push(
        `Rule ${r.rule} flagged ${r.falsePositives} legitimate account(s) (${describeCounts(r.falsePositiveByClass)}), ` +
          `e.g. ${r.falsePositiveExamples.map((e) => `${e.accountId} (${e.class})`).join(', ')}: ` +
          `its threshold leaves no room for ${Object.keys(r.falsePositiveByClass)
            .map((c) => LEGIT_PATTERN[c] ?? c)
            .join('; ')}.`,
      );
    }
  }
  if (!meetsRecall) {
    const byClass: Record<string, number> = {};
    for (const a of missed) bump(byClass, a.class);
    shortfalls.push(
      `Recall ${pct(recall)} is under the ${pct(TARGETS.recall)} target: ${missed.length} abusive account(s) were never flagged ` +
        `(${describeCounts(byClass)}), e.g. ${missed
          .slice(0, EXAMPLES_MAX)
          .map(
            (a) =>
              `${a.accountId} (${a.class}, expected ${a.expectedRules.join(' / ')}${
                a.expectedRules.every((r) => !judgeable(a, r))
                  ? `; tenant ${a.tenant} sends no heartbeats`
                  : ''
              })`,
          )
          .join(', ')}: no rule reacted to ${Object.keys(byClass)
          .map((c) => ABUSE_SIGNAL[c] ?? c)
          .join('; ')}.`,
    );
  }
  for (const r of rules) {
    if (r.recall !== null && r.recall < TARGETS.recall) {
      shortfalls.push(
        `Rule ${r.rule} caught ${r.caught} of the ${r.expected} abusive accounts it should (${pct(r.recall)}); missed: ` +
          `${describeCounts(r.missedByClass)}, e.g. ${r.missedExamples.map((e) => e.accountId).join(', ')}; ` +
          `it did not react to ${Object.keys(r.missedByClass)
            .map((c) => ABUSE_SIGNAL[c] ?? c)
            .join('; ')}.`,
      );
    }
  }
  let meetsRevocation: boolean | null = null;
  if (revocations.length > 0) {
    meetsRevocation = timeToRevocation.p99Ms !== null && timeToRevocation.p99Ms < TARGETS.revocationP99Ms;
    if (!meetsRevocation) {
      shortfalls.push(
        `p99 time from abuse start to revocation is ${
          timeToRevocation.p99Ms === null
            ? 'unmeasured (no abuser revoked)'
            : `${(timeToRevocation.p99Ms / 1000).toFixed(1)} s`
        }, over the ${TARGETS.revocationP99Ms / 1000} s target.`,
      );
    }
    if (revokedLegit > 0) shortfalls.push(`${revokedLegit} legitimate account(s) were revoked.`);
  }

  return {
    inputs: {
      viewers: truth.viewers,
      abusers: abusers.length,
      legit: legit.length,
      flags: flags.length,
      distinctFlags: distinct.size,
      revocations: revocations.length,
      unattributedFlags,
      unattributedRevocations,
    },
    overall,
    rules,
    classes,
    signals: {
      tenants: signals?.tenants ?? {},
      abusersWithoutSignals: abusers.filter(
        (a) => a.expectedRules.length > 0 && a.expectedRules.every((r) => !judgeable(a, r)),
      ).length,
    },
    shortfalls,
    meets: { precision: meetsPrecision, recall: meetsRecall, revocationP99: meetsRevocation },
  };
}
