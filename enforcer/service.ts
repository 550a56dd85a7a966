/**
 * The enforcer's state and operations, behind the consumer and the HTTP API: policies, review
 * queue, revocations, would-have counts. Everything durable goes through Kafka (StateWriter);
 * Redis holds the edge's denylist and the would-have counts.
 */
import type { Clock } from '../core/clock.ts';
import { LeechguardError } from '../core/errors.ts';
import { deterministicId } from '../core/ids.ts';
import { LIMITS } from '../core/limits.ts';
import type { Logger } from '../core/log.ts';
import { Counter, Gauge, type Registry, recomputedEvery } from '../core/metrics.ts';
import type { Anomaly, ReviewDecision, ReviewEntry } from '../core/schemas/generated.ts';
import { TOPICS } from '../core/topics.ts';
import { type OutcomeName, planBatch } from './pipeline/plan.ts';
import { buildRevocation, decide } from './policy/policy.ts';
import type { PolicyStore } from './policy/store.ts';
import { type ReviewQueue, type ReviewView, viewOf } from './review/queue.ts';
import type { Revocations, RevocationView } from './revocations/revocations.ts';
import type { StateWriter } from './state/state-log.ts';
import type { WouldHave } from './would-have/would-have.ts';

export interface EnforcementParts {
  policies: PolicyStore;
  reviews: ReviewQueue;
  revocations: Revocations;
  wouldHave: WouldHave;
  writer: StateWriter;
  clock: Clock;
  logger: Logger;
  metrics: Registry;
}

export class Enforcement {
  readonly parts: EnforcementParts;
  private readonly flagsTotal: Counter<'outcome'>;
  private readonly revocationsTotal: Counter<'issued_by'>;
  private decisionChain: Promise<unknown> = Promise.resolve();

  constructor(parts: EnforcementParts) {
    this.parts = parts;
    this.flagsTotal = new Counter({
      name: 'leechguard_enforcer_flags_total',
      help: 'Flags handled, by outcome (allow_listed, would_have, review, revoke, unenforceable, unchanged)',
      labelNames: ['outcome'],
      registers: [parts.metrics],
    });
    const now = () => parts.clock.nowMs();
    const pending = recomputedEvery(LIMITS.metricsScanIntervalMs, now, () => parts.reviews.counts().pending);
    const active = recomputedEvery(
      LIMITS.metricsScanIntervalMs,
      now,
      () => parts.revocations.list({ status: 'active', limit: 0 }).total,
    );
    const reviewsPending: Gauge = new Gauge({
      name: 'leechguard_enforcer_reviews_pending',
      help: 'Review entries waiting for an analyst (recomputed at most every 15 s)',
      registers: [parts.metrics],
      collect: () => reviewsPending.set(pending()),
    });
    const revocationsActive: Gauge = new Gauge({
      name: 'leechguard_enforcer_revocations_active',
      help: 'Revocations in force, active and not expired (recomputed at most every 15 s)',
      registers: [parts.metrics],
      collect: () => revocationsActive.set(active()),
    });
    this.revocationsTotal = new Counter({
      name: 'leechguard_enforcer_revocations_issued_total',
      help: 'Revocations issued (first time only; replays are not counted)',
      labelNames: ['issued_by'],
      registers: [parts.metrics],
    });
  }

  /**
   * Handles a batch of flags: plan (pure), then Redis + Kafka; resolves once all is durable, so
   * the caller may commit the batch's offsets.
   */
  async handleFlags(anomalies: readonly Anomaly[]): Promise<void> {
    const { policies, reviews, revocations, wouldHave, clock } = this.parts;
    const plan = planBatch(anomalies, policies.compiled, (id) => reviews.get(id), clock.nowMs());
    const issued = await revocations.issue(plan.revocations, {
      writes: plan.reviewEntries.map((e) => ({ table: reviews.table, key: e.anomalyId, value: e })),
    });
    await wouldHave.recordMany(plan.wouldHave);
    for (const [outcome, n] of Object.entries(plan.outcomes)) {
      if (n > 0) this.flagsTotal.inc({ outcome: outcome as OutcomeName }, n);
    }
    if (issued.length > 0) this.revocationsTotal.inc({ issued_by: 'policy' }, issued.length);
  }

  /** Approves or rejects a pending entry; an approval issues the rule's policy action. Serialised. */
  decideReview(
    anomalyId: string,
    decision: 'approved' | 'rejected',
    analyst: string,
    comment: string | null,
  ): Promise<{ review: ReviewView; revocation: RevocationView | null }> {
    const run = this.decisionChain.then(() => this.decideNow(anomalyId, decision, analyst, comment));
    this.decisionChain = run.catch(() => {});
    return run;
  }

  private async decideNow(
    anomalyId: string,
    decision: 'approved' | 'rejected',
    analyst: string,
    comment: string | null,
  ): Promise<{ review: ReviewView; revocation: RevocationView | null }> {
    const { policies, reviews, revocations, clock } = this.parts;
    const held = reviews.get(anomalyId);
    if (!held) throw new LeechguardError('ENF_ERR_REVIEW_NOT_FOUND', anomalyId);
    if (held.status !== 'pending') {
      throw new LeechguardError('ENF_ERR_REVIEW_ALREADY_DECIDED', `${anomalyId} is ${held.status}`);
    }
    const nowMs = clock.nowMs();
    const anomaly = JSON.parse(held.anomalyJson) as Anomaly;
    let revocationId: string | null = null;
    const revocationsToIssue = [];
    if (decision === 'approved') {
      const outcome = decide(policies.compiled, anomaly);
      if (outcome.kind === 'allow-listed') {
        throw new LeechguardError('ENF_ERR_NO_ENFORCEABLE_SUBJECT', `the ${outcome.reason} is allow-listed`);
      }
      const revocation = buildRevocation(outcome.policy, anomaly, nowMs, `analyst:${analyst}`);
      if (!revocation) {
        throw new LeechguardError(
          'ENF_ERR_NO_ENFORCEABLE_SUBJECT',
          `${outcome.policy.action} needs a subject the flag does not name, or the token has expired`,
        );
      }
      revocationId = revocation.id;
      revocationsToIssue.push(revocation);
    }
    const entry: ReviewEntry = {
      ...held,
      status: decision,
      updatedAtMs: nowMs,
      decidedBy: analyst,
      decidedAtMs: nowMs,
      comment,
      revocationId,
    };
    const record: ReviewDecision = {
      id: deterministicId(held.anomalyId, held.anomalyVersion, decision),
      anomalyId: held.anomalyId,
      anomalyVersion: held.anomalyVersion,
      rule: held.rule,
      subjectKind: held.subjectKind,
      subjectKey: held.subjectKey,
      tenant: held.tenant,
      accountId: held.accountId,
      decision,
      analyst,
      comment,
      decidedAtMs: nowMs,
      revocationId,
    };
    // One step: the revocation in Redis, then revocation + closed entry + decision record on Kafka.
    const issued = await revocations.issue(revocationsToIssue, {
      writes: [{ table: reviews.table, key: entry.anomalyId, value: entry }],
      extra: [{ topic: TOPICS.reviews.name, key: record.anomalyId, value: record }],
    });
    if (issued.length > 0) this.revocationsTotal.inc({ issued_by: 'analyst' }, issued.length);
    this.parts.logger.info({ anomalyId, decision, analyst, revocationId }, 'review decided');
    return {
      review: viewOf(reviews.get(anomalyId) ?? entry),
      revocation: revocationId ? (revocations.get(revocationId) ?? null) : null,
    };
  }
}
