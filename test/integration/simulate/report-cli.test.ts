/**
 * The two commands end to end through the CLI: `leechguard simulate` writes a small run, flags
 * are made from its truth with known mistakes (a CGNAT account flagged, one bot missed), and
 * `leechguard report` writes a markdown report and charts that state exactly those mistakes.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { Anomaly, Revocation } from '../../../core/schemas/generated.ts';
import { emptyEvidence } from '../../../detector/rules/kit.ts';
import type { Truth } from '../../../simulate/model.ts';

const dir = mkdtempSync(join(tmpdir(), 'lg-sim-report-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const cli = new URL('../../../bin/leechguard.mjs', import.meta.url).pathname;

function leechguard(...args: string[]): string {
  return execFileSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
}

function flagFor(accountId: string, rule: string, atMs: number): Anomaly {
  return {
    id: `${rule}:${accountId}`,
    version: 1,
    rule,
    subjectKind: 'account',
    subjectKey: accountId,
    tenant: 'default',
    accountId,
    tokenHash: null,
    tokenExpiresAtMs: null,
    evictSessionId: null,
    severity: 'high',
    threshold: 1,
    observed: 2,
    windowStartMs: atMs - 60_000,
    windowEndMs: atMs,
    detectedAtMs: atMs,
    triggerEventId: 'x',
    evidence: { ...emptyEvidence(), eventCount: 1 },
  };
}

test('simulate then report: the report states the figures and names the mistakes', () => {
  const out = join(dir, 'sim');
  const printed = leechguard(
    'simulate',
    '--viewers',
    '300',
    '--abusers',
    '0.1',
    '--seed',
    'cli',
    '--resale-clients',
    '5,10',
    '--out',
    out,
  );
  assert.match(printed, /300 viewers \(30 abusers\)/);
  for (const f of [
    'cloudfront-standard.log',
    'cloudfront-realtime.tsv',
    'akamai-ds2.jsonl',
    'fastly.ndjson',
    'heartbeats.ndjson',
    'accounts.ndjson',
    'truth.json',
    'cloudfront-realtime.fields.txt',
  ]) {
    assert.ok(existsSync(join(out, f)), f);
  }
  const truth = JSON.parse(readFileSync(join(out, 'truth.json'), 'utf8')) as Truth;
  const abusers = truth.accounts.filter((a) => a.label === 'abuser');
  const missedBot = abusers.find((a) => a.class === 'bot');
  const cgnat = truth.accounts.find((a) => a.class === 'cgnat');
  assert.ok(missedBot && cgnat);
  const flags: Anomaly[] = abusers
    .filter((a) => a !== missedBot)
    .map((a) => flagFor(a.accountId, a.expectedRules[0] as string, (a.abuseStartMs as number) + 4_000));
  flags.push(flagFor(cgnat.accountId, 'token-network-spread', truth.startMs + 60_000));
  const revocations: Revocation[] = flags.slice(0, 5).map((f) => ({
    id: `rev-${f.id}`,
    action: 'block_token',
    subjectKind: 'account',
    subjectKey: f.subjectKey,
    tenant: 'default',
    accountId: f.accountId,
    rule: f.rule,
    anomalyId: f.id,
    reason: 'test',
    issuedBy: 'policy:automate',
    issuedAtMs: f.detectedAtMs + 500,
    expiresAtMs: f.detectedAtMs + 3_600_000,
    state: 'active',
    liftedAtMs: null,
    liftedBy: null,
    liftReason: null,
    slate: null,
    throttleKbps: null,
  }));
  writeFileSync(join(dir, 'flags.ndjson'), flags.map((f) => JSON.stringify(f)).join('\n'));
  writeFileSync(join(dir, 'revs.ndjson'), revocations.map((r) => JSON.stringify(r)).join('\n'));
  const reportDir = join(dir, 'report');
  const summary = leechguard(
    'report',
    '--truth',
    join(out, 'truth.json'),
    '--flags',
    join(dir, 'flags.ndjson'),
    '--revocations',
    join(dir, 'revs.ndjson'),
    '--out',
    reportDir,
  );
  assert.match(summary, /precision 96\.67%, recall 96\.67%/);
  const md = readFileSync(join(reportDir, 'report.md'), 'utf8');
  assert.match(
    md,
    new RegExp(
      `Rule token-network-spread flagged 1 legitimate account\\(s\\) \\(cgnat 1\\), e\\.g\\. ${cgnat.accountId} \\(cgnat\\)`,
    ),
  );
  assert.match(md, new RegExp(`${missedBot.accountId} \\(bot, expected request-rate`));
  assert.match(md, /\| abuse start → first flag, p50 \/ p99 \| 4\.0 s \/ 4\.0 s \|/);
  for (const svg of ['precision-recall.svg', 'time-to-detect.svg', 'class-rule-matrix.svg']) {
    assert.match(readFileSync(join(reportDir, svg), 'utf8'), /<svg[^>]*>[\s\S]*<\/svg>\s*$/);
  }
  const json = JSON.parse(readFileSync(join(reportDir, 'report.json'), 'utf8'));
  assert.equal(json.overall.falsePositives, 1);
  assert.equal(json.overall.falseNegatives, 1);
});

test('two runs with the same seed write byte-identical files', () => {
  const hashes = (out: string) => {
    leechguard('simulate', '--viewers', '120', '--seed', 'bytes', '--resale-clients', '5,8', '--out', out);
    return [
      'cloudfront-standard.log',
      'cloudfront-realtime.tsv',
      'akamai-ds2.jsonl',
      'fastly.ndjson',
      'heartbeats.ndjson',
      'accounts.ndjson',
      'truth.json',
    ].map((f) =>
      createHash('sha256')
        .update(readFileSync(join(out, f)))
        .digest('hex'),
    );
  };
  assert.deepEqual(hashes(join(dir, 'a')), hashes(join(dir, 'b')));
});

test('--gzip writes the same lines as concatenated gzip members', () => {
  leechguard(
    'simulate',
    '--viewers',
    '80',
    '--seed',
    'gz',
    '--resale-clients',
    '5,8',
    '--out',
    join(dir, 'plain'),
  );
  leechguard(
    'simulate',
    '--viewers',
    '80',
    '--seed',
    'gz',
    '--resale-clients',
    '5,8',
    '--gzip',
    '--out',
    join(dir, 'gz'),
  );
  for (const f of [
    'cloudfront-standard.log',
    'cloudfront-realtime.tsv',
    'akamai-ds2.jsonl',
    'fastly.ndjson',
    'heartbeats.ndjson',
    'accounts.ndjson',
  ]) {
    assert.deepEqual(
      gunzipSync(readFileSync(join(dir, 'gz', `${f}.gz`))),
      readFileSync(join(dir, 'plain', f)),
      f,
    );
  }
});
