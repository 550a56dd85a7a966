import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { TokenHasher, tokenHashingSection } from '../../../core/token-hash.ts';
import { DENY_CHANGES_CHANNEL, denyKey } from '../../../enforcer/denylist/keys.ts';
import { EdgeClient } from '../../../enforcer/edge-client/client.ts';
import { testEndpoints, uniqueName } from '../../support/stack.ts';
import { startTcpProxy } from '../../support/tcp-proxy.ts';
import { waitFor } from '../../support/wait.ts';
import { denyEntry, liftDeny, type PrivateRedis, startPrivateRedis, writeDeny } from './support.ts';

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
    await waitFor(
      'the token blocked',
      () => edge.check({ tokenHash }).decision === 'block',
      CHANGE_VISIBLE_MS,
      2,
    );
    const d = edge.check({ tokenHash });
    assert.equal(d.rule, 'token-network-spread');
    assert.equal(d.source, 'cache');
    await liftDeny(redis, 'token', tokenHash);
    await waitFor(
      'the token allowed again',
      () => edge.check({ tokenHash }).decision === 'allow',
      CHANGE_VISIBLE_MS,
      2,
    );
  });

  test('a raw token is judged by its keyed hash', async () => {
    const token = uniqueName('raw-token');
    await writeDeny(redis, 'token', hasher.hash(token).hash, denyEntry());
    await waitFor(
      'the raw token blocked',
      () => edge.check({ token }).decision === 'block',
      PRECONDITION_MS,
      2,
    );
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
    await waitFor(
      'the session blocked',
      () => edge.check({ accountId, sessionId }).decision === 'block',
      PRECONDITION_MS,
      2,
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
    await waitFor(
      'the account blocked',
      () => edge.check({ accountId }).decision === 'block',
      PRECONDITION_MS,
      2,
    );
    await waitFor(
      'the expired entry allowed',
      () => edge.check({ accountId }).decision === 'allow',
      1_000,
      2,
    );
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
      await waitFor('a resync', () => edge.stats().resyncs > resyncs, 3_000, 2);
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

  test('start() does not fail when the first sync outlasts its wait: the mirror completes in the background', async () => {
    await writeDeny(redis, 'account', 'acct-late', denyEntry({ action: 'block_account' }), false);
    // The sync's SCAN is held at a proxy until start() has answered: the sync cannot win the race.
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: priv.port });
    proxy.holdWhen((chunk) => /\bscan\b/i.test(chunk.toString('latin1')));
    const edge = new EdgeClient({ redisUrl: `redis://${proxy.host}:${proxy.port}` });
    try {
      assert.equal(await edge.start(0), false, 'not synced within 0 ms');
      assert.equal(edge.stats().complete, false);
      proxy.restore();
      await waitFor('synced afterwards', () => edge.cache.complete, PRECONDITION_MS, 2);
      assert.equal(edge.check({ accountId: 'acct-late' }).decision, 'block');
    } finally {
      await edge.close();
      await proxy.close();
    }
  });

  test('change messages without their entry: each subject is read and applied, however close together', async () => {
    const edge = new EdgeClient({ redisUrl: priv.url });
    await edge.start();
    try {
      const hashes = ['bare-1', 'bare-2', 'bare-3'].map((h) => uniqueName(h));
      // With the mirror incomplete a "not denied" read is cached; it must not outlive the change.
      edge.cache.markUnsynced();
      const before = await edge.decide({ tokenHash: hashes[0]! });
      assert.deepEqual([before.decision, before.source], ['allow', 'redis']);
      assert.equal(edge.cache.lookup('token', hashes[0]!, Date.now()), null, 'negative cached');
      for (const h of hashes) await writeDeny(redis, 'token', h, denyEntry(), false);
      const announce = (op: 'set' | 'del', subject: string) =>
        redis.publish(DENY_CHANGES_CHANNEL, JSON.stringify({ op, kind: 'token', subject }));
      await Promise.all(hashes.map((h) => announce('set', h))); // back to back: reads overlap
      for (const h of hashes) {
        await waitFor(
          `${h} blocked after its entry-less set`,
          () => edge.check({ tokenHash: h }).decision === 'block',
          CHANGE_VISIBLE_MS,
          2,
        );
      }
      // An entry-less set for a key that is gone by the time it is read: nothing is denied.
      await redis.del(denyKey('token', hashes[1]!));
      await announce('set', hashes[1]!);
      await waitFor(
        'the gone key allowed',
        () => edge.check({ tokenHash: hashes[1]! }).decision === 'allow',
        CHANGE_VISIBLE_MS,
        2,
      );
      assert.equal(edge.cache.positiveOf('token', hashes[1]!), undefined, 'the gone key is a del');
    } finally {
      await edge.close();
    }
  });

  test('a mirror that overflowed resyncs once the denylist fits again, and reports staleness from the overflow', async () => {
    const own = await startPrivateRedis();
    const writer = new Redis(own.url);
    const edge = new EdgeClient({ redisUrl: own.url, maxEntries: 2, overflowResyncMs: 200 });
    await edge.start();
    try {
      await new Promise((r) => setTimeout(r, 1_200)); // staleness must not count from start
      for (const h of ['o-1', 'o-2', 'o-3']) await writeDeny(writer, 'token', h, denyEntry());
      await waitFor('overflowed', () => !edge.cache.complete, PRECONDITION_MS, 2);
      const overflowAt = Date.now();
      const staleness = edge.stats().stalenessMs;
      assert.ok(staleness < 1_000, `staleness ${staleness} ms counts from the overflow`);
      // Still too many at the first retry: it stays incomplete, tries again later, and its
      // staleness keeps counting from the overflow (a retry does not reset it).
      const resyncs = edge.stats().resyncs;
      await waitFor('a retried resync', () => edge.stats().resyncs > resyncs, 2_000, 2);
      assert.equal(edge.cache.complete, false);
      const since = Date.now() - overflowAt;
      assert.ok(
        edge.stats().stalenessMs >= since,
        `staleness ${edge.stats().stalenessMs} ms after ${since} ms`,
      );
      await liftDeny(writer, 'token', 'o-2');
      await liftDeny(writer, 'token', 'o-3');
      await waitFor('complete again once it fits', () => edge.cache.complete, 5_000, 2);
      assert.equal(edge.stats().stalenessMs, 0);
      assert.equal(edge.check({ tokenHash: 'o-1' }).decision, 'block');
      assert.equal(edge.check({ tokenHash: 'o-3' }).decision, 'allow');
    } finally {
      await edge.close();
      writer.disconnect();
      await own.stop();
    }
  });

  test('with Redis down, fail-closed blocks unknown subjects (a throttle on another subject included), fail-open allows them, and cached entries still apply', async () => {
    const own = await startPrivateRedis();
    const writer = new Redis(own.url);
    await writeDeny(writer, 'account', 'acct-known', denyEntry({ action: 'block_account' }));
    await writeDeny(writer, 'account', 'acct-thr', denyEntry({ action: 'throttle', throttleKbps: 800 }));
    writer.disconnect();
    const closed = new EdgeClient({ redisUrl: own.url, failMode: 'closed', readTimeoutMs: 100 });
    const open = new EdgeClient({ redisUrl: own.url, failMode: 'open', readTimeoutMs: 100 });
    await Promise.all([closed.start(), open.start()]);
    try {
      await own.stop();
      await waitFor(
        'both caches incomplete',
        () => closed.cache.complete === false && open.cache.complete === false,
        2_000,
        2,
      );
      const c = await closed.decide({ accountId: 'acct-unknown' });
      assert.equal(c.decision, 'block');
      assert.equal(c.source, 'fail-closed');
      const o = await open.decide({ accountId: 'acct-unknown' });
      assert.equal(o.decision, 'allow');
      assert.equal(o.source, 'fail-open');
      assert.equal(open.check({ accountId: 'acct-known' }).decision, 'block');
      assert.equal(closed.check({ accountId: 'acct-other' }).source, 'fail-closed');
      // check() as decide(): a throttled account does not let an unknown token through fail-closed;
      // fail-open keeps the known throttle.
      const query = { tokenHash: 'unknown-token', accountId: 'acct-thr' };
      assert.deepEqual([closed.check(query).decision, closed.check(query).source], ['block', 'fail-closed']);
      assert.deepEqual([open.check(query).decision, open.check(query).throttleKbps], ['throttle', 800]);
      assert.ok(open.stats().stalenessMs >= 0);
      assert.ok(open.stats().failModeAnswers >= 1);
    } finally {
      await Promise.all([closed.close(), open.close()]);
    }
  });
});
