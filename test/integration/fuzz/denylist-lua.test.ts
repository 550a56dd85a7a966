/**
 * The denylist's Lua scripts (enforcer/sinks/redis-denylist/scripts.ts) against a model, on a real
 * (private) redis-server: random sequences of set and lift over a few subjects and revocations.
 * After every step the script's answer, the key's revocation and expiry, and the change messages
 * published equal what the model says: the longer-lasting revocation holds a subject, a replay
 * changes nothing, a lift removes only the revocation it names.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import type { Revocation } from '../../../core/schemas/generated.ts';
import { DENY_CHANGES_CHANNEL, denyKey } from '../../../enforcer/denylist/keys.ts';
import { RedisDenylist } from '../../../enforcer/sinks/redis-denylist/denylist.ts';
import { waitFor } from '../../support/wait.ts';
import { type PrivateRedis, startPrivateRedis } from '../edge/support.ts';

const RUNS = 120;
const SUBJECTS = ['s-a', 's-b', 's-c'];
const IDS = ['r-1', 'r-2', 'r-3', 'r-4'];

type Op =
  | { op: 'set'; subject: string; id: string; expiresInMs: number }
  | { op: 'lift'; subject: string; id: string };

function revocation(subject: string, id: string, expiresAtMs: number): Revocation {
  return {
    id,
    action: 'block_token',
    subjectKind: 'token',
    subjectKey: subject,
    tenant: 'default',
    accountId: null,
    rule: 'model',
    anomalyId: null,
    reason: 'model test',
    issuedBy: 'test',
    issuedAtMs: 0,
    expiresAtMs,
    state: 'active',
    liftedAtMs: null,
    liftedBy: null,
    liftReason: null,
    slate: null,
    throttleKbps: null,
  };
}

describe('denylist Lua scripts against a model', () => {
  let priv: PrivateRedis;
  let redis: Redis;
  let sub: Redis;
  let published = 0;
  before(async () => {
    priv = await startPrivateRedis();
    redis = new Redis(priv.url);
    sub = new Redis(priv.url);
    await sub.subscribe(DENY_CHANGES_CHANNEL);
    sub.on('message', () => published++);
  });
  after(async () => {
    redis.disconnect();
    sub.disconnect();
    await priv.stop();
  });

  it('set / lift sequences: answers, entries, expiries and change messages as the model says', async () => {
    const denylist = new RedisDenylist(redis);
    // Few distinct expiries, so equal and crossing expiries come up often.
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({
        op: fc.constant('set' as const),
        subject: fc.constantFrom(...SUBJECTS),
        id: fc.constantFrom(...IDS),
        expiresInMs: fc.constantFrom(60_000, 120_000, 180_000),
      }),
      fc.record({
        op: fc.constant('lift' as const),
        subject: fc.constantFrom(...SUBJECTS),
        id: fc.constantFrom(...IDS),
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
        await redis.flushall();
        const base = Date.now() + 3_600_000; // all in the future: nothing expires during a run
        const model = new Map<string, { id: string; expiresAtMs: number }>();
        let expectedMessages = published;
        for (const o of ops) {
          const held = model.get(o.subject);
          if (o.op === 'set') {
            const expiresAtMs = base + o.expiresInMs;
            const want =
              held?.id === o.id && held.expiresAtMs === expiresAtMs
                ? 'unchanged'
                : held && held.id !== o.id && held.expiresAtMs > expiresAtMs
                  ? 'superseded'
                  : 'written';
            const [got] = await denylist.setMany([revocation(o.subject, o.id, expiresAtMs)]);
            assert.equal(got, want, `set ${o.subject} ${o.id} ${o.expiresInMs}`);
            if (want === 'written') {
              model.set(o.subject, { id: o.id, expiresAtMs });
              expectedMessages++;
            }
          } else {
            const want = held?.id === o.id;
            const got = await denylist.lift(revocation(o.subject, o.id, 0));
            assert.equal(got, want, `lift ${o.subject} ${o.id}`);
            if (want) {
              model.delete(o.subject);
              expectedMessages++;
            }
          }
          for (const s of SUBJECTS) {
            const key = denyKey('token', s);
            const [id, expires] = await redis.hmget(key, 'revocationId', 'expiresAtMs');
            const m = model.get(s);
            assert.deepEqual(
              id === null ? undefined : { id, expiresAtMs: Number(expires) },
              m,
              `entry of ${s}`,
            );
            if (m)
              assert.equal(Number(await redis.call('PEXPIRETIME', key)), m.expiresAtMs, `expiry of ${s}`);
          }
        }
        const target = expectedMessages;
        await waitFor(
          () => `${target} messages as the model (got ${published})`,
          () => published === target,
          2_000,
          2,
        );
      }),
      { numRuns: RUNS },
    );
  });
});
