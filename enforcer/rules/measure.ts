/**
 * Pure measures of a rule for the console's rules page: precision from review outcomes (with a
 * Wilson score interval), and a preview of a policy change over recent flags.
 */
import type { Anomaly } from '../../core/schemas/generated.ts';
import type { IndexedFlag } from '../flags/index.ts';
import {
  buildRevocation,
  type CompiledPolicies,
  compilePolicies,
  decide,
  type RulePolicy,
} from '../policy/policy.ts';

/** z for a two-sided 95 % interval. */
const Z95 = 1.959964;

export interface Precision {
  /** Approved reviews (the flag was right). */
  approved: number;
  /** Rejected reviews (a false positive). */
  rejected: number;
  /** approved / (approved + rejected); null before any decision. */
  precision: number | null;
  /** Wilson score interval at 95 %; null before any decision. */
  low: number | null;
  high: number | null;
}

/**
 * Wilson score interval for a proportion (Wilson 1927): unlike the normal approximation it stays
 * inside [0, 1] and is honest with few decisions (3 of 3 approved is 0.44–1, not 1–1).
 */
export function wilson(successes: number, trials: number, z = Z95): { low: number; high: number } {
  if (trials === 0) return { low: 0, high: 1 };
  const p = successes / trials;
  const z2 = z * z;
  const denom = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / denom;
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

export function precisionOf(approved: number, rejected: number): Precision {
  const n = approved + rejected;
  if (n === 0) return { approved, rejected, precision: null, low: null, high: null };
  const { low, high } = wilson(approved, n);
  return { approved, rejected, precision: approved / n, low, high };
}

export interface PolicyPreview {
  rule: string;
  fromMs: number;
  /** Flags of the rule in the span. */
  flags: number;
  /** What the proposed policy would have done with them. */
  outcomes: Record<'allow-listed' | 'would-have' | 'review' | 'revoke', number>;
  /** Revocations it would have issued (a flag naming no subject for the action issues none). */
  revocations: number;
  /** Distinct accounts those revocations touch. */
  accounts: number;
  /** Up to 20 of the flags it would have revoked on, newest first. */
  sample: Array<{
    id: string;
    accountId: string | null;
    severity: string;
    detectedAtMs: number;
    subject: string;
  }>;
}

/** Replays the rule's flags since `fromMs` through `current` with the rule's policy replaced. */
export function previewPolicy(
  current: CompiledPolicies,
  rule: string,
  proposed: RulePolicy,
  flags: readonly IndexedFlag[],
  fromMs: number,
  nowMs: number,
): PolicyPreview {
  const compiled = compilePolicies({
    ...current.policies,
    rules: { ...current.policies.rules, [rule]: proposed },
  });
  const out: PolicyPreview = {
    rule,
    fromMs,
    flags: 0,
    outcomes: { 'allow-listed': 0, 'would-have': 0, review: 0, revoke: 0 },
    revocations: 0,
    accounts: 0,
    sample: [],
  };
  const accounts = new Set<string>();
  for (let i = flags.length - 1; i >= 0; i--) {
    const a: Anomaly = flags[i]!.anomaly;
    if (a.rule !== rule || a.detectedAtMs < fromMs) continue;
    out.flags++;
    const outcome = decide(compiled, a);
    out.outcomes[outcome.kind]++;
    if (outcome.kind !== 'revoke') continue;
    // The preview asks "what if it had been live": the token's expiry is judged at detection time.
    const revocation = buildRevocation(outcome.policy, a, Math.min(a.detectedAtMs, nowMs), 'preview');
    if (!revocation) continue;
    out.revocations++;
    accounts.add(a.accountId ?? a.subjectKey);
    if (out.sample.length < 20) {
      out.sample.push({
        id: a.id,
        accountId: a.accountId,
        severity: a.severity,
        detectedAtMs: a.detectedAtMs,
        subject: `${revocation.subjectKind}:${revocation.subjectKey}`,
      });
    }
  }
  out.accounts = accounts.size;
  return out;
}
