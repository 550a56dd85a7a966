/**
 * Shared-fate Redis: heartbeats of random session ids for one full account must not grow what
 * every later start of that account reads inside session.lua. Measured by Redis itself: SLOWLOG
 * on a private redis-server set to log every command over 5 ms (no wall clock in the test).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { LIMITS } from '../../../core/limits.ts';
import type { EdgeServer } from '../../../enforcer/decision/standalone.ts';
import { sessionKeys } from '../../../enforcer/sessions/keys.ts';
import { uniqueName } from '../../support/stack.ts';
import { bootEdge } from './server.ts';
import { type PrivateRedis, startPrivateRedis } from './support.ts';

const FLOOD = 100_000;
const CONCURRENCY = 500;

describe('session admission under a flood of random-id heartbeats', () => {
  let redis: PrivateRedis;
  let server: EdgeServer;
  let admin: Redis;

  before(async () => {
    redis = await startPrivateRedis();
    ({ server } = await bootEdge(redis.url));
    admin = new Redis(redis.url);
  });
  after(async () => {
    admin?.disconnect();
    await server?.http.shutdown();
    await redis?.stop();
  });

  test(`${FLOOD} unknown-id heartbeats keep the ended hash bounded and a start under 5 ms in the script`, async () => {
    const accountId = uniqueName('flooded');
    const sessions = server.sessions;
    await sessions.start({ accountId, tenant: 'one', deviceId: 'tv', contentId: 'match' });
    let sent = 0;
    const worker = async () => {
      while (sent < FLOOD) {
        sent++;
        const out = await sessions.heartbeat(`forged-${randomUUID()}`, {
          accountId,
          tenant: 'one',
          deviceId: 'attacker',
          contentId: 'match',
        });
        assert.equal(out.action, 'stop', 'the account is full: every forged id is refused');
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));

    const [, ended] = sessionKeys(accountId);
    const size = await admin.hlen(ended);
    assert.ok(size <= LIMITS.sessionEndedPerAccountMax, `ended hash holds ${size}`);

    await admin.config('SET', 'slowlog-log-slower-than', '5000');
    await admin.slowlog('RESET');
    await assert.rejects(
      sessions.start({ accountId, tenant: 'one', deviceId: 'phone', contentId: 'match' }),
      /ENF_ERR_SESSION_LIMIT_REACHED|limit/,
    );
    await sessions.stop((await admin.hkeys(sessionKeys(accountId)[0]))[0]!, accountId, 'one');
    const admitted = await sessions.start({
      accountId,
      tenant: 'one',
      deviceId: 'phone',
      contentId: 'match',
    });
    assert.ok(admitted.sessionId);
    const slow = (await admin.slowlog('GET', 128)) as unknown[];
    assert.deepEqual(slow, [], 'no script call took 5 ms or more inside Redis');
  });
});
