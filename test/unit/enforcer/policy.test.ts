import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Anomaly } from '../../../core/schemas/generated.ts';
import { emptyEvidence } from '../../../detector/rules/kit.ts';
import {
  buildRevocation,
  compilePolicies,
  decide,
  expiryFor,
  policiesSchema,
  revocationStatus,
  rulePolicySchema,
  subjectFor,
} from '../../../enforcer/policy/policy.ts';
import { inRollout, ROLLOUT_BUCKETS, rolloutBucket } from '../../../enforcer/policy/rollout.ts';

const NOW = 1_700_000_000_000;

function flag(over: Partial<Anomaly> = {}): Anomaly {
  return {
    id: 'f1',
    version: 1,
    rule: 'token-network-spread',
    subjectKind: 'token',
    subjectKey: 'th-1',
    tenant: 'default',
    accountId: 'acct-1',
    tokenHash: 'th-1',
    tokenExpiresAtMs: null,
    evictSessionId: null,
    severity: 'high',
    threshold: 3,
    observed: 7,
    windowStartMs: NOW - 60_000,
    windowEndMs: NOW,
    detectedAtMs: NOW,
    triggerEventId: 'e1',
    evidence: {
      ...emptyEvidence(),
      eventCount: 10,
      networks: [{ value: '203.0.113.0/24', count: 5, firstSeenMs: NOW - 1, lastSeenMs: NOW }],
    },
    ...over,
  };
}

function compiled(rules: Record<string, unknown>, allowList: unknown = {}) {
  return compilePolicies(policiesSchema.parse({ rules, allowList }));
}

describe('policy decision', () => {
  it('a rule without a policy of its own falls back to monitor, the safe first stage', () => {
    assert.equal(decide(compiled({}), flag()).kind, 'would-have');
  });

  it('monitor records, moderate queues, automate revokes', () => {
    for (const [mode, kind] of [
      ['monitor', 'would-have'],
      ['moderate', 'review'],
      ['automate', 'revoke'],
    ] as const) {
      assert.equal(decide(compiled({ 'token-network-spread': { mode } }), flag()).kind, kind, mode);
    }
  });

  it('an allow-listed account is never enforced, whatever the mode', () => {
    const c = compiled({ 'token-network-spread': { mode: 'automate' } }, { accounts: ['acct-1'] });
    assert.deepEqual(decide(c, flag()).kind, 'allow-listed');
    assert.equal(
      decide(c, flag({ accountId: null, subjectKind: 'account', subjectKey: 'acct-1' })).kind,
      'allow-listed',
    );
  });

  it('a flag whose evidence names an allow-listed network is never enforced', () => {
    const c = compiled({ 'token-network-spread': { mode: 'automate' } }, { networks: ['203.0.0.0/16'] });
    const outcome = decide(c, flag());
    assert.equal(outcome.kind, 'allow-listed');
    assert.equal(outcome.kind === 'allow-listed' && outcome.reason, 'network');
    const elsewhere = compiled(
      { 'token-network-spread': { mode: 'automate' } },
      { networks: ['10.0.0.0/8'] },
    );
    assert.equal(decide(elsewhere, flag()).kind, 'revoke');
  });

  it('automate outside the rollout is recorded as would-have, not revoked', () => {
    const c = compiled({ 'token-network-spread': { mode: 'automate', rolloutPercent: 0 } });
    const outcome = decide(c, flag());
    assert.equal(outcome.kind === 'would-have' && outcome.reason, 'outside-rollout');
  });
});

describe('rollout by stable hash', () => {
  const accounts = Array.from({ length: 20_000 }, (_, i) => `account-${i}`);

  it('takes about the asked share of accounts', () => {
    const share = accounts.filter((a) => inRollout(a, 5)).length / accounts.length;
    assert.ok(share > 0.04 && share < 0.06, `5% rollout took ${(share * 100).toFixed(2)}%`);
  });

  it('growing the percentage keeps every account already in (5% ⊂ 10% ⊂ 50%)', () => {
    for (const a of accounts) {
      if (inRollout(a, 5)) assert.ok(inRollout(a, 10), a);
      if (inRollout(a, 10)) assert.ok(inRollout(a, 50), a);
    }
  });

  it('is the same bucket on every call, in range', () => {
    const b = rolloutBucket('account-42');
    assert.equal(rolloutBucket('account-42'), b);
    assert.ok(b >= 0 && b < ROLLOUT_BUCKETS);
    assert.equal(inRollout('account-42', 100), true);
    assert.equal(inRollout('account-42', 0), false);
  });
});

