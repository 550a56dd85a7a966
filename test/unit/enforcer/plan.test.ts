import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Anomaly, ReviewEntry } from '../../../core/schemas/generated.ts';
import { emptyEvidence } from '../../../detector/rules/kit.ts';
import { planBatch } from '../../../enforcer/pipeline/plan.ts';
import { compilePolicies, policiesSchema } from '../../../enforcer/policy/policy.ts';
import { applyChange, validateChange } from '../../../enforcer/policy/store.ts';
import { entryFor } from '../../../enforcer/review/queue.ts';

const NOW = 1_700_000_000_000;

function flag(over: Partial<Anomaly> = {}): Anomaly {
  return {
    id: 'f1',
    version: 1,
    rule: 'account-concurrency',
    subjectKind: 'account',
    subjectKey: 'acct-1',
    tenant: 'default',
    accountId: 'acct-1',
    tokenHash: null,
    tokenExpiresAtMs: null,
    evictSessionId: 's-3',
    severity: 'medium',
    threshold: 2,
    observed: 3,
    windowStartMs: NOW - 60_000,
    windowEndMs: NOW,
    detectedAtMs: NOW,
    triggerEventId: 'e1',
    evidence: { ...emptyEvidence(), eventCount: 3 },
    ...over,
  };
}

const policies = compilePolicies(
  policiesSchema.parse({
    rules: {
      'account-concurrency': { mode: 'moderate', action: 'evict_session' },
      'segment-fanout': { mode: 'automate', action: 'block_account' },
    },
  }),
);

describe('batch plan', () => {
  it('a flag and its escalation in one batch make one review entry at the higher version', () => {
    const plan = planBatch([flag(), flag({ version: 2, observed: 5 })], policies, () => undefined, NOW);
    assert.equal(plan.reviewEntries.length, 1);
    assert.equal(plan.reviewEntries[0]!.anomalyVersion, 2);
  });

  it('a replayed flag already queued changes nothing', () => {
    const held = entryFor(flag(), undefined, NOW)!;
    const plan = planBatch([flag()], policies, () => held, NOW + 1);
    assert.equal(plan.reviewEntries.length, 0);
    assert.equal(plan.outcomes.unchanged, 1);
  });

  it('an automate flag without the subject its action needs is counted unenforceable, not revoked', () => {
    const plan = planBatch(
      [flag({ rule: 'segment-fanout', accountId: null, subjectKind: 'segment', subjectKey: 'a|c|1' })],
      policies,
      () => undefined,
      NOW,
    );
    assert.equal(plan.revocations.length, 0);
    assert.equal(plan.outcomes.unenforceable, 1);
  });

  it('monitor flags become would-have items naming what would be revoked', () => {
    const plan = planBatch([flag({ rule: 'geo-spread' })], policies, () => undefined, NOW);
    assert.equal(plan.wouldHave.length, 1);
    assert.equal(plan.wouldHave[0]!.subject, null, 'block_token needs a token the flag does not name');
  });
});

describe('review entries', () => {
  it('an escalation of a decided flag reopens it for review with the new evidence', () => {
    const decided: ReviewEntry = {
      ...entryFor(flag(), undefined, NOW)!,
      status: 'rejected',
      decidedBy: 'alice',
      decidedAtMs: NOW + 5,
      comment: '[shared-ip] campus',
      assignee: 'bob',
      notes: [{ by: 'bob', atMs: NOW + 1, text: 'looks like a campus' }],
    };
    const next = entryFor(flag({ version: 2, observed: 12 }), decided, NOW + 10)!;
    assert.equal(next.status, 'pending');
    assert.equal(next.decidedBy, null);
    assert.equal(next.comment, null);
    assert.equal(next.anomalyVersion, 2);
    assert.match(next.anomalyJson, /"observed":12/);
    assert.equal(next.createdAtMs, NOW, 'its age in the queue counts from the first flag');
    assert.equal(next.assignee, 'bob', 'it stays with its analyst');
    assert.equal(next.notes.length, 1, 'and keeps its notes');
    assert.equal(entryFor(flag({ version: 2 }), next, NOW + 20), undefined, 'a replay changes nothing');
  });
});

describe('policy changes', () => {
  it('removing a rule policy makes it fall back to the default', () => {
    const base = policiesSchema.parse({ rules: { x: { mode: 'automate' } } });
    const after = applyChange(base, 'rule:x', validateChange('rule:x', null));
    assert.equal(after.rules.x, undefined);
  });

  it('an invalid change is refused with every problem named', () => {
    assert.throws(
      () => validateChange('rule:x', { mode: 'sometimes', rolloutPercent: 200 }),
      (err: Error & { code?: string }) =>
        err.code === 'ENF_ERR_POLICY_INVALID' &&
        /mode/.test(err.message) &&
        /rolloutPercent/.test(err.message),
    );
  });
});
