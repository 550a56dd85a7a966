/**
 * The least-privilege Redis users of examples/redis/users.acl, on a private redis-server loaded
 * with that file: the enforcer writes the denylist; the edge runs session admission and reads the
 * denylist but cannot write it; the read-only edge user writes nothing.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { PROJECT_ROOT } from '../../../core/endpoints.ts';
import type { EdgeServer } from '../../../enforcer/decision/standalone.ts';
import { DENY_CHANGES_CHANNEL, denyKey } from '../../../enforcer/denylist/keys.ts';
import { uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import { bootEdge } from './server.ts';
import { denyEntry, type PrivateRedis, startPrivateRedis, writeDeny } from './support.ts';

const pw = {
  enforcer: randomBytes(32).toString('hex'),
  edge: randomBytes(32).toString('hex'),
  reader: randomBytes(32).toString('hex'),
};

describe('examples/redis/users.acl: least-privilege Redis users', () => {
  let redis: PrivateRedis;
  let urlOf: (user: string, password: string) => string;
  const clients: Redis[] = [];
  const connect = (user: string, password: string) => {
    const c = new Redis(urlOf(user, password), { maxRetriesPerRequest: 0 });
    clients.push(c);
    return c;
  };

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lg-acl-'));
    const acl = readFileSync(join(PROJECT_ROOT, 'examples', 'redis', 'users.acl'), 'utf8')
      .replace('<enforcer-password>', pw.enforcer)
      .replace('<edge-password>', pw.edge)
      .replace('<reader-password>', pw.reader);
    writeFileSync(join(dir, 'users.acl'), acl);
    redis = await startPrivateRedis({
      aclFile: join(dir, 'users.acl'),
      user: 'leechguard-enforcer',
      password: pw.enforcer,
    });
    urlOf = (user, password) => `redis://${user}:${password}@127.0.0.1:${redis.port}`;
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    await redis?.stop();
  });

  test('the enforcer writes and publishes denylist entries', async () => {
    const enforcer = connect('leechguard-enforcer', pw.enforcer);
    await writeDeny(enforcer, 'token', 'acl-h1', denyEntry());
    assert.equal(await enforcer.hget(denyKey('token', 'acl-h1'), 'action'), 'block_token');
    await assert.rejects(enforcer.config('GET', 'maxmemory'), /NOPERM/, 'nothing administrative');
  });

  test('the read-only edge reads the denylist and its channel, and can write nothing', async () => {
    const reader = connect('leechguard-edge-reader', pw.reader);
    assert.equal((await reader.hgetall(denyKey('token', 'acl-h1'))).action, 'block_token');
    const [, keys] = await reader.scan('0', 'MATCH', 'lg:deny:*', 'COUNT', 100);
    assert.ok(keys.includes(denyKey('token', 'acl-h1')));
    await assert.rejects(reader.hset(denyKey('token', 'acl-h1'), 'action', 'allow'), /NOPERM/);
    await assert.rejects(reader.del(denyKey('token', 'acl-h1')), /NOPERM/);
    await assert.rejects(reader.publish(DENY_CHANGES_CHANNEL, '{}'), /NOPERM/);
    await assert.rejects(reader.hset('lg:sess:{a}:active', 's', '{}'), /NOPERM/);
    const sub = connect('leechguard-edge-reader', pw.reader);
    await sub.subscribe(DENY_CHANGES_CHANNEL);
  });

  test('the edge user runs session admission and decisions, and cannot write the denylist', async () => {
    let server: EdgeServer | undefined;
    try {
      ({ server } = await bootEdge(urlOf('leechguard-edge', pw.edge)));
      const accountId = uniqueName('acl');
      const started = await server.sessions.start({
        accountId,
        tenant: 'one',
        deviceId: 'tv',
        contentId: 'm',
      });
      assert.ok(started.sessionId);
      await waitFor(
        'the token blocked',
        async () => (await server!.edge.decide({ tokenHash: 'acl-h1' })).decision === 'block',
        5_000,
        2,
      );
      const edge = connect('leechguard-edge', pw.edge);
      await assert.rejects(edge.hset(denyKey('token', 'acl-h1'), 'action', 'allow'), /NOPERM/);
      await assert.rejects(edge.publish(DENY_CHANGES_CHANNEL, '{}'), /NOPERM/);
    } finally {
      await server?.http.shutdown();
    }
  });
});
