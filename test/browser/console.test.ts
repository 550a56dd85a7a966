/**
 * The analyst console in a real Chromium against a real enforcer on the local stack (Kafka,
 * registry, Redis): sign in, read evidence (a hostile string stays text), approve a review (the
 * revocation reaches Redis), lift it, revoke by hand, export flags, promote a rule after a
 * preview, read the audit; no console errors on any page. A screenshot of each page is written
 * to .leechguard/test-output/console/ (docs/console/ holds copies for README).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'puppeteer-core';
import { createLogger } from '../../core/log.ts';
import { createRedis, type Redis } from '../../core/redis.ts';
import type { Anomaly } from '../../core/schemas/generated.ts';
import { enforcerConfigSchema } from '../../enforcer/config.ts';
import { denyKey } from '../../enforcer/denylist/keys.ts';
import { mountEdgeApis, type RunningEnforcer, startEnforcer } from '../../enforcer/main.ts';
import {
  ANALYST_KEY,
  enforcerConfig,
  type FlagProducer,
  flag,
  flagProducer,
  OPERATOR_KEY,
} from '../integration/enforcer/support.ts';
import { chromiumMissing, launchBrowser, type RunningBrowser } from '../support/browser.ts';
import { waitFor } from '../support/wait.ts';

const OUT = join(process.cwd(), '.leechguard', 'test-output', 'console');
const run = randomUUID().slice(0, 6);
const RULE = {
  shared: `token-network-spread-${run}`,
  travel: `impossible-travel-${run}`,
  monitor: `geo-spread-${run}`,
};
const HOSTILE = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>`;
const MIN = 60_000;
const BACKEND_KEY = 'backend-key-0123456789abcdef';

describe('the analyst console in a real browser', { skip: chromiumMissing() }, () => {
  let enforcer: RunningEnforcer;
  let producer: FlagProducer;
  let redis: Redis;
  let browser: RunningBrowser;
  let page: Page;
  const accountA = `acct-console-${run}`;
  const flags: Anomaly[] = [];

  before(async () => {
    mkdirSync(OUT, { recursive: true });
    const base = await enforcerConfig({
      policies: {
        rules: {
          [RULE.shared]: { mode: 'moderate', action: 'block_token', durationMs: 60 * MIN },
          [RULE.travel]: { mode: 'moderate', action: 'block_token' },
          [RULE.monitor]: { mode: 'monitor', action: 'block_account' },
        },
      },
    });
    // A backend key too, to start a real playback session the account page shows.
    const config = enforcerConfigSchema.parse({
      ...base,
      http: {
        ...base.http,
        apiKeys: [...base.http.apiKeys, { name: 'backend', key: BACKEND_KEY, roles: ['backend'] }],
      },
    });
    enforcer = await startEnforcer(config, {
      logger: createLogger('enforcer-test', 'silent'),
      mount: mountEdgeApis(config),
    });
    producer = await flagProducer();
    redis = createRedis(config.redis.url, createLogger('test', 'silent'));
    const now = Date.now();
    const hostile = flag({
      rule: RULE.shared,
      accountId: accountA,
      severity: 'critical',
      observed: 7,
      threshold: 3,
      tokenExpiresAtMs: now + 2 * 60 * MIN,
      evidence: {
        eventCount: 412,
        networks: [
          { value: '203.0.113.0/24', count: 220, firstSeenMs: now - 50 * MIN, lastSeenMs: now - MIN },
          { value: '198.51.100.0/24', count: 96, firstSeenMs: now - 41 * MIN, lastSeenMs: now - 2 * MIN },
          { value: HOSTILE, count: 12, firstSeenMs: now - 30 * MIN, lastSeenMs: now - 3 * MIN },
        ],
        countries: [
          { value: 'FR', count: 316, firstSeenMs: now - 50 * MIN, lastSeenMs: now - MIN },
          { value: 'BR', count: 96, firstSeenMs: now - 41 * MIN, lastSeenMs: now - 2 * MIN },
        ],
        asns: [{ value: 'AS3215', count: 220, firstSeenMs: now - 50 * MIN, lastSeenMs: now - MIN }],
        devices: [],
        sessions: [],
        travel: null,
        note: `token used from 7 networks in 60 min ${HOSTILE}`,
        signals: ['cdn-logs', 'heartbeats'],
        ruledOut: [`a household on wifi + 4G ${HOSTILE}`],
      },
    });
    const travel = flag({
      rule: RULE.travel,
      accountId: accountA,
      severity: 'high',
      observed: 9800,
      threshold: 1000,
      evidence: {
        eventCount: 38,
        networks: [],
        countries: [],
        asns: [],
        devices: [],
        sessions: [
          {
            sessionId: `s-${run}-1`,
            deviceId: 'tv-living-room',
            contentId: 'match-221',
            networkPrefix: '203.0.113.0/24',
            country: 'FR',
            startedAtMs: now - 40 * MIN,
            lastSeenMs: now - MIN,
            evict: false,
          },
          {
            sessionId: `s-${run}-2`,
            deviceId: 'android-7f2',
            contentId: 'match-221',
            networkPrefix: '198.51.100.0/24',
            country: 'US',
            startedAtMs: now - 12 * MIN,
            lastSeenMs: now - MIN,
            evict: true,
          },
        ],
        travel: {
          fromCountry: 'FR',
          toCountry: 'US',
          fromNetwork: '203.0.113.0/24',
          toNetwork: '198.51.100.0/24',
          distanceKm: 5837,
          elapsedMs: 35 * MIN,
          speedKmh: 10006,
          minDistanceKm: 4210,
          switches: 2,
        },
        note: 'Paris to New York in 35 minutes',
        signals: ['cdn-logs', 'heartbeats'],
        ruledOut: ['a single jump (an address re-geolocated, a VPN switched on): 2 impossible switches'],
      },
    });
    flags.push(hostile, travel);
    for (let i = 0; i < 6; i++) {
      flags.push(
        flag({ rule: RULE.shared, severity: i % 2 ? 'medium' : 'high', detectedAtMs: now - i * 7 * MIN }),
      );
      flags.push(
        flag({
          rule: RULE.monitor,
          subjectKind: 'account',
          subjectKey: `acct-m${i}-${run}`,
          accountId: `acct-m${i}-${run}`,
          detectedAtMs: now - i * 11 * MIN,
        }),
      );
    }
    await producer.send(flags);
    for (const [deviceId, contentId] of [
      ['tv-living-room', 'match-221'],
      ['android-7f2', 'series-s02e04'],
    ]) {
      const res = await fetch(`${enforcer.url}/v1/sessions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${BACKEND_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ accountId: accountA, deviceId, contentId }),
      });
      assert.equal(res.status, 201, await res.text());
    }
    const { flags: index } = enforcer.enforcement.parts;
    await waitFor('every flag in the index', () => flags.every((f) => index.get(f.id)));
    browser = await launchBrowser();
    page = await browser.page();
  });

  after(async () => {
    await browser?.close();
    await enforcer?.close();
    await producer?.close();
    redis?.disconnect();
  });

  const shot = (name: string) => page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
  const go = async (hash: string, ready: string) => {
    await page.goto(`${enforcer.url}/ui/${hash}`);
    await page.waitForSelector(ready);
  };
  const click = async (selector: string) => {
    await page.waitForSelector(selector);
    await page.click(selector);
  };
  const textOf = (selector: string) => page.$eval(selector, (el) => el.textContent ?? '');
  const mainIncludes = (text: string) =>
    page.waitForFunction(`document.querySelector('main')?.textContent?.includes(${JSON.stringify(text)})`);
  /** What the export link serves, fetched by the page itself (its cookie, its origin). */
  const download = async (selector: string): Promise<string> => {
    const href = await page.$eval(selector, (a) => a.getAttribute('href') ?? '');
    return (await page.evaluate(`fetch(${JSON.stringify(href)}).then((r) => r.text())`)) as string;
  };

  test('sign-in exchanges the key for an HttpOnly, SameSite=Strict cookie the page cannot read', async () => {
    await go('', 'input[name=key]');
    await shot('sign-in');
    await page.type('input[name=key]', ANALYST_KEY);
    await click('[data-act=sign-in]');
    await page.waitForSelector('.stats');
    const cookies = await page.browser().cookies();
    const session = cookies.find((c) => c.name === 'lg_console');
    assert.ok(session, 'a session cookie is set');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.equal(await page.evaluate('document.cookie'), '', 'scripts never see the session');
    const headers = (await fetch(`${enforcer.url}/ui/`)).headers;
    assert.match(headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.match(headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    assert.doesNotMatch(headers.get('content-security-policy') ?? '', /unsafe-inline/);
  });

  test('a write by cookie without the CSRF token is refused', async () => {
    const cookie = (await page.browser().cookies()).find((c) => c.name === 'lg_console')!;
    const res = await fetch(`${enforcer.url}/v1/revocations`, {
      method: 'POST',
      headers: { cookie: `lg_console=${cookie.value}`, 'content-type': 'application/json' },
      body: JSON.stringify({ subjectKind: 'account', subjectKey: 'x', reason: 'r', durationMs: MIN }),
    });
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { code: string }).code, 'ENF_ERR_CSRF_INVALID');
  });

  test('the overview shows flags per hour by rule and the backlog', async () => {
    await go('#/overview', '.chart canvas');
    assert.match(await textOf('main'), new RegExp(RULE.shared));
    await shot('overview');
  });

  test('the review queue: evidence reads as text (a hostile string is shown, never run), assignment, notes, a bulk rejection with a reason code', async () => {
    const [hostile] = flags;
    await go('#/reviews', 'select[name=rule]');
    await page.select('select[name=rule]', RULE.shared);
    await page.select('select[name=sort]', 'severity');
    await click(`tr[data-review="${hostile!.id}"] button.link`);
    await page.waitForSelector('.evidence');
    const evidence = await textOf('.evidence');
    assert.ok(evidence.includes(HOSTILE), 'the hostile string is rendered as its text');
    assert.equal(await page.$$eval('.evidence img, .evidence script', (els) => els.length), 0);
    assert.equal(await page.evaluate('window.__pwned'), undefined);
    assert.match(evidence, /203\.0\.113\.0\/24/);
    assert.match(evidence, /over a limit of/);

    // Assignment and a note, kept on the review-queue record.
    const { reviews } = enforcer.enforcement.parts;
    await click(`tr[data-review="${hostile!.id}"] [data-act=assign-me]`);
    await waitFor('the assignment', () => reviews.get(hostile!.id)?.assignee === 'alice');
    await page.waitForSelector(`tr[data-review="${hostile!.id}"] .assignee`);
    await page.type('input[name=note]', 'same ASN as last week: likely resale');
    await click('[data-act=add-note]');
    await mainIncludes('same ASN as last week: likely resale');
    assert.deepEqual(
      reviews.get(hostile!.id)?.notes.map((n) => [n.by, n.text]),
      [['alice', 'same ASN as last week: likely resale']],
    );

    // A bulk rejection of two entries with one reason code, which each decision keeps.
    const two = flags.filter((f) => f.rule === RULE.shared && f.severity === 'medium').slice(0, 2);
    for (const f of two) await click(`tr[data-review="${f.id}"] input[type=checkbox]`);
    await page.select('select[name=reason]', 'shared-ip');
    await page.type('input[name=comment]', 'university campus NAT');
    await click('[data-act=bulk-reject]');
    await page.waitForSelector('.notice');
    assert.match(await textOf('.notice'), /2 rejected \(shared-ip\)/);
    for (const f of two) {
      const e = reviews.get(f.id);
      assert.equal(e?.status, 'rejected');
      assert.equal(e?.comment, '[shared-ip] university campus NAT');
    }
    await shot('reviews');
  });

  test('approving a review puts the revocation in Redis; lifting it on the account page removes it', async () => {
    const [hostile] = flags;
    await click(`tr[data-review="${hostile!.id}"] [data-act=approve]`);
    await page.waitForSelector('.notice');
    assert.match(await textOf('.notice'), /1 approved/);
    const key = denyKey('token', hostile!.subjectKey);
    await waitFor('the deny entry in Redis', async () => (await redis.exists(key)) === 1);

    await go(`#/account/${encodeURIComponent(accountA)}`, '[data-act=lift]');
    const travel = flags[1]!;
    await click('[data-act=lift]');
    await page.type('input[name=lift-reason]', 'customer called: shared with family by mistake');
    await click('[data-act=confirm-lift]');
    await waitFor('the deny entry gone from Redis', async () => (await redis.exists(key)) === 0);
    await mainIncludes('lifted by alice');

    // A revocation by hand, audited with who and why.
    await page.select('select[name=subject-kind]', 'account');
    await page.type('input[name=revoke-reason]', 'chargeback fraud confirmed by billing');
    await click('[data-act=manual-revoke]');
    await waitFor(
      'the manual account block in Redis',
      async () => (await redis.exists(denyKey('account', accountA))) === 1,
    );
    await mainIncludes('manual:alice');
    assert.match(await textOf('main'), /series-s02e04/, 'the active sessions are listed');
    // The travel flag's evidence on the account page: from → to with distance and speed.
    await click(`tr[data-flag="${travel.id}"] button.link`);
    await page.waitForSelector('.travel');
    assert.match(await textOf('.travel'), /FR.*→.*US/s);
    assert.match(
      await textOf('.travel'),
      /at least 4,210 km apart after each position's uncertainty \(5,837 km between centres\) in 35 min = 10,006 km\/h · 2 impossible switches/,
    );
    assert.match(await textOf('main'), /Ruled out.*a single jump/s);
    await shot('account');
  });

  test('the flags page lists every mode and exports CSV and NDJSON', async () => {
    await go('#/flags', '[data-act=export-csv]');
    await page.type('input[name=rule]', RULE.monitor);
    await page.keyboard.press('Tab');
    await page.waitForFunction(`document.querySelectorAll('tr[data-flag]').length === 6`);
    const csv = await download('[data-act=export-csv]');
    const lines = csv.trim().split('\r\n');
    assert.equal(lines.length, 7, 'a header and six flags');
    assert.match(lines[0]!, /^id,version,rule,severity,outcome/);
    assert.ok(lines.slice(1).every((l) => l.includes(`,${RULE.monitor},`) && l.includes(',would-have,')));
    const ndjson = await download('[data-act=export-ndjson]');
    assert.equal(ndjson.trim().split('\n').length, 6);
    await page.reload();
    await page.waitForSelector('tr[data-flag]');
    await shot('flags');
  });

  test('an operator previews a promotion over recent flags, promotes the rule, and the audit shows it', async () => {
    await click('[data-act=sign-out]');
    await page.waitForSelector('input[name=key]');
    await page.type('input[name=key]', OPERATOR_KEY);
    await click('[data-act=sign-in]');
    await page.waitForSelector('.side .me');

    await go('#/rules', `tr[data-rule="${RULE.monitor}"]`);
    await page.type('input[name=rule-filter]', run);
    await click(`tr[data-rule="${RULE.monitor}"] [data-act=open-rule]`);
    await page.waitForSelector('select[name=mode]');
    await page.select('select[name=mode]', 'automate');
    await click('[data-act=preview]');
    await page.waitForSelector('[data-preview]');
    assert.match(await textOf('[data-preview]'), /6 revocations on 6 accounts/);
    await page.type('input[name=change-reason]', 'precision 0.97 over 2 weeks of reviews');
    await click('[data-act=apply-policy]');
    await page.waitForSelector('.notice');
    assert.equal(enforcer.enforcement.parts.policies.policies.rules[RULE.monitor]?.mode, 'automate');
    await page.waitForSelector(`tr[data-rule="${RULE.monitor}"]`);
    await shot('rules');

    await go('#/audit', 'tr[data-change]');
    const audit = await textOf('main');
    assert.match(audit, new RegExp(`rule:${RULE.monitor}`));
    assert.match(audit, /precision 0\.97 over 2 weeks of reviews/);
    assert.match(audit, /olga/);
    await shot('audit');

    await go('#/revocations', '.card');
    await shot('revocations');
  });

  test('no page logged an error', () => {
    assert.deepEqual(browser.problems, []);
  });
});
