/**
 * Fault: the edge client's Redis connections go half-open (a TCP proxy between them and a private
 * redis-server stops forwarding without closing anything: no error, no FIN). What must hold: the
 * mirror is reported incomplete within 5 s (it can no longer vouch that it has every change),
 * and once the path is back it resyncs and has what was written meanwhile.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { EdgeClient } from '../../../enforcer/edge-client/client.ts';
import { startTcpProxy, type TcpProxy } from '../../support/tcp-proxy.ts';
import { waitFor } from '../../support/wait.ts';
import { denyEntry, type PrivateRedis, startPrivateRedis, writeDeny } from '../edge/support.ts';

/** The property under test: a half-open subscription is reported within 5 s. */
const REPORTED_MS = 5_000;

describe('half-open Redis under the edge client', () => {
  let priv: PrivateRedis;
  let proxy: TcpProxy;
  let writer: Redis;
  before(async () => {
    priv = await startPrivateRedis();
    proxy = await startTcpProxy({ host: '127.0.0.1', port: priv.port });
    writer = new Redis(priv.url);
  });
  after(async () => {
    writer.disconnect();
    await proxy.close();
    await priv.stop();
  });

  it('the mirror is reported incomplete within 5 s of the connection going silent, and complete with the missed change once it answers again', async () => {
    const edge = new EdgeClient({ redisUrl: `redis://${proxy.host}:${proxy.port}` });
    try {
      assert.equal(await edge.start(), true);
      assert.equal(edge.stats().complete, true);
      proxy.freeze();
      const frozenAt = performance.now();
      // Written while the edge hears nothing: only a resync can bring it.
      await writeDeny(writer, 'account', 'acct-missed', denyEntry({ action: 'block_account' }));
      await waitFor('reported incomplete', () => !edge.stats().complete, REPORTED_MS, 20);
      const reportedMs = performance.now() - frozenAt;
      assert.ok(reportedMs < REPORTED_MS, `reported after ${Math.round(reportedMs)} ms`);
      proxy.restore();
      await waitFor('complete again', () => edge.stats().complete, 15_000, 20);
      assert.equal(edge.check({ accountId: 'acct-missed' }).decision, 'block');
    } finally {
      await edge.close();
    }
  });
});
