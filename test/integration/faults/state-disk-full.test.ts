/**
 * Fault: the detector's RocksDB runs out of disk mid-stream (a small tmpfs filled by another
 * file). What must hold: the failed flush leaves every change it could not write still due, so
 * once space returns the next flush writes them, and a store reopened after it (a restart) holds
 * exactly the in-memory state. Skips, saying why, where mounting a tmpfs is not permitted.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LeechguardError } from '../../../core/errors.ts';
import { PartitionState } from '../../../detector/engine/partition-state.ts';
import { RocksStore } from '../../../detector/engine/rocks-store.ts';
import { fillDisk, mountTmpfs } from '../../support/tmpfs.ts';

/** Size of the tmpfs the store lives on: a few flushes fit, a filler file takes the rest. */
const TMPFS_SIZE = '16m';

function setMany(state: PartitionState, from: number, count: number): void {
  for (let i = from; i < from + count; i++) {
    state.set('spread', `tok-${i}`, { x: 0, n: i, pad: 'p'.repeat(400) } as never);
  }
  state.set('spread', 'tok-0', undefined); // a delete among them
}

function snapshot(state: PartitionState): string[] {
  return [...state.values()].map(([ns, key, v]) => `${ns}/${key}=${JSON.stringify(v)}`).sort();
}

describe('detector state on a full disk (tmpfs)', () => {
  it('a flush that fails for lack of space leaves its changes due; after space returns they are written and a reopened store equals the state', async (t) => {
    const mount = mountTmpfs(TMPFS_SIZE);
    if (typeof mount === 'string') {
      t.skip(mount);
      return;
    }
    try {
      const location = join(mount.dir, 'db');
      let store = await RocksStore.open(location);
      const state = new PartitionState(0, 1_000_000);
      setMany(state, 0, 500);
      state.meta = { ...state.meta, offsets: { requests: 500 } } as typeof state.meta;
      await store.flush(state);

      const filler = fillDisk(mount.dir);
      setMany(state, 500, 2_000);
      state.meta = { ...state.meta, offsets: { requests: 2_500 } } as typeof state.meta;
      await assert.rejects(
        () => store.flush(state),
        (err: unknown) => err instanceof LeechguardError && err.code === 'DET_ERR_STATE_UNAVAILABLE',
      );
      assert.ok(state.dirtySize >= 2_000, 'the changes the failed flush could not write are still due');

      rmSync(filler);
      // RocksDB may hold on to its write error until reopened (as a restarted detector does).
      try {
        await store.flush(state);
      } catch {
        await store.close().catch(() => {});
        store = await RocksStore.open(location);
        await store.flush(state);
      }
      await store.close();
      const reopened = await RocksStore.open(location);
      try {
        const loaded = await reopened.load(0, 1_000_000);
        assert.ok(loaded);
        assert.deepEqual(loaded.meta, state.meta);
        assert.deepEqual(snapshot(loaded), snapshot(state));
      } finally {
        await reopened.close();
      }
    } finally {
      mount.unmount();
    }
  });
});
