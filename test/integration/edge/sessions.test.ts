import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import type { ManualClock } from '../../../core/clock.ts';
import { createConsumer, createKafka } from '../../../core/kafka.ts';
import { createLogger } from '../../../core/log.ts';
import type { PlayerHeartbeat } from '../../../core/schemas/generated.ts';
import { AvroSerde } from '../../../core/serde.ts';
import { TOPICS } from '../../../core/topics.ts';
import type { EdgeServer } from '../../../enforcer/decision/standalone.ts';
import { sessionKeys } from '../../../enforcer/sessions/keys.ts';
import { testEndpoints, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import { asBackend, asEdge, bootEdge, GRACE_MS } from './server.ts';
import { denyEntry, type PrivateRedis, startPrivateRedis, writeDeny } from './support.ts';

interface Started {
  status: number;
  body: Record<string, unknown>;
}

function client(server: EdgeServer) {
  const app = server.http.app;
  return {
    async start(body: Record<string, unknown>): Promise<Started> {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/sessions',
        headers: asBackend,
        payload: body,
      });
      return { status: res.statusCode, body: res.json() };
    },
    async beat(id: string, body: Record<string, unknown>): Promise<Started> {
      const res = await app.inject({
        method: 'PUT',
        url: `/v1/sessions/${id}`,
        headers: asBackend,
        payload: body,
      });
      return { status: res.statusCode, body: res.json() };
    },
    async stop(id: string, accountId: string): Promise<Started> {
      const res = await app.inject({
        method: 'DELETE',
        url: `/v1/sessions/${id}?accountId=${encodeURIComponent(accountId)}`,
        headers: asBackend,
      });
      return { status: res.statusCode, body: res.json() };
    },
  };
}

