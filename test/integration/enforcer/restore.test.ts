/**
 * An enforcer that finds Redis wiped restores every still-active revocation from the compacted
 * revocations topic before it answers ready, and none that was lifted or has expired. Runs on a
 * PRIVATE redis-server (FLUSHALL on the shared one would hurt the other engineers' runs).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createLogger } from '../../../core/log.ts';
import { denyKey } from '../../../enforcer/denylist/keys.ts';
import { type RunningEnforcer, startEnforcer } from '../../../enforcer/main.ts';
import { uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import {
  enforcerConfig,
  type FlagProducer,
  flag,
  flagProducer,
  OPERATOR_KEY,
  readRevocations,
} from './support.ts';

const RULE = `t${randomUUID().slice(0, 6)}-restore`;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.once('error', reject);
  });
}

describe('denylist restore after FLUSHALL', () => {
  let server: ChildProcess;
  let redisUrl: string;
  let redis: Redis;
  let producer: FlagProducer;
  let enforcer: RunningEnforcer | undefined;
  const groupId = uniqueName('enf-restore');
  let shortLivedId = '';
  let keptId = '';
  let keptKey = '';

  before(async () => {
    const port = await freePort();
    server = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    redisUrl = `redis://127.0.0.1:${port}`;
    redis = new Redis(redisUrl, { lazyConnect: true, retryStrategy: () => 50 });
    redis.on('error', () => {}); // refused until the server listens; waitFor below retries
    await waitFor('the private redis-server', async () => {
      try {
        await redis.connect().catch(() => {});
        return (await redis.ping()) === 'PONG';
      } catch {
        return false;
      }
    });
    producer = await flagProducer();
  });

  after(async () => {
    await enforcer?.close();
    await producer?.close();
    redis?.disconnect();
    server?.kill('SIGTERM');
  });

  async function boot(): Promise<RunningEnforcer> {
    return startEnforcer(
      await enforcerConfig({
        redisUrl,
        groupId,
        policies: { rules: { [RULE]: { mode: 'automate', action: 'block_token', durationMs: 600_000 } } },
      }),
      { logger: createLogger('enforcer-test', 'silent') },
    );
  }

  it('restores every active revocation and none lifted or expired; policy changes and the review queue survive too', async () => {
    enforcer = await boot();
    const active = [
      flag({ rule: RULE, tokenHash: `th-a-${randomUUID()}` }),
      flag({ rule: RULE, tokenHash: `th-b-${randomUUID()}` }),
    ];
    const toLift = flag({ rule: RULE, tokenHash: `th-l-${randomUUID()}` });
    const shortLived = flag({
      rule: RULE,
      tokenHash: `th-e-${randomUUID()}`,
      tokenExpiresAtMs: Date.now() + 1_500,
    });
    await producer.send([...active, toLift, shortLived]);
    const all = [...active, toLift, shortLived];
    await waitFor(
      'every revocation',
      async () => (await redis.exists(...all.map((f) => denyKey('token', f.tokenHash!)))) === all.length,
    );
    const idOf = async (f: (typeof all)[number]) =>
      (await redis.hget(denyKey('token', f.tokenHash!), 'revocationId'))!;
    const activeIds = await Promise.all(active.map(idOf));
    const liftId = await idOf(toLift);
    const expiredId = await idOf(shortLived);
    keptId = activeIds[0]!;
    keptKey = denyKey('token', active[0]!.tokenHash!);
    await enforcer.enforcement.parts.revocations.lift(liftId, 'support', 'appeal');
    const res = await fetch(`${enforcer.url}/v1/policies/rules/${RULE}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${OPERATOR_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        policy: { mode: 'moderate', action: 'block_account' },
        comment: 'back to review',
      }),
    });
    assert.equal(res.status, 200);
    const pending = flag({ rule: RULE });
    await producer.send([pending]);
    await waitFor('the review entry', () => enforcer?.enforcement.parts.reviews.get(pending.id));
    await waitFor(
      'the short-lived token to expire',
      async () => (await redis.exists(denyKey('token', shortLived.tokenHash!))) === 0,
    );
    await enforcer.close();
    enforcer = undefined;

    assert.equal(await redis.flushall(), 'OK');
    assert.equal(await redis.dbsize(), 0);

    enforcer = await boot();
    // startEnforcer resolves only once ready: the restore is done before /readyz says so.
    const ready = await fetch(`${enforcer.url}/readyz`);
    assert.equal(ready.status, 200);
    for (const [i, f] of active.entries()) {
      const key = denyKey('token', f.tokenHash!);
      assert.equal(await redis.hget(key, 'revocationId'), activeIds[i], 'active revocation restored');
      const ttlMs = await redis.pttl(key);
      assert.ok(ttlMs > 0 && ttlMs <= 600_000, `restored with its remaining TTL (${ttlMs} ms)`);
    }
    assert.equal(
      await redis.exists(denyKey('token', toLift.tokenHash!)),
      0,
      'a lifted revocation stays lifted',
    );
    assert.equal(
      await redis.exists(denyKey('token', shortLived.tokenHash!)),
      0,
      'an expired revocation is not restored',
    );
    assert.ok(enforcer.restored.restored >= active.length);
    const policy = enforcer.enforcement.parts.policies.policies.rules[RULE];
    assert.equal(policy?.mode, 'moderate', 'the policy change made through the API survived the restart');
    assert.equal(
      enforcer.enforcement.parts.reviews.get(pending.id)?.status,
      'pending',
      'the review queue survived it',
    );
    shortLivedId = expiredId;
  });

  it('the sweep writes a tombstone for an expired revocation and forgets it; active ones stay', async () => {
    assert.ok(enforcer && shortLivedId);
    const { revocations } = enforcer.enforcement.parts;
    assert.equal(revocations.get(shortLivedId)?.status, 'expired');
    const swept = await revocations.sweep(0, 1_000);
    assert.ok(swept >= 1);
    assert.equal(revocations.get(shortLivedId), undefined);
    assert.equal(revocations.get(keptId)?.status, 'active');
    const records = await readRevocations(new Set([shortLivedId]));
    assert.equal(records.at(-1)?.value, null, 'the last record of the key is a tombstone');
  });

  it('a Redis wiped while the enforcer runs is restored without a restart', async () => {
    assert.ok(enforcer, 'the enforcer of the previous test runs');
    const key = keptKey;
    assert.equal(await redis.hget(key, 'revocationId'), keptId);
    await redis.flushall();
    await waitFor('the live restore', async () => (await redis.hget(key, 'revocationId')) === keptId, 15_000);
    assert.ok((await redis.pttl(key)) > 0, 'restored with its TTL');
    // Ready again once the restore has finished (the key can be back a moment before it has).
    const url = enforcer.url;
    await waitFor('ready again', async () => (await fetch(`${url}/readyz`)).status === 200, 15_000);
  });
});
