/**
 * The console's API on a real enforcer (Kafka, registry, Redis of the local stack): the flag
 * index through HTTP (filters, cursor pages, CSV export), the account page, bulk decisions,
 * revocations by hand, and the session cookie beside bearer keys.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../../core/log.ts';
import { createRedis, type Redis } from '../../../core/redis.ts';
import type { Anomaly } from '../../../core/schemas/generated.ts';
import { denyKey } from '../../../enforcer/denylist/keys.ts';
import { type RunningEnforcer, startEnforcer } from '../../../enforcer/main.ts';
import { waitFor } from '../../support/wait.ts';
import {
  ANALYST_KEY,
  enforcerConfig,
  type FlagProducer,
  flag,
  flagProducer,
  OPERATOR_KEY,
} from './support.ts';

const run = randomUUID().slice(0, 6);
const RULE = { watch: `console-watch-${run}`, review: `console-review-${run}` };

describe('the console API on real Kafka + Redis', () => {
  let enforcer: RunningEnforcer;
  let producer: FlagProducer;
  let redis: Redis;
  const account = `acct-api-${run}`;
  const watched: Anomaly[] = [];
  const queued: Anomaly[] = [];

  async function api(method: string, path: string, auth: Record<string, string>, body?: unknown) {
    const res = await fetch(`${enforcer.url}${path}`, {
      method,
      headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      text,
      json: text.startsWith('{') ? JSON.parse(text) : null,
    };
  }
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

  before(async () => {
    const config = await enforcerConfig({
      policies: { rules: { [RULE.watch]: { mode: 'monitor' }, [RULE.review]: { mode: 'moderate' } } },
    });
    enforcer = await startEnforcer(config, { logger: createLogger('enforcer-test', 'silent') });
    producer = await flagProducer();
    redis = createRedis(config.redis.url, createLogger('test', 'silent'));
    const now = Date.now();
    for (let i = 0; i < 7; i++) {
      watched.push(
        flag({ rule: RULE.watch, detectedAtMs: now - i * 60_000, severity: i < 2 ? 'critical' : 'low' }),
      );
    }
    for (let i = 0; i < 3; i++) queued.push(flag({ rule: RULE.review, accountId: account }));
    await producer.send([...watched, ...queued]);
    await waitFor('the flags in the index', () =>
      [...watched, ...queued].every((f) => enforcer.enforcement.parts.flags.get(f.id)),
    );
  });

  after(async () => {
    await enforcer?.close();
    await producer?.close();
    redis?.disconnect();
  });

  it('pages the flag index newest first by cursor, each flag once, with its outcome', async () => {
    const seen: string[] = [];
    let cursor = '';
    for (let pages = 0; pages < 10; pages++) {
      const r = await api(
        'GET',
        `/v1/flags?rule=${RULE.watch}&limit=3${cursor ? `&cursor=${cursor}` : ''}`,
        bearer(ANALYST_KEY),
      );
      assert.equal(r.status, 200, r.text);
      for (const f of r.json.items) {
        assert.equal(f.outcome, 'would-have');
        seen.push(f.id);
      }
      if (!r.json.nextCursor) break;
      cursor = r.json.nextCursor;
    }
    assert.deepEqual(
      seen,
      watched.map((f) => f.id),
      'newest detection first, every flag once',
    );
    const critical = await api('GET', `/v1/flags?rule=${RULE.watch}&severity=critical`, bearer(ANALYST_KEY));
    assert.equal(critical.json.items.length, 2);
    const bad = await api('GET', '/v1/flags?cursor=nope', bearer(ANALYST_KEY));
    assert.equal(bad.status, 400);
    assert.equal(bad.json.code, 'ENF_ERR_CURSOR_INVALID');
    assert.equal((await api('GET', '/v1/flags', {})).status, 401, 'no key, no cookie: refused');
  });

  it('exports the matching flags as CSV, one row each', async () => {
    const r = await api('GET', `/v1/flags?rule=${RULE.watch}&format=csv`, bearer(OPERATOR_KEY));
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /text\/csv/);
    assert.match(
      r.headers.get('content-disposition') ?? '',
      /attachment; filename="leechguard-flags-.*\.csv"/,
    );
    const rows = r.text.trim().split('\r\n');
    assert.equal(rows.length, 1 + watched.length);
    assert.deepEqual(new Set(rows.slice(1).map((l) => l.split(',')[0])), new Set(watched.map((f) => f.id)));
  });

  it('bulk-decides with a reason code; the account page joins flags, reviews and revocations', async () => {
    const [a, b, c] = queued;
    await waitFor('the review entries', () =>
      queued.every((f) => enforcer.enforcement.parts.reviews.get(f.id)),
    );
    const bulk = await api('POST', '/v1/reviews/decisions', bearer(ANALYST_KEY), {
      anomalyIds: [a!.id, b!.id, `missing-${run}`],
      decision: 'approved',
      reasonCode: 'confirmed-sharing',
    });
    assert.equal(bulk.status, 200, bulk.text);
    const byId = Object.fromEntries(bulk.json.results.map((x: { anomalyId: string }) => [x.anomalyId, x]));
    assert.equal(byId[a!.id].ok, true);
    assert.equal(byId[b!.id].ok, true);
    assert.equal(byId[`missing-${run}`].code, 'ENF_ERR_REVIEW_NOT_FOUND', 'each entry answers on its own');
    for (const f of [a!, b!]) assert.equal(await redis.exists(denyKey('token', f.subjectKey)), 1);
    const wrongReason = await api('POST', '/v1/reviews/decisions', bearer(ANALYST_KEY), {
      anomalyIds: [c!.id],
      decision: 'rejected',
      reasonCode: 'because',
    });
    assert.equal(wrongReason.status, 400);

    const page = await api('GET', `/v1/accounts/${account}`, bearer(ANALYST_KEY));
    assert.equal(page.status, 200);
    assert.equal(page.json.flags.length, 3);
    assert.equal(page.json.reviews.filter((r: { status: string }) => r.status === 'approved').length, 2);
    assert.equal(
      page.json.reviews.find((r: { anomalyId: string }) => r.anomalyId === a!.id).reason,
      'confirmed-sharing',
    );
    assert.equal(page.json.revocations.length, 2);
    assert.ok(page.json.timeline.some((t: { kind: string }) => t.kind === 'revocation'));
  });

  it('revokes by hand, audited with who and why, and lifts', async () => {
    const subject = `acct-manual-${run}`;
    const r = await api('POST', '/v1/revocations', bearer(OPERATOR_KEY), {
      subjectKind: 'account',
      subjectKey: subject,
      reason: 'chargeback fraud',
      durationMs: 3_600_000,
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.issuedBy, 'manual:olga');
    assert.equal(r.json.action, 'block_account');
    assert.equal(r.json.rule, 'manual');
    assert.equal(await redis.exists(denyKey('account', subject)), 1);
    const lifted = await api('POST', `/v1/revocations/${r.json.id}/lift`, bearer(ANALYST_KEY), {
      reason: 'refund',
    });
    assert.equal(lifted.status, 200);
    assert.equal(await redis.exists(denyKey('account', subject)), 0);
  });

  it('signs in by cookie beside bearer keys: reads need the cookie, writes the CSRF token too; sign-out ends it', async () => {
    const wrong = await api('POST', '/ui/session', {}, { key: 'not-a-key' });
    assert.equal(wrong.status, 401);
    const signIn = await api('POST', '/ui/session', {}, { key: OPERATOR_KEY });
    assert.equal(signIn.status, 200);
    const setCookie = signIn.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /^lg_console=[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=28800$/);
    const cookie = { cookie: setCookie.split(';')[0]! };
    assert.equal((await api('GET', '/v1/policies', cookie)).status, 200);
    const policy = { policy: { mode: 'automate', rolloutPercent: 10 }, comment: 'stage 2' };
    const noCsrf = await api('PUT', `/v1/policies/rules/${RULE.watch}`, cookie, policy);
    assert.equal(noCsrf.status, 403);
    assert.equal(noCsrf.json.code, 'ENF_ERR_CSRF_INVALID');
    const withCsrf = await api(
      'PUT',
      `/v1/policies/rules/${RULE.watch}`,
      { ...cookie, 'x-csrf-token': signIn.json.csrfToken },
      policy,
    );
    assert.equal(withCsrf.status, 200, withCsrf.text);
    assert.equal(withCsrf.json.changedBy, 'olga');
    const preview = await api('POST', `/v1/rules/${RULE.watch}/preview`, bearer(ANALYST_KEY), {
      policy: { mode: 'automate' },
      days: 1,
    });
    assert.equal(preview.json.flags, watched.length);
    const out = await api('DELETE', '/ui/session', { ...cookie, 'x-csrf-token': signIn.json.csrfToken });
    assert.equal(out.status, 200);
    assert.equal((await api('GET', '/v1/policies', cookie)).status, 401, 'the cookie is dead after sign-out');
    assert.deepEqual((await api('GET', '/ui/session', cookie)).json, { signedIn: false });
  });
});