describe('session admission on the shared Redis and Kafka', () => {
  let server: EdgeServer;
  let clock: ManualClock;
  let api: ReturnType<typeof client>;
  let redis: Redis;

  before(async () => {
    ({ server, clock } = await bootEdge());
    api = client(server);
    redis = new Redis((await testEndpoints()).redisUrl);
  });
  after(async () => {
    redis.disconnect();
    await server.http.shutdown();
  });

  test('N+1 parallel starts on an N-stream plan admit exactly N', async () => {
    const accountId = uniqueName('acct');
    const results = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        api.start({ accountId, tenant: 'three', deviceId: `dev-${i}`, contentId: 'match' }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [201, 201, 201, 409]);
    const refused = results.find((r) => r.status === 409)!;
    assert.equal(refused.body.code, 'ENF_ERR_SESSION_LIMIT_REACHED');
    const details = refused.body.details as {
      scope: string;
      limit: number;
      sessions: Array<Record<string, unknown>>;
    };
    assert.equal(details.scope, 'stream');
    assert.equal(details.limit, 3);
    assert.equal(details.sessions.length, 3);
    for (const s of details.sessions) {
      assert.equal(s.contentId, 'match');
      assert.equal(typeof s.deviceId, 'string');
      assert.equal(typeof s.startedAtMs, 'number');
      assert.equal(typeof s.lastSeenMs, 'number');
    }
  });

  test('12 parallel starts from two server instances on one account with a 3-stream plan admit exactly 3', async () => {
    const { server: other } = await bootEdge();
    try {
      const accountId = uniqueName('acct');
      const apis = [api, client(other)];
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          apis[i % 2]!.start({ accountId, tenant: 'three', deviceId: `dev-${i}`, contentId: 'match' }),
        ),
      );
      assert.equal(results.filter((r) => r.status === 201).length, 3);
      assert.equal(results.filter((r) => r.status === 409).length, 9);
      assert.equal((await server.sessions.list(accountId)).length, 3);
    } finally {
      await other.http.shutdown();
    }
  });

  test('a ghost frees its slot after the grace period, and is told to stop if it comes back', async () => {
    const accountId = uniqueName('acct');
    const a = await api.start({ accountId, tenant: 'one', deviceId: 'tv', contentId: 'c1' });
    assert.equal(a.status, 201);
    clock.advance(GRACE_MS - 1_000);
    assert.equal(
      (await api.start({ accountId, tenant: 'one', deviceId: 'phone', contentId: 'c1' })).status,
      409,
    );
    clock.advance(2_000); // the tv has now been silent for longer than the grace period
    const b = await api.start({ accountId, tenant: 'one', deviceId: 'phone', contentId: 'c1' });
    assert.equal(b.status, 201);
    const late = await api.beat(a.body.sessionId as string, { accountId, tenant: 'one' });
    assert.deepEqual(late.body, { action: 'stop', reason: 'expired' });
  });

  test('heartbeats keep a session alive past the grace period', async () => {
    const accountId = uniqueName('acct');
    const a = await api.start({ accountId, tenant: 'one', deviceId: 'tv', contentId: 'c1' });
    for (let i = 0; i < 4; i++) {
      clock.advance(30_000);
      const hb = await api.beat(a.body.sessionId as string, { accountId, tenant: 'one' });
      assert.equal(hb.body.action, 'continue');
      assert.equal(hb.body.nextHeartbeatAtMs, clock.nowMs() + 30_000);
    }
    assert.equal(
      (await api.start({ accountId, tenant: 'one', deviceId: 'phone', contentId: 'c1' })).status,
      409,
    );
  });

  test('terminate-and-start ends the named session and admits the new one', async () => {
    const accountId = uniqueName('acct');
    const a = await api.start({ accountId, tenant: 'one', deviceId: 'tv', contentId: 'c1' });
    const refused = await api.start({ accountId, tenant: 'one', deviceId: 'phone', contentId: 'c2' });
    assert.equal(refused.status, 409);
    const listed = (refused.body.details as { sessions: Array<{ sessionId: string }> }).sessions;
    assert.deepEqual(
      listed.map((s) => s.sessionId),
      [a.body.sessionId],
    );
    const b = await api.start({
      accountId,
      tenant: 'one',
      deviceId: 'phone',
      contentId: 'c2',
      terminateSessionId: a.body.sessionId,
    });
    assert.equal(b.status, 201);
    assert.equal(b.body.terminated, true);
    assert.deepEqual((await api.beat(a.body.sessionId as string, { accountId, tenant: 'one' })).body, {
      action: 'stop',
      reason: 'terminated',
    });
    assert.equal(
      (await api.beat(b.body.sessionId as string, { accountId, tenant: 'one' })).body.action,
      'continue',
    );
  });

  test('terminate-and-start changes nothing when the new session is refused anyway', async () => {
    const accountId = uniqueName('acct');
    const t = 'pair'; // 2 streams, 1 per title
    const a = await api.start({ accountId, tenant: t, deviceId: 'tv', contentId: 'x' });
    const b = await api.start({ accountId, tenant: t, deviceId: 'phone', contentId: 'y' });
    assert.deepEqual([a.status, b.status], [201, 201]);
    // Ending A frees a stream, but B still holds title y: the new session is refused, A kept.
    const refused = await api.start({
      accountId,
      tenant: t,
      deviceId: 'tablet',
      contentId: 'y',
      terminateSessionId: a.body.sessionId,
    });
    assert.equal(refused.status, 409);
    assert.equal((refused.body.details as { scope: string }).scope, 'title');
    assert.deepEqual(
      (refused.body.details as { sessions: Array<{ sessionId: string }> }).sessions
        .map((s) => s.sessionId)
        .sort(),
      [a.body.sessionId as string, b.body.sessionId as string].sort(),
    );
    assert.equal(
      (await api.beat(a.body.sessionId as string, { accountId, tenant: t })).body.action,
      'continue',
    );
  });

  test('a heartbeat cannot claim seniority its session id does not vouch for', async () => {
    const accountId = uniqueName('acct');
    const a = await api.start({ accountId, tenant: 'one', deviceId: 'tv', contentId: 'c1' });
    assert.equal(a.status, 201);
    // A made-up id claiming the earliest start: counted from now, so the full plan refuses it.
    const forged = await api.beat('00000000-0000-0000-0000-000000000000.0123456789abcdef0123', {
      accountId,
      tenant: 'one',
      deviceId: 'pirate',
      contentId: 'c1',
      startedAtMs: 0,
    });
    assert.deepEqual(forged.body, { action: 'stop', reason: 'limit:stream' });
    assert.equal(
      (await api.beat(a.body.sessionId as string, { accountId, tenant: 'one' })).body.action,
      'continue',
    );
  });

  test('a start no id vouches for goes after every session already admitted, even one stamped by a clock ahead', async () => {
    const { server: ahead, clock: aheadClock } = await bootEdge();
    try {
      aheadClock.set(clock.nowMs() + 10_000); // that instance's clock runs 10 s ahead of this one's
      const accountId = uniqueName('acct');
      const b = await client(ahead).start({ accountId, tenant: 'one', deviceId: 'tv', contentId: 'c1' });
      assert.equal(b.status, 201);
      const forged = await api.beat('11111111-1111-1111-1111-111111111111.0123456789abcdef0123', {
        accountId,
        tenant: 'one',
        deviceId: 'pirate',
        contentId: 'c1',
      });
      assert.deepEqual(forged.body, { action: 'stop', reason: 'limit:stream' });
      assert.equal(
        (await api.beat(b.body.sessionId as string, { accountId, tenant: 'one' })).body.action,
        'continue',
      );
    } finally {
      await ahead.http.shutdown();
    }
  });

  test('a DELETE that finds its session already pruned leaves the ended reasons with a TTL', async () => {
    const accountId = uniqueName('acct');
    const a = await api.start({ accountId, tenant: 'one', deviceId: 'tv', contentId: 'c1' });
    clock.advance(GRACE_MS + 1_000);
    assert.equal((await api.stop(a.body.sessionId as string, accountId)).status, 404);
    const ttlMs = await redis.pttl(sessionKeys(accountId)[1]);
    assert.ok(ttlMs > 0, `ended key TTL ${ttlMs}`);
  });

  test('DELETE ends a session and frees its slot; a second DELETE is 404', async () => {
    const accountId = uniqueName('acct');
    const a = await api.start({ accountId, tenant: 'one', deviceId: 'tv', contentId: 'c1' });
    assert.deepEqual((await api.stop(a.body.sessionId as string, accountId)).body, { stopped: true });
    assert.equal((await api.stop(a.body.sessionId as string, accountId)).status, 404);
    assert.equal(
      (await api.start({ accountId, tenant: 'one', deviceId: 'phone', contentId: 'c1' })).status,
      201,
    );
    assert.equal(
      (await api.beat(a.body.sessionId as string, { accountId, tenant: 'one' })).body.reason,
      'stopped',
    );
  });

  test("a revoked token's next heartbeat is told to stop, and a revoked token cannot start", async () => {
    const accountId = uniqueName('acct');
    const token = uniqueName('playback-token');
    const a = await api.start({ accountId, deviceId: 'tv', contentId: 'c1', token });
    assert.equal(a.status, 201);
    const hash = server.edge.check({ token }); // sanity: allowed before
    assert.equal(hash.decision, 'allow');
    const { TokenHasher, tokenHashingSection } = await import('../../../core/token-hash.ts');
    const tokenHash = new TokenHasher(tokenHashingSection.parse({})).hash(token).hash;
    await writeDeny(redis, 'token', tokenHash, denyEntry({ rule: 'token-network-spread' }));
    await waitFor('the token blocked', () => server.edge.check({ tokenHash }).decision === 'block', 1_000, 2); // precondition, not the 100 ms property (edge-client.test.ts)
    const hb = await api.beat(a.body.sessionId as string, { accountId }); // token not resent: the stored hash is judged
    assert.equal(hb.body.action, 'stop');
    assert.equal(hb.body.reason, 'revoked');
    assert.equal((hb.body.decision as { rule: string }).rule, 'token-network-spread');
    assert.deepEqual((await api.beat(a.body.sessionId as string, { accountId })).body, {
      action: 'stop',
      reason: 'revoked',
    });
    const again = await api.start({ accountId, deviceId: 'tv', contentId: 'c1', token });
    assert.equal(again.status, 403);
    assert.equal(again.body.code, 'ENF_ERR_SESSION_REVOKED');
  });

  test('an evicted session (enforcer evict_session) is told to stop on its next heartbeat', async () => {
    const accountId = uniqueName('acct');
    const a = await api.start({ accountId, deviceId: 'tv', contentId: 'c1' });
    const sessionId = a.body.sessionId as string;
    await writeDeny(
      redis,
      'session',
      sessionId,
      denyEntry({ action: 'evict_session', rule: 'account-concurrency' }),
    );
    await waitFor(
      'the session blocked',
      () => server.edge.check({ sessionId }).decision === 'block',
      1_000,
      2,
    ); // precondition, not the 100 ms property (edge-client.test.ts)
    const hb = await api.beat(sessionId, { accountId });
    assert.equal(hb.body.action, 'stop');
    assert.equal(hb.body.reason, 'evicted');
  });

  test('per-title and concurrency-group limits refuse with their scope', async () => {
    const accountId = uniqueName('acct');
    const t = 'titles';
    assert.equal((await api.start({ accountId, tenant: t, deviceId: 'd1', contentId: 'x-1' })).status, 201);
    const sameTitle = await api.start({ accountId, tenant: t, deviceId: 'd2', contentId: 'x-1' });
    assert.equal(sameTitle.status, 409);
    assert.equal((sameTitle.body.details as { scope: string }).scope, 'title');
    assert.equal((await api.start({ accountId, tenant: t, deviceId: 'd2', contentId: 'x-2' })).status, 201);
    const group = await api.start({ accountId, tenant: t, deviceId: 'd3', contentId: 'x-3' });
    assert.equal(group.status, 409);
    assert.equal((group.body.details as { scope: string }).scope, 'group:studio-x');
    assert.equal((await api.start({ accountId, tenant: t, deviceId: 'd3', contentId: 'other' })).status, 201);
  });

  test('plans come from leechguard.accounts.v1', async () => {
    const { kafkaBrokers, registryUrl } = await testEndpoints();
    const logger = createLogger('test', 'silent');
    const kafka = createKafka(
      { brokers: kafkaBrokers, clientId: 'edge-test', ssl: false, replicationFactor: 1 },
      logger,
    );
    const serde = new AvroSerde({ url: registryUrl });
    await serde.registerAll([TOPICS.accounts.name]);
    const producer = kafka.producer();
    await producer.connect();
    const accountId = uniqueName('acct');
    await producer.send({
      topic: TOPICS.accounts.name,
      messages: [
        {
          key: accountId,
          value: serde.encode(TOPICS.accounts.name, {
            accountId,
            tenant: 'default',
            planId: 'basic',
            streamLimit: 1,
            perTitleLimit: null,
            concurrencyGroups: [],
            updatedAtMs: Date.now(),
          }),
        },
      ],
    });
    await producer.disconnect();
    await waitFor(
      'the plan of one stream',
      () => server.plans.get(accountId).plan.streamLimit === 1,
      10_000,
      20,
    );
    assert.equal((await api.start({ accountId, deviceId: 'a', contentId: 'c' })).status, 201);
    const second = await api.start({ accountId, deviceId: 'b', contentId: 'c' });
    assert.equal(second.status, 409);
    assert.equal((second.body.details as { limit: number }).limit, 1);
  });

  test('every start, heartbeat and stop is produced to player.heartbeats.v1 with source admission', async () => {
    const accountId = uniqueName('acct');
    const a = await api.start({ accountId, deviceId: 'tv', contentId: 'c1' });
    const sessionId = a.body.sessionId as string;
    clock.advance(30_000);
    await api.beat(sessionId, { accountId });
    await api.stop(sessionId, accountId);
    const { kafkaBrokers, registryUrl } = await testEndpoints();
    const logger = createLogger('test', 'silent');
    const kafka = createKafka(
      { brokers: kafkaBrokers, clientId: 'edge-test', ssl: false, replicationFactor: 1 },
      logger,
    );
    const serde = new AvroSerde({ url: registryUrl });
    await serde.registerAll([TOPICS.heartbeats.name]);
    const consumer = createConsumer(kafka, { groupId: uniqueName('edge-test-hb') });
    const seen: PlayerHeartbeat[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: TOPICS.heartbeats.name, fromBeginning: false });
    const startOffsets = await (async () => {
      const admin = kafka.admin();
      await admin.connect();
      const o = await admin.fetchTopicOffsetsByTimestamp(TOPICS.heartbeats.name, Date.now() - 60_000);
      await admin.disconnect();
      return o;
    })();
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (message.key?.toString() !== accountId || !message.value) return;
        seen.push(await serde.decode<PlayerHeartbeat>(TOPICS.heartbeats.name, message.value));
      },
    });
    for (const o of startOffsets)
      consumer.seek({ topic: TOPICS.heartbeats.name, partition: o.partition, offset: o.offset });
    try {
      await waitFor(
        () => `3 records (saw ${seen.length})`,
        () => seen.length >= 3,
        15_000,
        50,
      );
    } finally {
      await consumer.disconnect();
    }
    assert.deepEqual(
      seen.map((r) => r.event),
      ['start', 'heartbeat', 'stop'],
    );
    for (const r of seen) {
      assert.equal(r.source, 'admission');
      assert.equal(r.sessionId, sessionId);
      assert.equal(r.deviceId, 'tv');
      assert.equal(r.contentId, 'c1');
    }
  });

  test('the decision API answers for the edge role only', async () => {
    const app = server.http.app;
    const accountId = uniqueName('acct');
    await writeDeny(
      redis,
      'account',
      accountId,
      denyEntry({ action: 'substitute', slate: 'too-many-devices' }),
    );
    await waitFor(
      'the account substituted',
      () => server.edge.check({ accountId }).decision === 'substitute',
      1_000,
      2,
    ); // precondition, not the 100 ms property (edge-client.test.ts)
    const ok = await app.inject({ method: 'GET', url: `/v1/decision?account=${accountId}`, headers: asEdge });
    assert.equal(ok.statusCode, 200);
    const body = ok.json();
    assert.equal(body.decision, 'substitute');
    assert.equal(body.slate, 'too-many-devices');
    assert.equal(typeof body.revocationId, 'string');
    assert.equal(typeof body.expiresAtMs, 'number');
    // A substituted account may still start, and is told which slate to show.
    const started = await api.start({ accountId, deviceId: 'tv', contentId: 'c1' });
    assert.equal(started.status, 201);
    assert.equal((started.body.decision as { slate: string }).slate, 'too-many-devices');
    const raw = await app.inject({
      method: 'GET',
      url: '/v1/decision',
      headers: { ...asEdge, 'x-leechguard-token': 'some-raw-token' },
    });
    assert.equal(raw.json().decision, 'allow');
    const inUrl = await app.inject({
      method: 'GET',
      url: '/v1/decision?token=some-raw-token',
      headers: asEdge,
    });
    assert.equal(inUrl.statusCode, 400, 'a raw token never travels in the URL');
    assert.equal(
      (await app.inject({ method: 'GET', url: '/v1/decision', headers: asEdge })).json().code,
      'ENF_ERR_DECISION_NO_SUBJECT',
    );
    assert.equal((await app.inject({ method: 'GET', url: `/v1/decision?account=a` })).statusCode, 401);
    assert.equal(
      (await app.inject({ method: 'GET', url: `/v1/decision?account=a`, headers: asBackend })).statusCode,
      403,
    );
    assert.equal(
      (await app.inject({ method: 'POST', url: '/v1/sessions', headers: asEdge, payload: {} })).statusCode,
      403,
    );
  });
});

