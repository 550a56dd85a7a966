/**
 * `leechguard stack up` → `status` → `down`, twice, on a private stack dir so the shared stack the
 * other tests use is untouched. Proves: every part answers, `down` leaves none of its processes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readState, stackDown, stackStatus, stackUp } from '../../../core/stack/index.ts';
import { isAlive } from '../../../core/stack/processes.ts';

describe('local stack lifecycle', {
  skip: process.env.LEECHGUARD_KAFKA_BROKERS ? 'a user cluster is configured' : false,
}, () => {
  it('up → status all healthy → down with no process left, twice in a row', {
    timeout: 600_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lg-stack-'));
    const env = { ...process.env, LEECHGUARD_STACK_DIR: dir };
    try {
      for (let round = 1; round <= 2; round++) {
        await stackUp({ env });
        const state = readState(env)!;
        const pids = [state.kafka.pid, state.registry.pid, state.redis.pid];
        const health = await stackStatus(env);
        assert.deepEqual(
          health.map((h) => [h.name, h.healthy]),
          [
            ['kafka', true],
            ['registry', true],
            ['redis', true],
          ],
          `round ${round}: ${JSON.stringify(health)}`,
        );
        const stopped = await stackDown(env);
        assert.equal(stopped.length, 3, `round ${round}`);
        for (const pid of pids) assert.equal(isAlive(pid), false, `round ${round}: pid ${pid} still alive`);
        assert.equal(readState(env), undefined);
        assert.ok((await stackStatus(env)).every((h) => !h.running));
      }
    } finally {
      await stackDown(env);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
