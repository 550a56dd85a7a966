/**
 * Pure: what a batch of flags leads to under the current policies. No I/O, no wall clock.
 * The caller executes the plan (Redis, then Kafka) and only then commits the batch's offsets.
 */
import type { Anomaly, ReviewEntry, Revocation } from '../../core/schemas/generated.ts';
import { buildRevocation, type CompiledPolicies, decide, subjectFor } from '../policy/policy.ts';
import { entryFor } from '../review/queue.ts';
import type { WouldHaveItem } from '../would-have/would-have.ts';

export type OutcomeName = 'allow_listed' | 'would_have' | 'review' | 'revoke' | 'unenforceable' | 'unchanged';

export interface BatchPlan {
  revocations: Revocation[];
  reviewEntries: ReviewEntry[];
  wouldHave: WouldHaveItem[];
  /** Flags per outcome, for metrics and logs. */
  outcomes: Record<OutcomeName, number>;
}

/** Who issues automated revocations (the analyst's name for approvals). */
export const AUTOMATE_ISSUER = 'policy:automate';

export function planBatch(
  anomalies: readonly Anomaly[],
  compiled: CompiledPolicies,
  heldReview: (anomalyId: string) => ReviewEntry | undefined,
  nowMs: number,
): BatchPlan {
  const plan: BatchPlan = {
    revocations: [],
    reviewEntries: [],
    wouldHave: [],
    outcomes: { allow_listed: 0, would_have: 0, review: 0, revoke: 0, unenforceable: 0, unchanged: 0 },
  };
  const reviewsInBatch = new Map<string, ReviewEntry>();
  for (const anomaly of anomalies) {
    const outcome = decide(compiled, anomaly);
    switch (outcome.kind) {
      case 'allow-listed':
        plan.outcomes.allow_listed++;
        break;
      case 'would-have': {
        const subject = subjectFor(outcome.policy.action, anomaly);
        plan.wouldHave.push({
          anomalyId: anomaly.id,
          version: anomaly.version,
          rule: anomaly.rule,
          reason: outcome.reason,
          action: outcome.policy.action,
          subject: subject ? `${subject.kind}:${subject.key}` : null,
          accountId: anomaly.accountId,
          severity: anomaly.severity,
          detectedAtMs: anomaly.detectedAtMs,
        });
        plan.outcomes.would_have++;
        break;
      }
      case 'review': {
        const held = reviewsInBatch.get(anomaly.id) ?? heldReview(anomaly.id);
        const entry = entryFor(anomaly, held, nowMs);
        if (!entry) {
          plan.outcomes.unchanged++;
          break;
        }
        reviewsInBatch.set(anomaly.id, entry);
        plan.outcomes.review++;
        break;
      }
      case 'revoke': {
        const revocation = buildRevocation(outcome.policy, anomaly, nowMs, AUTOMATE_ISSUER);
        if (!revocation) {
          plan.outcomes.unenforceable++;
          break;
        }
        plan.revocations.push(revocation);
        plan.outcomes.revoke++;
        break;
      }
    }
  }
  plan.reviewEntries = [...reviewsInBatch.values()];
  return plan;
}