describe('session admission after losing all session state (private redis-server)', () => {
  let priv: PrivateRedis;
  let server: EdgeServer;
  let clock: ManualClock;
  let api: ReturnType<typeof client>;
  let redis: Redis;

  before(async () => {
    priv = await startPrivateRedis();
    ({ server, clock } = await bootEdge(priv.url));
    api = client(server);
    redis = new Redis(priv.url);
  });
  after(async () => {
    redis.disconnect();
    await server.http.shutdown();
    await priv.stop();
  });

  test('after FLUSHALL sessions come back on their next heartbeat without evicting anyone within the limit', async () => {
    const accountId = 'acct-flush';
    const a = await api.start({ accountId, deviceId: 'tv', contentId: 'c1' });
    const aStart = clock.nowMs();
    clock.advance(1_000);
    const b = await api.start({ accountId, deviceId: 'phone', contentId: 'c2' });
    const bStart = clock.nowMs();
    assert.deepEqual([a.status, b.status], [201, 201]);
    await redis.flushall();
    clock.advance(5_000);
    // A newcomer starts before the old sessions heartbeat: the empty state admits it.
    const c = await api.start({ accountId, deviceId: 'tablet', contentId: 'c3' });
    assert.equal(c.status, 201);
    clock.advance(20_000);
    const backA = await api.beat(a.body.sessionId as string, {
      accountId,
      deviceId: 'tv',
      contentId: 'c1',
      startedAtMs: aStart,
    });
    assert.equal(backA.body.action, 'continue');
    assert.equal(backA.body.reregistered, true);
    const backB = await api.beat(b.body.sessionId as string, {
      accountId,
      deviceId: 'phone',
      contentId: 'c2',
      startedAtMs: bStart,
    });
    assert.equal(backB.body.action, 'continue');
    // The newest session (the one only admitted because state was lost) makes room.
    assert.deepEqual((await api.beat(c.body.sessionId as string, { accountId })).body, {
      action: 'stop',
      reason: 'evicted',
    });
    clock.advance(30_000);
    for (const s of [a, b]) {
      assert.equal((await api.beat(s.body.sessionId as string, { accountId })).body.action, 'continue');
    }
    const listed = await server.sessions.list(accountId);
    assert.deepEqual(
      listed.map((s) => [s.deviceId, s.startedAtMs]),
      [
        ['tv', aStart],
        ['phone', bStart],
      ],
    );
  });

  test('re-registration evicts only the sessions earliest-first order puts over a limit', async () => {
    const accountId = 'acct-fit';
    const t = 'pair'; // 2 streams, 1 per title
    const c = await api.start({ accountId, tenant: t, deviceId: 'tv', contentId: 'x' });
    const cStart = clock.nowMs();
    await redis.flushall();
    clock.advance(1_000);
    const a = await api.start({ accountId, tenant: t, deviceId: 'phone', contentId: 'x' });
    clock.advance(1_000);
    const b = await api.start({ accountId, tenant: t, deviceId: 'tablet', contentId: 'y' });
    assert.deepEqual([c.status, a.status, b.status], [201, 201, 201]);
    const back = await api.beat(c.body.sessionId as string, {
      accountId,
      tenant: t,
      deviceId: 'tv',
      contentId: 'x',
      startedAtMs: cStart,
    });
    assert.equal(back.body.action, 'continue');
    // Earliest first: C, A (title x is full: out), B (2 streams with C: in).
    assert.deepEqual((await api.beat(a.body.sessionId as string, { accountId, tenant: t })).body, {
      action: 'stop',
      reason: 'evicted',
    });
    assert.equal(
      (await api.beat(b.body.sessionId as string, { accountId, tenant: t })).body.action,
      'continue',
    );
  });

  test('a session re-registering with an earlier start than its own loses its seniority', async () => {
    const accountId = 'acct-liar';
    const a = await api.start({ accountId, deviceId: 'tv', contentId: 'c1' });
    const aStart = clock.nowMs();
    clock.advance(1_000);
    const b = await api.start({ accountId, deviceId: 'phone', contentId: 'c2' });
    await redis.flushall();
    clock.advance(5_000);
    const c = await api.start({ accountId, deviceId: 'tablet', contentId: 'c3' });
    assert.deepEqual([a.status, b.status, c.status], [201, 201, 201]);
    clock.advance(20_000);
    // B claims to predate A: its id does not vouch for that start, so B counts from now.
    const liar = await api.beat(b.body.sessionId as string, {
      accountId,
      deviceId: 'phone',
      contentId: 'c2',
      startedAtMs: aStart - 5_000,
    });
    assert.equal(liar.body.action, 'continue', 'it still fits: C and B make two streams');
    const honest = await api.beat(a.body.sessionId as string, {
      accountId,
      deviceId: 'tv',
      contentId: 'c1',
      startedAtMs: aStart,
    });
    assert.equal(honest.body.action, 'continue');
    // Earliest first: A, C, then B (from now): B is the one over the limit.
    assert.deepEqual((await api.beat(b.body.sessionId as string, { accountId })).body, {
      action: 'stop',
      reason: 'evicted',
    });
    assert.equal((await api.beat(c.body.sessionId as string, { accountId })).body.action, 'continue');
  });

  test('a revoked session cannot evict anyone on its way out', async () => {
    const accountId = 'acct-revoked-rereg';
    const tokenHash = 'h-revoked-rereg';
    const r = await api.start({ accountId, tenant: 'one', deviceId: 'tv', contentId: 'c1', tokenHash });
    const rStart = clock.nowMs();
    await redis.flushall();
    clock.advance(1_000);
    const n = await api.start({ accountId, tenant: 'one', deviceId: 'phone', contentId: 'c1' });
    assert.deepEqual([r.status, n.status], [201, 201]);
    await writeDeny(redis, 'token', tokenHash, denyEntry());
    await waitFor('the token blocked', () => server.edge.check({ tokenHash }).decision === 'block', 1_000, 2);
    const out = await api.beat(r.body.sessionId as string, {
      accountId,
      tenant: 'one',
      deviceId: 'tv',
      contentId: 'c1',
      tokenHash,
      startedAtMs: rStart,
    });
    assert.deepEqual([out.body.action, out.body.reason], ['stop', 'revoked']);
    assert.equal(
      (await api.beat(n.body.sessionId as string, { accountId, tenant: 'one' })).body.action,
      'continue',
    );
  });

  test('after FLUSHALL the denylist mirror resyncs and a re-written entry applies again', async () => {
    await writeDeny(redis, 'account', 'acct-x', denyEntry({ action: 'block_account' }));
    await waitFor(
      'the account blocked',
      () => server.edge.check({ accountId: 'acct-x' }).decision === 'block',
      1_000,
      2,
    ); // precondition, not the 100 ms property (edge-client.test.ts)
    await redis.flushall();
    await redis.client('KILL', 'TYPE', 'pubsub'); // a failover: the subscription reconnects and resyncs
    await waitFor(
      'the resynced mirror without the flushed entry',
      () => server.edge.cache.complete && server.edge.check({ accountId: 'acct-x' }).decision === 'allow',
      3_000,
      2,
    );
  });
});
