import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastifyRequest } from 'fastify';
import { ManualClock } from '../../../core/clock.ts';
import { isLeechguardError } from '../../../core/errors.ts';
import type { Anomaly } from '../../../core/schemas/generated.ts';
import { emptyEvidence } from '../../../detector/rules/kit.ts';
import { ConsoleSessions, cookieValue } from '../../../enforcer/api/console-session.ts';
import { csvField, FlagIndex, flagCsvRow } from '../../../enforcer/flags/index.ts';
import { compilePolicies, policiesSchema, rulePolicySchema } from '../../../enforcer/policy/policy.ts';
import { reasonOf, withReason } from '../../../enforcer/review/reason-codes.ts';
import { precisionOf, previewPolicy, wilson } from '../../../enforcer/rules/measure.ts';

function anomaly(over: Partial<Anomaly> & { id: string }): Anomaly {
  return {
    version: 1,
    rule: 'geo-spread',
    subjectKind: 'token',
    subjectKey: `tok-${over.id}`,
    tenant: 'default',
    accountId: `acct-${over.id}`,
    tokenHash: null,
    tokenExpiresAtMs: null,
    evictSessionId: null,
    severity: 'high',
    threshold: 3,
    observed: 5,
    windowStartMs: 0,
    windowEndMs: 60_000,
    detectedAtMs: 1_000,
    triggerEventId: 'e',
    evidence: { ...emptyEvidence(), eventCount: 1 },
    ...over,
  };
}

