import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PartitionState } from '../../../detector/engine/partition-state.ts';
import { RocksStore } from '../../../detector/engine/rocks-store.ts';
import { tempStateDir } from './support.ts';

describe('RocksDB state store', () => {
  it('writes state and offsets together and loads them back per partition', async () => {
    const dir = tempStateDir();
    let store = await RocksStore.open(dir);
    const p1 = new PartitionState(1, 100);
    p1.set('sessions', 'acct-1', { x: 99, s: { a: 1 } } as never);
    p1.set('flag', 'id-1', { x: 50, v: 2 } as never);
    p1.meta = { offsets: { requests: 42, heartbeats: 7 }, watermarkMs: 1234, anomaliesOffset: 3 };
    const p2 = new PartitionState(2, 100);
    p2.set('plan', 'acct-9', { x: 0, p: {} } as never);
    p2.meta.offsets.requests = 5;
    await store.flush(p1);
    await store.flush(p2);
    await store.close();

    store = await RocksStore.open(dir);
    const back = await store.load(1, 100);
    assert.ok(back);
    assert.deepEqual(back.meta, p1.meta);
    assert.deepEqual(back.get('sessions', 'acct-1'), { x: 99, s: { a: 1 } });
    assert.deepEqual(back.get('flag', 'id-1'), { x: 50, v: 2 });
    assert.equal(back.size, 2);
    assert.equal(back.dirtySize, 0, 'a loaded partition has nothing to write');
    assert.equal(await store.load(3, 100), null, 'nothing stored: null (rebuild)');

    // A deletion is written with the next flush; clearing one partition leaves the other.
    back.set('flag', 'id-1', undefined);
    back.meta.offsets.requests = 43;
    await store.flush(back);
    const again = await store.load(1, 100);
    assert.equal(again?.get('flag', 'id-1'), undefined);
    assert.equal(again?.meta.offsets.requests, 43);
    await store.clear(1);
    assert.equal(await store.load(1, 100), null);
    assert.equal((await store.load(2, 100))?.meta.offsets.requests, 5);
    await store.close();
  });
});