describe('revocation building', () => {
  const policy = rulePolicySchema.parse({ mode: 'automate', action: 'block_token', durationMs: 3_600_000 });

  it("a token block expires with the token when that comes before the policy's duration", () => {
    assert.equal(
      expiryFor('block_token', policy, flag({ tokenExpiresAtMs: NOW + 60_000 }), NOW),
      NOW + 60_000,
    );
    assert.equal(
      expiryFor('block_token', policy, flag({ tokenExpiresAtMs: NOW + 9e9 }), NOW),
      NOW + 3_600_000,
    );
    assert.equal(expiryFor('block_token', policy, flag(), NOW), NOW + 3_600_000);
  });

  it('a token that already expired needs no revocation', () => {
    assert.equal(buildRevocation(policy, flag({ tokenExpiresAtMs: NOW - 1 }), NOW, 'x'), undefined);
  });

  it('evict_session targets the newest session the flag names', () => {
    assert.deepEqual(subjectFor('evict_session', flag({ evictSessionId: 's-new' })), {
      kind: 'session',
      key: 's-new',
    });
    assert.equal(subjectFor('evict_session', flag()), undefined);
  });

  it('account actions target the account; without one there is nothing to enforce', () => {
    assert.deepEqual(subjectFor('throttle', flag()), { kind: 'account', key: 'acct-1' });
    assert.equal(subjectFor('block_account', flag({ accountId: null })), undefined);
  });

  it('the same flag and action give the same revocation id on every replay', () => {
    const a = buildRevocation(policy, flag(), NOW, 'policy:automate')!;
    const b = buildRevocation(policy, flag(), NOW + 5_000, 'policy:automate')!;
    assert.equal(a.id, b.id);
    assert.notEqual(a.id, buildRevocation(policy, flag({ id: 'f2' }), NOW, 'policy:automate')!.id);
  });

  it('substitute carries its slate and throttle its cap', () => {
    const sub = rulePolicySchema.parse({ action: 'substitute', slate: 'upgrade' });
    assert.equal(buildRevocation(sub, flag(), NOW, 'x')!.slate, 'upgrade');
    const thr = rulePolicySchema.parse({ action: 'throttle', throttleKbps: 800 });
    assert.equal(buildRevocation(thr, flag(), NOW, 'x')!.throttleKbps, 800);
  });

  it('an active revocation past its expiry reads as expired', () => {
    const r = buildRevocation(policy, flag(), NOW, 'x')!;
    assert.equal(revocationStatus(r, NOW), 'active');
    assert.equal(revocationStatus(r, r.expiresAtMs), 'expired');
    assert.equal(revocationStatus({ ...r, state: 'lifted' }, NOW), 'lifted');
  });
});

describe('policy validation', () => {
  it('refuses substitute without a slate, throttle without a cap, a rollout above 100 and unknown keys', () => {
    assert.equal(rulePolicySchema.safeParse({ action: 'substitute' }).success, false);
    assert.equal(rulePolicySchema.safeParse({ action: 'throttle' }).success, false);
    assert.equal(rulePolicySchema.safeParse({ rolloutPercent: 101 }).success, false);
    assert.equal(rulePolicySchema.safeParse({ mode: 'automate', extra: 1 }).success, false);
    assert.equal(rulePolicySchema.safeParse({ durationMs: 10 }).success, false);
  });

  it('refuses an allow-listed network that is not a CIDR', () => {
    assert.equal(policiesSchema.safeParse({ allowList: { networks: ['not-a-net'] } }).success, false);
    assert.equal(policiesSchema.safeParse({ allowList: { networks: ['10.0.0.0/33'] } }).success, false);
    assert.equal(
      policiesSchema.safeParse({ allowList: { networks: ['2001:db8::/48', '10.1.2.3'] } }).success,
      true,
    );
  });
});