describe('the flag index', () => {
  it('pages newest detection first with a cursor, every flag exactly once', () => {
    const index = new FlagIndex(new ManualClock(0));
    for (let i = 0; i < 25; i++)
      index.record(anomaly({ id: `f${i}`, detectedAtMs: (i * 7) % 25 }), 'would-have', 'monitor');
    const seen: string[] = [];
    let cursor: string | undefined;
    let last = Number.POSITIVE_INFINITY;
    for (;;) {
      const page = index.query({ limit: 10, ...(cursor ? { cursor } : {}) });
      for (const f of page.items) {
        assert.ok(f.anomaly.detectedAtMs <= last);
        last = f.anomaly.detectedAtMs;
        seen.push(f.anomaly.id);
      }
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    assert.equal(seen.length, 25);
    assert.equal(new Set(seen).size, 25);
  });

  it('filters by rule, account, outcome, severity and time range', () => {
    const index = new FlagIndex(new ManualClock(0));
    index.record(anomaly({ id: 'a', rule: 'x', detectedAtMs: 10 }), 'revoke', 'automate');
    index.record(anomaly({ id: 'b', rule: 'y', detectedAtMs: 20, severity: 'low' }), 'review', 'moderate');
    index.record(anomaly({ id: 'c', rule: 'y', detectedAtMs: 30 }), 'would-have', 'monitor');
    const ids = (q: Parameters<FlagIndex['query']>[0]) => index.query(q).items.map((f) => f.anomaly.id);
    assert.deepEqual(ids({ rule: 'y', limit: 10 }), ['c', 'b']);
    assert.deepEqual(ids({ outcome: 'revoke', limit: 10 }), ['a']);
    assert.deepEqual(ids({ severity: 'low', limit: 10 }), ['b']);
    assert.deepEqual(ids({ accountId: 'acct-c', limit: 10 }), ['c']);
    assert.deepEqual(ids({ fromMs: 20, toMs: 30, limit: 10 }), ['b']);
  });

  it('keeps the newest version of a flag, and drops the oldest past its bounds', () => {
    const clock = new ManualClock(0);
    const index = new FlagIndex(clock, 3, 1_000);
    index.record(anomaly({ id: 'a', version: 2, observed: 8 }), 'review', 'moderate');
    index.record(anomaly({ id: 'a', version: 1 }), 'review', 'moderate');
    assert.equal(index.get('a')?.anomaly.observed, 8, 'an older version does not replace a newer one');
    for (const id of ['b', 'c', 'd']) index.record(anomaly({ id }), 'review', 'moderate');
    assert.equal(index.size, 3);
    assert.equal(index.get('a'), undefined, 'the oldest is dropped past the count bound');
    clock.advance(1_001);
    assert.equal(index.all().length, 0, 'and everything past the age bound');
  });

  it('refuses a cursor it did not make', () => {
    const index = new FlagIndex(new ManualClock(0));
    assert.throws(
      () => index.query({ limit: 1, cursor: 'drop table' }),
      (e: unknown) => isLeechguardError(e) && e.code === 'ENF_ERR_CURSOR_INVALID',
    );
  });

  it('exports CSV that quotes separators and defuses spreadsheet formulas', () => {
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
    assert.equal(csvField(-3), '-3', 'numbers are numbers');
    const index = new FlagIndex(new ManualClock(0));
    index.record(
      anomaly({ id: 'q', evidence: { ...anomaly({ id: 'q' }).evidence, note: 'line\nbreak' } }),
      'review',
      'moderate',
    );
    assert.match(flagCsvRow(index.get('q')!), /,"line\nbreak"$/);
  });
});

describe('rule precision', () => {
  it('is a Wilson interval: honest with few decisions, inside [0, 1]', () => {
    const { low, high } = wilson(3, 3);
    assert.ok(low > 0.43 && low < 0.45, `3 of 3: low ${low}`);
    assert.equal(high, 1);
    const p = precisionOf(90, 10);
    assert.equal(p.precision, 0.9);
    assert.ok(p.low! > 0.82 && p.low! < 0.83 && p.high! > 0.94 && p.high! < 0.96, JSON.stringify(p));
    assert.equal(precisionOf(0, 0).precision, null);
  });
});

describe('a policy preview', () => {
  it('counts what the proposed policy would have revoked, on how many accounts, over the span only', () => {
    const index = new FlagIndex(new ManualClock(0));
    index.record(anomaly({ id: 'old', detectedAtMs: 10 }), 'would-have', 'monitor');
    index.record(anomaly({ id: 'a1', detectedAtMs: 500, accountId: 'acct-1' }), 'would-have', 'monitor');
    index.record(anomaly({ id: 'a2', detectedAtMs: 600, accountId: 'acct-1' }), 'would-have', 'monitor');
    index.record(anomaly({ id: 'b', detectedAtMs: 700, accountId: 'acct-2' }), 'would-have', 'monitor');
    index.record(anomaly({ id: 'other', rule: 'cat-replay', detectedAtMs: 700 }), 'would-have', 'monitor');
    const current = compilePolicies(policiesSchema.parse({ allowList: { accounts: ['acct-2'] } }));
    const p = previewPolicy(
      current,
      'geo-spread',
      rulePolicySchema.parse({ mode: 'automate' }),
      index.all(),
      100,
      1_000,
    );
    assert.equal(p.flags, 3);
    assert.equal(p.revocations, 2);
    assert.equal(p.accounts, 1);
    assert.equal(p.outcomes['allow-listed'], 1, 'the allow-list still wins');
    assert.equal(current.policies.rules['geo-spread'], undefined, 'the policies in force are untouched');
  });
});

describe('reason codes', () => {
  it('travel at the head of the decision comment and read back', () => {
    assert.equal(withReason('shared-ip', 'campus NAT'), '[shared-ip] campus NAT');
    assert.equal(reasonOf('[shared-ip] campus NAT'), 'shared-ip');
    assert.equal(reasonOf('[made-up] x'), undefined);
  });
});

describe('console sessions', () => {
  const principal = { name: 'alice', roles: ['analyst'] as const };
  const req = (cookie: string | undefined, method = 'GET', csrf?: string) =>
    ({ method, headers: { cookie, ...(csrf ? { 'x-csrf-token': csrf } : {}) } }) as unknown as FastifyRequest;

  it('find the principal by cookie until the session expires', () => {
    const clock = new ManualClock(0);
    const sessions = new ConsoleSessions(clock);
    const s = sessions.create({ ...principal, roles: [...principal.roles] });
    assert.equal(sessions.principalOf(req(`other=1; lg_console=${s.id}`))?.name, 'alice');
    assert.equal(sessions.principalOf(req('lg_console=forged')), undefined);
    clock.advance(8 * 60 * 60 * 1000);
    assert.equal(sessions.principalOf(req(`lg_console=${s.id}`)), undefined);
  });

  it('refuse a write without the session CSRF token', () => {
    const sessions = new ConsoleSessions(new ManualClock(0));
    const s = sessions.create({ ...principal, roles: [...principal.roles] });
    const csrf = (e: unknown) => isLeechguardError(e) && e.code === 'ENF_ERR_CSRF_INVALID';
    assert.throws(() => sessions.principalOf(req(`lg_console=${s.id}`, 'POST')), csrf);
    assert.throws(() => sessions.principalOf(req(`lg_console=${s.id}`, 'POST', 'wrong')), csrf);
    assert.equal(sessions.principalOf(req(`lg_console=${s.id}`, 'POST', s.csrfToken))?.name, 'alice');
  });

  it('read one cookie out of a Cookie header', () => {
    assert.equal(cookieValue('a=1; lg_console=xyz; b=2', 'lg_console'), 'xyz');
    assert.equal(cookieValue('xlg_console=1', 'lg_console'), undefined);
    assert.equal(cookieValue(undefined, 'lg_console'), undefined);
  });
});
