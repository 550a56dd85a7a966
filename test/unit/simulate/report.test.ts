/** The report's arithmetic on a case small enough to check by hand. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Anomaly, Revocation } from '../../../core/schemas/generated.ts';
import { emptyEvidence } from '../../../detector/rules/kit.ts';
import { LEGIT_CLASSES, type Truth, type TruthAccount } from '../../../simulate/model.ts';
import { buildReport, LEGIT_PATTERN, percentile } from '../../../simulate/report/compute.ts';
import {
  classRuleMatrixSvg,
  latencySvg,
  precisionRecallSvg,
  renderMarkdown,
} from '../../../simulate/report/render.ts';

const T0 = 1_000_000;

function account(
  id: string,
  label: 'legit' | 'abuser',
  cls: string,
  expected: string[] = [],
  abuseStartMs: number | null = null,
): TruthAccount {
  return {
    accountId: id,
    tenant: 'default',
    label,
    class: cls as TruthAccount['class'],
    expectedRules: expected,
    abuseStartMs,
    planId: 'standard',
    streamLimit: 2,
    tokenHashes: [`hash-${id}`],
    facts: {
      sessions: 1,
      peakConcurrentSessions: 1,
      networks: 1,
      countries: 1,
      clients: 1,
      paceMax: 1,
      heartbeats: true,
    },
  };
}

// Four legitimate accounts, four abusers. Hand-checked expectations:
// - token-network-spread flags R1 (abuser, +5 s), R2 (abuser, +20 s) and C1 (cgnat, a false positive);
// - account-concurrency flags S1 (abuser, +2 s) and misses S2; R2's token flag comes only as a token subject;
// - overall: flagged = R1, R2, S1, C1 -> TP 3, FP 1 -> precision 3/4, recall 3/4, FPR 1/4.
const truth: Truth = {
  version: 1,
  seed: 'hand',
  startMs: T0,
  endMs: T0 + 600_000,
  viewers: 8,
  abusers: 4,
  tokenKeyId: 'k1',
  classCounts: {},
  accounts: [
    account('H1', 'legit', 'household'),
    account('H2', 'legit', 'household'),
    account('C1', 'legit', 'cgnat'),
    account('M1', 'legit', 'commuter'),
    account('R1', 'abuser', 'token-resale', ['token-network-spread'], T0 + 10_000),
    account('R2', 'abuser', 'token-resale', ['token-network-spread'], T0 + 10_000),
    account('S1', 'abuser', 'credential-sharing', ['account-concurrency'], T0 + 30_000),
    account('S2', 'abuser', 'credential-sharing', ['account-concurrency'], T0 + 30_000),
  ],
};

function flag(
  id: string,
  rule: string,
  accountId: string | null,
  detectedAtMs: number,
  extra: Partial<Anomaly> = {},
): Anomaly {
  return {
    id,
    version: 1,
    rule,
    subjectKind: 'account',
    subjectKey: accountId ?? '',
    tenant: 'default',
    accountId,
    tokenHash: null,
    tokenExpiresAtMs: null,
    evictSessionId: null,
    severity: 'high',
    threshold: 4,
    observed: 9,
    windowStartMs: T0,
    windowEndMs: T0 + 60_000,
    detectedAtMs,
    triggerEventId: 'e',
    evidence: { ...emptyEvidence(), eventCount: 1 },
    ...extra,
  };
}

const flags: Anomaly[] = [
  flag('f1', 'token-network-spread', 'R1', T0 + 15_000),
  // The same flag escalated later: counted once, at its first detection.
  flag('f1', 'token-network-spread', 'R1', T0 + 40_000, { version: 2 }),
  // A token-subject flag without an account id: attributed through the truth's token hashes.
  flag('f2', 'token-network-spread', null, T0 + 30_000, { subjectKind: 'token', subjectKey: 'hash-R2' }),
  flag('f3', 'token-network-spread', 'C1', T0 + 50_000),
  flag('f4', 'account-concurrency', 'S1', T0 + 32_000),
  // A flag on an account the truth does not know: counted apart.
  flag('f5', 'account-concurrency', 'ghost', T0 + 1_000),
];

function revocation(id: string, accountId: string, issuedAtMs: number): Revocation {
  return {
    id,
    action: 'block_token',
    subjectKind: 'account',
    subjectKey: accountId,
    tenant: 'default',
    accountId,
    rule: 'token-network-spread',
    anomalyId: null,
    reason: 'r',
    issuedBy: 'policy:automate',
    issuedAtMs,
    expiresAtMs: issuedAtMs + 3_600_000,
    state: 'active',
    liftedAtMs: null,
    liftedBy: null,
    liftReason: null,
    slate: null,
    throttleKbps: null,
  };
}

const revocations = [revocation('r1', 'R1', T0 + 16_000), revocation('r2', 'S1', T0 + 90_000)];

test('overall precision, recall and false-positive rate count accounts, not flags', () => {
  const r = buildReport(truth, flags, revocations);
  assert.equal(r.overall.truePositives, 3);
  assert.equal(r.overall.falsePositives, 1);
  assert.equal(r.overall.falseNegatives, 1);
  assert.equal(r.overall.precision, 0.75);
  assert.equal(r.overall.recall, 0.75);
  assert.equal(r.overall.falsePositiveRate, 0.25);
  assert.equal(r.inputs.distinctFlags, 5);
  assert.equal(r.inputs.unattributedFlags, 1);
});

test('per-rule figures use the accounts each rule is expected to catch', () => {
  const r = buildReport(truth, flags, revocations);
  const spread = r.rules.find((x) => x.rule === 'token-network-spread');
  assert.ok(spread);
  assert.equal(spread.truePositives, 2);
  assert.equal(spread.falsePositives, 1);
  assert.equal(spread.precision, 2 / 3);
  assert.equal(spread.expected, 2);
  assert.equal(spread.recall, 1);
  assert.deepEqual(spread.falsePositiveByClass, { cgnat: 1 });
  const conc = r.rules.find((x) => x.rule === 'account-concurrency');
  assert.ok(conc);
  assert.equal(conc.recall, 0.5);
  assert.deepEqual(conc.missedByClass, { 'credential-sharing': 1 });
  assert.deepEqual(conc.missedExamples, [{ accountId: 'S2', class: 'credential-sharing' }]);
});

test('time to flag and to revocation run from the abuse start, earliest detection per account', () => {
  const r = buildReport(truth, flags, revocations);
  // R1 +5 s, R2 +20 s, S1 +2 s -> sorted 2, 5, 20 s: p50 = 5 s, p99 = 20 s.
  assert.equal(r.overall.timeToFlag.p50Ms, 5_000);
  assert.equal(r.overall.timeToFlag.p99Ms, 20_000);
  // R1 revoked +6 s, S1 +60 s -> p50 6 s, p99 60 s: not under the 60 s target.
  assert.equal(r.overall.timeToRevocation.p50Ms, 6_000);
  assert.equal(r.overall.timeToRevocation.p99Ms, 60_000);
  assert.equal(r.meets.revocationP99, false);
  assert.equal(r.overall.revokedAbusers, 2);
});

test('trigger-to-revocation delay runs from the flag a revocation names to its issue', () => {
  const named = [
    { ...revocation('r1', 'R1', T0 + 15_400), anomalyId: 'f1' },
    { ...revocation('r2', 'S1', T0 + 32_900), anomalyId: 'f4' },
    { ...revocation('r3', 'H1', T0 + 99_000), anomalyId: 'no-such-flag' },
  ];
  const r = buildReport(truth, flags, named);
  // f1 detected at +15 s (its first version), f4 at +32 s: delays 400 and 900 ms; r3 names no flag.
  assert.equal(r.overall.triggerToRevocation.n, 2);
  assert.equal(r.overall.triggerToRevocation.p50Ms, 400);
  assert.equal(r.overall.triggerToRevocation.p99Ms, 900);
});

test('shortfalls name the rule, the classes and the accounts', () => {
  const r = buildReport(truth, flags, revocations);
  assert.equal(r.meets.precision, false);
  assert.equal(r.meets.recall, false);
  const text = r.shortfalls.join('\n');
  assert.match(
    text,
    /Rule token-network-spread flagged 1 legitimate account\(s\) \(cgnat 1\), e\.g\. C1 \(cgnat\)/,
  );
  assert.match(text, /S2 \(credential-sharing, expected account-concurrency\)/);
  assert.match(text, /Rule account-concurrency caught 1 of the 2/);
  assert.match(text, /60\.0 s, over the 60 s target/);
});

test('a perfect run reports no shortfall', () => {
  const perfect = [
    flag('a', 'token-network-spread', 'R1', T0 + 11_000),
    flag('b', 'token-network-spread', 'R2', T0 + 11_000),
    flag('c', 'account-concurrency', 'S1', T0 + 31_000),
    flag('d', 'account-concurrency', 'S2', T0 + 31_000),
  ];
  const r = buildReport(truth, perfect, []);
  assert.equal(r.overall.precision, 1);
  assert.equal(r.overall.recall, 1);
  assert.deepEqual(r.shortfalls, []);
  assert.equal(r.meets.revocationP99, null);
});

test('nearest-rank percentiles', () => {
  assert.equal(percentile([], 50), null);
  assert.equal(percentile([7], 99), 7);
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(hundred, 50), 50);
  assert.equal(percentile(hundred, 99), 99);
});

test('markdown and charts render the figures and are well-formed', () => {
  const r = buildReport(truth, flags, revocations);
  const md = renderMarkdown(r);
  assert.match(md, /\| precision \| 75\.00 % \|/);
  assert.match(md, /## Where it falls short/);
  assert.match(md, /!\[precision and recall per rule\]\(precision-recall\.svg\)/);
  for (const svg of [precisionRecallSvg(r), latencySvg(r), classRuleMatrixSvg(r)]) {
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.ok(svg.trimEnd().endsWith('</svg>'));
    assert.equal((svg.match(/<text/g) ?? []).length, (svg.match(/<\/text>/g) ?? []).length);
  }
  assert.match(classRuleMatrixSvg(r), /cgnat × token-network-spread: 1 of 1/);
});

test('every legitimate class has the pattern a shortfall names when a rule flags it', () => {
  for (const cls of LEGIT_CLASSES) assert.ok(LEGIT_PATTERN[cls], `no pattern for ${cls}`);
});
