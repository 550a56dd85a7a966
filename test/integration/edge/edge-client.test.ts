import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { TokenHasher, tokenHashingSection } from '../../../core/token-hash.ts';
import { EdgeClient } from '../../../enforcer/edge-client/client.ts';
import { testEndpoints, uniqueName } from '../../support/stack.ts';
import { denyEntry, liftDeny, type PrivateRedis, startPrivateRedis, waitFor, writeDeny } from './support.ts';

/** The property under test: a change is visible within 100 ms of its message. */
const CHANGE_VISIBLE_MS = 100;
/** Waits that only set up another test's precondition get slack for a loaded machine. */
const PRECONDITION_MS = 1_000;

describe('edge client on the shared Redis', () => {
  let redis: Redis;
  let edge: EdgeClient;
  const hasher = new TokenHasher(tokenHashingSection.parse({}));

  before(async () => {
    const { redisUrl } = await testEndpoints();
    redis = new Redis(redisUrl);
    edge = new EdgeClient({ redisUrl, tokenHasher: hasher });
    await edge.start();
  });
  after(async () => {
    await edge.close();
    redis.disconnect();
  });

  test('a cache sees a revocation within 100 ms of the change message, and its lift likewise', async () => {
    const tokenHash = uniqueName('hash');
    assert.equal(edge.check({ tokenHash }).decision, 'allow');
    await writeDeny(redis, 'token', tokenHash, denyEntry());
    assert.ok(await waitFor(() => edge.check({ tokenHash }).decision === 'block', CHANGE_VISIBLE_MS));
    const d = edge.check({ tokenHash });
    assert.equal(d.rule, 'token-network-spread');
    assert.equal(d.source, 'cache');
    await liftDeny(redis, 'token', tokenHash);
    assert.ok(await waitFor(() => edge.check({ tokenHash }).decision === 'allow', CHANGE_VISIBLE_MS));
  });

  test('a raw token is judged by its keyed hash', async () => {
    const token = uniqueName('raw-token');
    await writeDeny(redis, 'token', hasher.hash(token).hash, denyEntry());
    assert.ok(await waitFor(() => edge.check({ token }).decision === 'block', PRECONDITION_MS));
  });

  test('the most severe of token, session and account entries wins', async () => {
    const accountId = uniqueName('acct');
    const sessionId = uniqueName('sess');
    await writeDeny(redis, 'account', accountId, denyEntry({ action: 'throttle', throttleKbps: 800 }));
    await writeDeny(
      redis,
      'session',
      sessionId,
      denyEntry({ action: 'evict_session', rule: 'account-concurrency' }),
    );
    assert.ok(
      await waitFor(() => edge.check({ accountId, sessionId }).decision === 'block', PRECONDITION_MS),
    );
    assert.equal(edge.check({ accountId, sessionId }).rule, 'account-concurrency');
    const t = edge.check({ accountId });
    assert.equal(t.decision, 'throttle');
    assert.equal(t.throttleKbps, 800);
  });

  test('an entry past its expiry no longer applies', async () => {
    const accountId = uniqueName('acct');
    await writeDeny(
      redis,
      'account',
      accountId,
      denyEntry({ action: 'block_account', expiresAtMs: Date.now() + 150 }),
    );
    assert.ok(await waitFor(() => edge.check({ accountId }).decision === 'block', PRECONDITION_MS));
    assert.ok(await waitFor(() => edge.check({ accountId }).decision === 'allow', 1_000));
  });

  test('stats count hits and report no staleness while subscribed', () => {
    const before = edge.stats().hits;
    edge.check({ tokenHash: 'x', accountId: 'y' });
    const s = edge.stats();
    assert.equal(s.hits, before + 2);
    assert.equal(s.complete, true);
    assert.equal(s.stalenessMs, 0);
  });
});

describe('edge client on a private Redis', () => {
  let priv: PrivateRedis;
  let redis: Redis;

  before(async () => {
    priv = await startPrivateRedis();
    redis = new Redis(priv.url);
  });
  after(async () => {
    redis.disconnect();
    await priv.stop();
  });

  test('an entry written while the subscription was down is found by the resync after reconnecting', async () => {
    const edge = new EdgeClient({ redisUrl: priv.url });
    await edge.start();
    try {
      const resyncs = edge.stats().resyncs;
      await redis.client('KILL', 'TYPE', 'pubsub');
      // No change message: only a full resync can learn about it.
      await writeDeny(redis, 'account', 'acct-missed', denyEntry({ action: 'block_account' }), false);
      assert.ok(await waitFor(() => edge.stats().resyncs > resyncs, 3_000));
      assert.equal(edge.check({ accountId: 'acct-missed' }).decision, 'block');
    } finally {
      await edge.close();
    }
  });

  test('when the mirror overflows, a miss is read from Redis and answered', async () => {
    await writeDeny(redis, 'token', 'h-one', denyEntry());
    await writeDeny(redis, 'token', 'h-two', denyEntry());
    const edge = new EdgeClient({ redisUrl: priv.url, maxEntries: 1 });
    await edge.start();
    try {
      assert.equal(edge.cache.complete, false);
      const a = await edge.decide({ tokenHash: 'h-one' });
      const b = await edge.decide({ tokenHash: 'h-two' });
      assert.deepEqual([a.decision, b.decision], ['block', 'block']);
      const none = await edge.decide({ tokenHash: 'h-none' });
      assert.equal(none.decision, 'allow');
      assert.equal(none.source, 'redis');
      assert.ok(edge.stats().redisReads >= 1);
    } finally {
      await edge.close();
    }
  });

  test('with Redis down, fail-closed blocks unknown subjects, fail-open allows them, and cached blocks still apply', async () => {
    const own = await startPrivateRedis();
    const writer = new Redis(own.url);
    await writeDeny(writer, 'account', 'acct-known', denyEntry({ action: 'block_account' }));
    writer.disconnect();
    const closed = new EdgeClient({ redisUrl: own.url, failMode: 'closed', readTimeoutMs: 100 });
    const open = new EdgeClient({ redisUrl: own.url, failMode: 'open', readTimeoutMs: 100 });
    await Promise.all([closed.start(), open.start()]);
    try {
      await own.stop();
      assert.ok(await waitFor(() => closed.cache.complete === false && open.cache.complete === false, 2_000));
      const c = await closed.decide({ accountId: 'acct-unknown' });
      assert.equal(c.decision, 'block');
      assert.equal(c.source, 'fail-closed');
      const o = await open.decide({ accountId: 'acct-unknown' });
      assert.equal(o.decision, 'allow');
      assert.equal(o.source, 'fail-open');
      assert.equal(open.check({ accountId: 'acct-known' }).decision, 'block');
      assert.equal(closed.check({ accountId: 'acct-other' }).source, 'fail-closed');
      assert.ok(open.stats().stalenessMs >= 0);
      assert.ok(open.stats().failModeAnswers >= 1);
    } finally {
      await Promise.all([closed.close(), open.close()]);
    }
  });
});
