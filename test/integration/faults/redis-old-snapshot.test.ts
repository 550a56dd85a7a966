/**
 * Fault: the enforcer's (private) Redis is SIGKILLed and comes back from an older snapshot: it
 * still holds the restore marker and a revocation lifted since, and lacks one issued since. What
 * must hold: within one denylist check the denylist equals the revocations topic again.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { LIMITS } from '../../../core/limits.ts';
import { denyKey } from '../../../enforcer/denylist/keys.ts';
import { type RunningEnforcer, startEnforcer } from '../../../enforcer/main.ts';
import { uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import { type PrivateRedis, startPrivateRedis } from '../edge/support.ts';
import { enforcerConfig, type FlagProducer, flag, flagProducer, OPERATOR_KEY } from '../enforcer/support.ts';

const HOUR_MS = 3_600_000;

describe('Redis restarted from an older snapshot', () => {
  let priv: PrivateRedis;
  let producer: FlagProducer;
  before(async () => {
    priv = await startPrivateRedis();
    producer = await flagProducer();
  });
  after(async () => {
    await producer.close();
    await priv.stop();
  });

  it('the denylist equals the revocations topic within one check: the lifted entry gone, the newer one back', async () => {
    const rule = uniqueName('faults-snapshot');
    const redis = new Redis(priv.url);
    let enforcer: RunningEnforcer | undefined;
    try {
      enforcer = await startEnforcer(
        await enforcerConfig({
          redisUrl: priv.url,
          policies: { rules: { [rule]: { mode: 'automate', action: 'block_token', durationMs: HOUR_MS } } },
        }),
      );
      const issue = async () => {
        const tokenHash = `th-${randomUUID()}`;
        await producer.send([flag({ rule, tokenHash, tokenExpiresAtMs: Date.now() + HOUR_MS })]);
        const key = denyKey('token', tokenHash);
        await waitFor('the denylist entry', async () => (await redis.exists(key)) === 1, 60_000);
        return { key, revocationId: await redis.hget(key, 'revocationId') };
      };
      const lifted = await issue();
      const kept = await issue();
      await redis.save(); // the snapshot: both entries and the restore marker
      const res = await fetch(`${enforcer.url}/v1/revocations/${lifted.revocationId}/lift`, {
        method: 'POST',
        headers: { authorization: `Bearer ${OPERATOR_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ reason: 'appeal upheld' }),
      });
      assert.equal(res.status, 200, await res.text());
      assert.equal(await redis.exists(lifted.key), 0);
      const newer = await issue();

      redis.disconnect();
      await priv.restart(); // loads the snapshot: lifted is back, newer is missing
      const reborn = new Redis(priv.url);
      try {
        assert.equal(
          await reborn.exists(lifted.key),
          1,
          'precondition: the old snapshot holds the lifted entry',
        );
        assert.equal(
          await reborn.exists(newer.key),
          0,
          'precondition: the old snapshot lacks the newer entry',
        );
        const restartedAt = Date.now();
        await waitFor(
          'the denylist to equal the topic',
          async () =>
            (await reborn.exists(lifted.key)) === 0 &&
            (await reborn.exists(newer.key)) === 1 &&
            (await reborn.exists(kept.key)) === 1,
          3 * LIMITS.enforcerDenylistCheckIntervalMs,
        );
        const tookMs = Date.now() - restartedAt;
        // One check interval, plus the reconnect and the restore itself.
        assert.ok(tookMs <= LIMITS.enforcerDenylistCheckIntervalMs + 3_000, `took ${tookMs} ms`);
      } finally {
        reborn.disconnect();
      }
    } finally {
      redis.disconnect();
      await enforcer?.close();
    }
  });
});
