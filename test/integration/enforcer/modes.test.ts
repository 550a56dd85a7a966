/**
 * A flag under each mode gives exactly the expected effect, on the real Kafka + Redis:
 * monitor → nothing but a would-have count; moderate → one review entry; automate → a revocation
 * in Redis with the right TTL and a change message. Plus rollout, allow-lists, approve and lift.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createLogger } from '../../../core/log.ts';
import type { ReviewDecision } from '../../../core/schemas/generated.ts';
import { TOPICS } from '../../../core/topics.ts';
import { DENY_CHANGES_CHANNEL, type DenyChange, denyKey } from '../../../enforcer/denylist/keys.ts';
import { type RunningEnforcer, startEnforcer } from '../../../enforcer/main.ts';
import { inRollout } from '../../../enforcer/policy/rollout.ts';
import { dayOf } from '../../../enforcer/would-have/would-have.ts';
import { testEndpoints } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import {
  ANALYST_KEY,
  enforcerConfig,
  type FlagProducer,
  flag,
  flagProducer,
  OPERATOR_KEY,
  readRevocations,
  readTopic,
} from './support.ts';

const run = randomUUID().slice(0, 6);
const RULE = {
  monitor: `t${run}-monitor`,
  moderate: `t${run}-moderate`,
  automate: `t${run}-automate`,
  rollout: `t${run}-rollout`,
  evict: `t${run}-evict`,
  substitute: `t${run}-substitute`,
};
const HOUR_MS = 3_600_000;

describe('enforcer modes on real Kafka + Redis', () => {
  let enforcer: RunningEnforcer;
  let producer: FlagProducer;
  let redis: Redis;
  let subscriber: Redis;
  const changes: DenyChange[] = [];

  async function api(
    method: string,
    path: string,
    key: string,
    body?: unknown,
  ): Promise<{
    status: number; // biome-ignore lint/suspicious/noExplicitAny: test reads arbitrary JSON answers
    json: any;
  }> {
    const res = await fetch(`${enforcer.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, json: await res.json() };
  }

  before(async () => {
    const ep = await testEndpoints();
    redis = new Redis(ep.redisUrl);
    subscriber = new Redis(ep.redisUrl);
    await subscriber.subscribe(DENY_CHANGES_CHANNEL);
    subscriber.on('message', (_channel, message) => changes.push(JSON.parse(message) as DenyChange));
    producer = await flagProducer();
    enforcer = await startEnforcer(
      await enforcerConfig({
        policies: {
          rules: {
            [RULE.monitor]: { mode: 'monitor', action: 'block_token' },
            [RULE.moderate]: { mode: 'moderate', action: 'block_account', durationMs: HOUR_MS },
            [RULE.automate]: { mode: 'automate', action: 'block_token', durationMs: HOUR_MS },
            [RULE.rollout]: {
              mode: 'automate',
              rolloutPercent: 5,
              action: 'block_account',
              durationMs: 2 * 60_000,
            },
            [RULE.evict]: { mode: 'automate', action: 'evict_session', durationMs: 5 * 60_000 },
            [RULE.substitute]: {
              mode: 'automate',
              action: 'substitute',
              slate: 'too-many-devices',
              durationMs: HOUR_MS,
            },
          },
          allowList: { accounts: [`vip-${run}`], networks: ['198.51.100.0/24'] },
        },
      }),
      {
        logger: createLogger('enforcer-test', 'silent'),
        // Stands in for the edge's routes (issue 6), mounted in the same process.
        mount: async ({ http }) => {
          await http.app.register(
            async (app) => {
              app.get(
                '/mounted',
                { schema: { summary: 'mounted beside the enforcer routes' } },
                async () => ({ ok: true }),
              );
            },
            { prefix: '/v1' },
          );
        },
      },
    );
  });

  after(async () => {
    await enforcer?.close();
    await producer?.close();
    redis?.disconnect();
    subscriber?.disconnect();
  });

  it('monitor: a flag changes nothing and is counted once as would-have for its rule and day', async () => {
    const f = flag({
      rule: RULE.monitor,
      tokenHash: `th-${randomUUID()}`,
      tokenExpiresAtMs: Date.now() + HOUR_MS,
    });
    const other = flag({ rule: RULE.monitor });
    // The escalation and the replay of f count once: two flags, two would-have.
    await producer.send([f, { ...f, version: 2 }, f, other]);
    const day = dayOf(f.detectedAtMs);
    await waitFor('both flags handled', async () => {
      const items = await api('GET', `/v1/would-have/${RULE.monitor}/${day}`, ANALYST_KEY);
      return items.json.items.length === 2;
    });
    const res = await api('GET', `/v1/would-have?rule=${RULE.monitor}&from=${day}&to=${day}`, OPERATOR_KEY);
    assert.deepEqual(res.json.counts, [{ rule: RULE.monitor, day, count: 2 }]);
    const items = await api('GET', `/v1/would-have/${RULE.monitor}/${day}`, ANALYST_KEY);
    const mine = items.json.items.find((i: { anomalyId: string }) => i.anomalyId === f.id);
    assert.equal(mine.subject, `token:${f.tokenHash}`);
    assert.equal(mine.reason, 'monitor');
    assert.equal(await redis.exists(denyKey('token', f.tokenHash!)), 0);
    assert.equal(enforcer.enforcement.parts.reviews.get(f.id), undefined);
    assert.equal(
      enforcer.enforcement.parts.revocations.list({ subjectKey: f.tokenHash!, limit: 10 }).total,
      0,
    );
    assert.equal(changes.filter((c) => c.subject === f.tokenHash).length, 0);
  });

  it('moderate: a flag becomes one pending review entry and nothing in Redis; an escalation updates that entry', async () => {
    const f = flag({ rule: RULE.moderate });
    await producer.send([f]);
    await waitFor('the review entry', () => enforcer.enforcement.parts.reviews.get(f.id));
    await producer.send([{ ...f, version: 2, observed: 20, severity: 'critical' }]);
    const entry = await waitFor('the escalation', () => {
      const e = enforcer.enforcement.parts.reviews.get(f.id);
      return e && e.anomalyVersion === 2 ? e : undefined;
    });
    assert.equal(entry.status, 'pending');
    assert.equal(entry.severity, 'critical');
    const list = await api('GET', `/v1/reviews?rule=${RULE.moderate}`, ANALYST_KEY);
    assert.equal(list.json.items.length, 1, 'one entry per flag id');
    assert.equal(list.json.items[0].anomaly.evidence.note, 'test flag');
    assert.equal(await redis.exists(denyKey('account', f.accountId!)), 0);
  });

  it("automate: a flag becomes a revocation in Redis with the token's expiry as TTL, a change message and an audit record", async () => {
    const tokenHash = `th-${randomUUID()}`;
    const tokenExpiresAtMs = Date.now() + 5 * 60_000; // sooner than the policy's hour: the token's expiry wins
    const f = flag({ rule: RULE.automate, tokenHash, tokenExpiresAtMs });
    await producer.send([f]);
    const key = denyKey('token', tokenHash);
    await waitFor('the denylist entry', async () => (await redis.exists(key)) === 1);
    const entry = await redis.hgetall(key);
    assert.equal(entry.action, 'block_token');
    assert.equal(entry.rule, RULE.automate);
    assert.equal(Number(entry.expiresAtMs), tokenExpiresAtMs);
    const ttlMs = await redis.pttl(key);
    assert.ok(
      ttlMs > 0 && ttlMs <= 5 * 60_000 && ttlMs > 4 * 60_000,
      `TTL ${ttlMs} ms follows the token's expiry`,
    );
    const change = await waitFor('the change message', () => changes.find((c) => c.subject === tokenHash));
    assert.equal(change.op, 'set');
    assert.equal(change.kind, 'token');
    assert.equal(change.entry?.revocationId, entry.revocationId);
    const records = await waitFor('the audit record', async () => {
      const r = await readRevocations(new Set([entry.revocationId!]));
      return r.length > 0 ? r : undefined;
    });
    assert.equal(records.length, 1);
    assert.equal(records[0]!.value.state, 'active');
    assert.equal(records[0]!.value.issuedBy, 'policy:automate');
  });

  it('a 5% rollout enforces on the hashed 5% of accounts and only on them', async () => {
    const accounts = Array.from({ length: 200 }, (_, i) => `ro-${run}-${i}`);
    const flags = accounts.map((accountId) => flag({ rule: RULE.rollout, accountId }));
    await producer.send(flags);
    const expected = accounts.filter((a) => inRollout(a, 5)).sort();
    assert.ok(expected.length > 0 && expected.length < 30, `${expected.length} of 200 hashed in`);
    const day = dayOf(flags[0]!.detectedAtMs);
    await waitFor('every flag handled', async () => {
      const r = await api('GET', `/v1/would-have?rule=${RULE.rollout}&from=${day}&to=${day}`, OPERATOR_KEY);
      return r.json.counts[0]?.count === accounts.length - expected.length;
    });
    await waitFor(
      'every revocation',
      async () => (await redis.exists(...expected.map((a) => denyKey('account', a)))) === expected.length,
    );
    const revoked = [];
    for (const a of accounts) if ((await redis.exists(denyKey('account', a))) === 1) revoked.push(a);
    assert.deepEqual(revoked.sort(), expected);
  });

  it('an allow-listed account or network is never revoked', async () => {
    const byAccount = flag({ rule: RULE.automate, accountId: `vip-${run}`, tokenHash: `th-${randomUUID()}` });
    const byNetwork = flag({
      rule: RULE.automate,
      tokenHash: `th-${randomUUID()}`,
      evidence: {
        ...flag({ rule: 'x' }).evidence,
        networks: [{ value: '198.51.100.0/24', count: 3, firstSeenMs: 1, lastSeenMs: 2 }],
      },
    });
    const control = flag({ rule: RULE.automate, tokenHash: `th-${randomUUID()}` });
    await producer.send([byAccount, byNetwork, control]);
    await waitFor(
      'the control flag revoked',
      async () => (await redis.exists(denyKey('token', control.tokenHash!))) === 1,
    );
    assert.equal(await redis.exists(denyKey('token', byAccount.tokenHash!)), 0);
    assert.equal(await redis.exists(denyKey('token', byNetwork.tokenHash!)), 0);
    const { parts } = enforcer.enforcement;
    assert.equal(parts.revocations.list({ accountId: `vip-${run}`, limit: 10 }).total, 0);
  });

  it('evict_session revokes the newest session the flag names; substitute carries its slate', async () => {
    const evict = flag({ rule: RULE.evict, subjectKind: 'account', evictSessionId: `sess-${randomUUID()}` });
    const sub = flag({ rule: RULE.substitute });
    await producer.send([evict, sub]);
    await waitFor(
      'the eviction',
      async () => (await redis.exists(denyKey('session', evict.evictSessionId!))) === 1,
    );
    assert.equal(await redis.hget(denyKey('session', evict.evictSessionId!), 'action'), 'evict_session');
    await waitFor(
      'the substitution',
      async () => (await redis.exists(denyKey('account', sub.accountId!))) === 1,
    );
    assert.equal(await redis.hget(denyKey('account', sub.accountId!), 'slate'), 'too-many-devices');
  });

  it('approve issues the revocation and records the decision; lift removes it, publishes and records the lifted state', async () => {
    const f = flag({ rule: RULE.moderate });
    await producer.send([f]);
    await waitFor('the review entry', () => enforcer.enforcement.parts.reviews.get(f.id));
    const forbidden = await api('POST', `/v1/reviews/${f.id}/decision`, OPERATOR_KEY, {
      decision: 'approved',
    });
    assert.equal(forbidden.status, 403, 'deciding needs the analyst role');
    const approved = await api('POST', `/v1/reviews/${f.id}/decision`, ANALYST_KEY, {
      decision: 'approved',
      comment: 'forum resale confirmed',
    });
    assert.equal(approved.status, 200, JSON.stringify(approved.json));
    assert.equal(approved.json.review.status, 'approved');
    assert.equal(approved.json.review.decidedBy, 'alice');
    const revocationId = approved.json.revocation.id;
    const key = denyKey('account', f.accountId!);
    assert.equal(await redis.hget(key, 'revocationId'), revocationId);
    const ttlMs = await redis.pttl(key);
    assert.ok(ttlMs > HOUR_MS - 60_000 && ttlMs <= HOUR_MS, `TTL ${ttlMs} ms is the policy's hour`);
    const again = await api('POST', `/v1/reviews/${f.id}/decision`, ANALYST_KEY, { decision: 'rejected' });
    assert.equal(again.status, 409);
    assert.equal(again.json.code, 'ENF_ERR_REVIEW_ALREADY_DECIDED');
    const decisions = await waitFor('the decision record', async () => {
      const r = await readTopic<ReviewDecision>(TOPICS.reviews.name, new Set([f.id]));
      return r.length > 0 ? r : undefined;
    });
    assert.equal(decisions[0]!.value.decision, 'approved');
    assert.equal(decisions[0]!.value.revocationId, revocationId);
    assert.equal(decisions[0]!.value.comment, 'forum resale confirmed');

    const lifted = await api('POST', `/v1/revocations/${revocationId}/lift`, OPERATOR_KEY, {
      reason: 'appeal accepted',
    });
    assert.equal(lifted.status, 200, JSON.stringify(lifted.json));
    assert.equal(lifted.json.status, 'lifted');
    assert.equal(await redis.exists(key), 0);
    await waitFor('the del message', () => changes.find((c) => c.subject === f.accountId && c.op === 'del'));
    const records = await readRevocations(new Set([revocationId]));
    assert.deepEqual(
      records.map((r) => r.value.state),
      ['active', 'lifted'],
    );
    assert.equal(records[1]!.value.liftedBy, 'olga');
    const listed = await api('GET', '/v1/revocations?status=lifted&limit=1000', ANALYST_KEY);
    assert.ok(listed.json.items.some((r: { id: string }) => r.id === revocationId));
  });

  it('lifting the revocation that holds a subject hands the key to another one still active for it', async () => {
    const accountId = `acct-two-${run}`;
    const [first, second] = [
      flag({ rule: RULE.moderate, accountId }),
      flag({ rule: RULE.moderate, accountId }),
    ];
    await producer.send([first, second]);
    await waitFor(
      'both review entries',
      () =>
        enforcer.enforcement.parts.reviews.get(first.id) && enforcer.enforcement.parts.reviews.get(second.id),
    );
    const approve = async (id: string) => {
      const r = await api('POST', `/v1/reviews/${id}/decision`, ANALYST_KEY, { decision: 'approved' });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      return r.json.revocation.id as string;
    };
    const firstId = await approve(first.id);
    await new Promise((r) => setTimeout(r, 5)); // the second lasts longer: it takes the key
    const secondId = await approve(second.id);
    const key = denyKey('account', accountId);
    assert.equal(await redis.hget(key, 'revocationId'), secondId);
    const lift = (id: string) =>
      api('POST', `/v1/revocations/${id}/lift`, OPERATOR_KEY, { reason: 'appeal' });
    assert.equal((await lift(secondId)).status, 200);
    assert.equal(await redis.hget(key, 'revocationId'), firstId, 'the other active revocation holds the key');
    await waitFor('the set message handing over', () =>
      changes.find((c) => c.subject === accountId && c.op === 'set' && c.entry?.revocationId === firstId),
    );
    assert.equal((await lift(firstId)).status, 200);
    assert.equal(await redis.exists(key), 0, 'nothing active is left for the subject');
  });

  it('a policy change through the API is validated, applied at once and audited with who, before and after', async () => {
    const bad = await api('PUT', `/v1/policies/rules/${RULE.monitor}`, OPERATOR_KEY, {
      policy: { mode: 'automate', action: 'substitute' },
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.code, 'ENF_ERR_POLICY_INVALID');
    const byAnalyst = await api('PUT', `/v1/policies/rules/${RULE.monitor}`, ANALYST_KEY, {
      policy: { mode: 'automate' },
    });
    assert.equal(byAnalyst.status, 403);
    const ok = await api('PUT', `/v1/policies/rules/${RULE.monitor}`, OPERATOR_KEY, {
      policy: { mode: 'automate', action: 'block_token', durationMs: HOUR_MS },
      comment: 'stage 3',
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    const changesRes = await api('GET', `/v1/policies/changes?target=rule:${RULE.monitor}`, ANALYST_KEY);
    const change = changesRes.json.items[0];
    assert.equal(change.changedBy, 'olga');
    assert.equal(JSON.parse(change.beforeJson).mode, 'monitor');
    assert.equal(JSON.parse(change.afterJson).mode, 'automate');
    const f = flag({ rule: RULE.monitor, tokenHash: `th-${randomUUID()}` });
    await producer.send([f]);
    await waitFor(
      'the revocation under the new policy',
      async () => (await redis.exists(denyKey('token', f.tokenHash!))) === 1,
    );
  });

  it('serves its OpenAPI document, the analyst page and its metrics', async () => {
    const doc = (await (await fetch(`${enforcer.url}/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
    };
    assert.ok(doc.paths['/v1/reviews/{anomalyId}/decision']);
    assert.ok(doc.paths['/v1/revocations/{id}/lift']);
    assert.ok(doc.paths['/v1/mounted'], 'routes mounted beside ours are documented too');
    assert.deepEqual(await (await fetch(`${enforcer.url}/v1/mounted`)).json(), { ok: true });
    const page = await fetch(`${enforcer.url}/ui/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<script type="module" src="\/ui\/app\.js">/);
    const metrics = await (await fetch(`${enforcer.url}/metrics`)).text();
    assert.match(metrics, /leechguard_enforcer_flags_total\{outcome="revoke",service="enforcer"\} [1-9]/);
    assert.match(metrics, /leechguard_enforcer_reviews_pending\{service="enforcer"\} [1-9]/);
  });
});
