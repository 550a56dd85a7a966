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
import type {
  Action,
  Anomaly,
  ReviewDecision,
  ReviewEntry,
  Revocation,
  RevokedSubjectKind,
} from '../core/schemas/generated.ts';
import { TOPICS } from '../core/topics.ts';
import type { FlagIndex } from './flags/index.ts';
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
  /** Recent flags of every mode, for the console and the flag API. */
  flags: FlagIndex;
  writer: StateWriter;
  clock: Clock;
  logger: Logger;
  metrics: Registry;
}

/** The `rule` of a revocation made by hand. */
export const MANUAL_RULE = 'manual';
const MANUAL_ACTIONS: Record<RevokedSubjectKind, Action> = {
  token: 'block_token',
  session: 'evict_session',
  account: 'block_account',
};

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
      help: 'Revocations issued (first time only; replays are not counted), by policy, analyst or manual',
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
    // Indexed once durable, with what the policy in force did with each flag.
    for (const anomaly of anomalies) {
      const outcome = decide(policies.compiled, anomaly);
      this.parts.flags.record(anomaly, outcome.kind, outcome.policy.mode);
    }
  }

  /**
   * A revocation made by hand (support, an analyst on the account page): the subject's action
   * (token → block_token, session → evict_session, account → block_account), with a reason and an
   * expiry, issued like any other (Redis, then the topic), `issuedBy` naming who.
   */
  async revokeByHand(
    input: {
      subjectKind: RevokedSubjectKind;
      subjectKey: string;
      accountId: string | null;
      tenant: string;
      reason: string;
      durationMs: number;
    },
    by: string,
  ): Promise<RevocationView> {
    const { revocations, clock } = this.parts;
    const nowMs = clock.nowMs();
    const action = MANUAL_ACTIONS[input.subjectKind];
    const revocation: Revocation = {
      id: deterministicId('manual', action, input.subjectKind, input.subjectKey, String(nowMs)),
      action,
      subjectKind: input.subjectKind,
      subjectKey: input.subjectKey,
      tenant: input.tenant,
      accountId: input.accountId ?? (input.subjectKind === 'account' ? input.subjectKey : null),
      rule: MANUAL_RULE,
      anomalyId: null,
      reason: input.reason,
      issuedBy: `manual:${by}`,
      issuedAtMs: nowMs,
      expiresAtMs: nowMs + input.durationMs,
      state: 'active',
      liftedAtMs: null,
      liftedBy: null,
      liftReason: null,
      slate: null,
      throttleKbps: null,
    };
    const issued = await revocations.issue([revocation]);
    if (issued.length > 0) this.revocationsTotal.inc({ issued_by: 'manual' }, issued.length);
    this.parts.logger.info(
      { revocationId: revocation.id, by, subjectKind: input.subjectKind },
      'revoked by hand',
    );
    return revocations.get(revocation.id) ?? revocations.view(revocation);
  }

  /** Assigns a review entry to an analyst (null: unassigned). Serialised with the decisions. */
  assignReview(anomalyId: string, assignee: string | null): Promise<ReviewView> {
    return this.updateReview(anomalyId, (e) => ({ ...e, assignee }));
  }

  /** Adds an analyst's note to a review entry (the oldest dropped past the bound). Serialised. */
  noteReview(anomalyId: string, by: string, text: string): Promise<ReviewView> {
    const atMs = this.parts.clock.nowMs();
    return this.updateReview(anomalyId, (e) => ({
      ...e,
      notes: [...e.notes, { by, atMs, text }].slice(-LIMITS.enforcerReviewNotesMax),
    }));
  }

  private updateReview(anomalyId: string, change: (e: ReviewEntry) => ReviewEntry): Promise<ReviewView> {
    const run = this.decisionChain.then(async () => {
      const { reviews, writer, clock } = this.parts;
      const held = reviews.get(anomalyId);
      if (!held) throw new LeechguardError('ENF_ERR_REVIEW_NOT_FOUND', anomalyId);
      const entry = { ...change(held), updatedAtMs: clock.nowMs() };
      await writer.write([{ table: reviews.table, key: anomalyId, value: entry }]);
      return viewOf(reviews.get(anomalyId) ?? entry);
    });
    this.decisionChain = run.catch(() => {});
    return run;
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
