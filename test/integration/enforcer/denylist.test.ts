/** The denylist Lua scripts on a real Redis: atomic entry + TTL + change message, replay-safe. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { Revocation } from '../../../core/schemas/generated.ts';
import {
  DENY_CHANGES_CHANNEL,
  type DenyChange,
  denyKey,
  entryFromFields,
} from '../../../enforcer/denylist/keys.ts';
import { RedisDenylist } from '../../../enforcer/sinks/redis-denylist/denylist.ts';
import { testEndpoints } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';

function revocation(over: Partial<Revocation> = {}): Revocation {
  const nowMs = Date.now();
  return {
    id: randomUUID(),
    action: 'block_account',
    subjectKind: 'account',
    subjectKey: `acct-${randomUUID()}`,
    tenant: 'default',
    accountId: null,
    rule: 'test-rule',
    anomalyId: null,
    reason: 'test',
    issuedBy: 'test',
    issuedAtMs: nowMs,
    expiresAtMs: nowMs + 60_000,
    state: 'active',
    liftedAtMs: null,
    liftedBy: null,
    liftReason: null,
    slate: null,
    throttleKbps: null,
    ...over,
  };
}

describe('denylist scripts', () => {
  let redis: Redis;
  let sub: Redis;
  let denylist: RedisDenylist;
  const changes: DenyChange[] = [];

  before(async () => {
    const ep = await testEndpoints();
    redis = new Redis(ep.redisUrl);
    sub = new Redis(ep.redisUrl);
    await sub.subscribe(DENY_CHANGES_CHANNEL);
    sub.on('message', (_c, m) => changes.push(JSON.parse(m) as DenyChange));
    denylist = new RedisDenylist(redis);
  });

  after(() => {
    redis?.disconnect();
    sub?.disconnect();
  });

  it('writes the entry with its absolute expiry as TTL and publishes it once; a replay is a silent no-op', async () => {
    const r = revocation({ action: 'throttle', throttleKbps: 800 });
    assert.deepEqual(await denylist.setMany([r]), ['written']);
    assert.deepEqual(await denylist.setMany([r]), ['unchanged']);
    const key = denyKey('account', r.subjectKey);
    const entry = entryFromFields(await redis.hgetall(key));
    assert.equal(entry?.revocationId, r.id);
    assert.equal(entry?.throttleKbps, 800);
    assert.equal(entry?.expiresAtMs, r.expiresAtMs);
    const ttlMs = await redis.pttl(key);
    assert.ok(ttlMs > 55_000 && ttlMs <= 60_000, `TTL ${ttlMs}`);
    await waitFor('the change message', () => changes.some((c) => c.subject === r.subjectKey));
    await new Promise((res) => setTimeout(res, 100));
    assert.equal(changes.filter((c) => c.subject === r.subjectKey).length, 1, 'the replay published nothing');
  });

  it('keeps the longer of two revocations of one subject; lifting the other leaves it in place', async () => {
    const long = revocation({ expiresAtMs: Date.now() + 120_000 });
    const short = revocation({ subjectKey: long.subjectKey, expiresAtMs: Date.now() + 30_000 });
    assert.deepEqual(await denylist.setMany([long, short]), ['written', 'superseded']);
    const key = denyKey('account', long.subjectKey);
    assert.equal(await redis.hget(key, 'revocationId'), long.id);
    assert.equal(await denylist.lift(short), false);
    assert.equal(await redis.hget(key, 'revocationId'), long.id);
    assert.equal(await denylist.lift(long), true);
    assert.equal(await redis.exists(key), 0);
    await waitFor('the del message', () =>
      changes.some((c) => c.subject === long.subjectKey && c.op === 'del'),
    );
  });
});
