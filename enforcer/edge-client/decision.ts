/**
 * What the edge does with a request, from the denylist entries that match it. Pure.
 * Severity when several subjects match (token, session, account): block > substitute > throttle > allow.
 */
import type { Action, RevokedSubjectKind } from '../../core/schemas/generated.ts';
import type { DenyEntry } from '../denylist/keys.ts';

export type Verdict = 'allow' | 'block' | 'throttle' | 'substitute';

/** Where an answer came from: the in-process mirror, a Redis read on a miss, or the fail mode. */
export type DecisionSource = 'cache' | 'redis' | 'fail-open' | 'fail-closed';

export interface Decision {
  decision: Verdict;
  /** Set when decision is not allow (or when a fail mode answered). */
  reason: string | null;
  rule: string | null;
  revocationId: string | null;
  expiresAtMs: number | null;
  action: Action | null;
  subjectKind: RevokedSubjectKind | null;
  slate: string | null;
  throttleKbps: number | null;
  source: DecisionSource;
}

const VERDICT_OF: Record<Action, Verdict> = {
  block_token: 'block',
  evict_session: 'block',
  block_account: 'block',
  throttle: 'throttle',
  substitute: 'substitute',
};

const SEVERITY: Record<Verdict, number> = { allow: 0, throttle: 1, substitute: 2, block: 3 };

export function verdictOf(action: Action): Verdict {
  return VERDICT_OF[action] ?? 'block';
}

export function allowDecision(source: DecisionSource): Decision {
  return {
    decision: 'allow',
    reason: null,
    rule: null,
    revocationId: null,
    expiresAtMs: null,
    action: null,
    subjectKind: null,
    slate: null,
    throttleKbps: null,
    source,
  };
}

export function decisionFromEntry(
  kind: RevokedSubjectKind,
  entry: DenyEntry,
  source: DecisionSource,
): Decision {
  return {
    decision: verdictOf(entry.action),
    reason: entry.reason,
    rule: entry.rule,
    revocationId: entry.revocationId,
    expiresAtMs: entry.expiresAtMs,
    action: entry.action,
    subjectKind: kind,
    slate: entry.slate,
    throttleKbps: entry.throttleKbps,
    source,
  };
}

/** The more severe of two decisions; on a tie the first one (callers check token, session, account). */
export function moreSevere(a: Decision, b: Decision): Decision {
  return SEVERITY[b.decision] > SEVERITY[a.decision] ? b : a;
}

/** The answer when the denylist cannot be read and nothing cached matches. */
export function failModeDecision(mode: 'open' | 'closed'): Decision {
  if (mode === 'open') return allowDecision('fail-open');
  return {
    ...allowDecision('fail-closed'),
    decision: 'block',
    reason: 'denylist unavailable (fail-closed)',
  };
}
