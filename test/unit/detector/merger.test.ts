import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PartitionMerger } from '../../../detector/engine/merger.ts';
import { PartitionState } from '../../../detector/engine/partition-state.ts';
import type { InputRecord } from '../../../detector/engine/topology.ts';
import { heartbeat, request } from '../../../detector/testing/fixtures.ts';

const req = (offset: number, ts: number): InputRecord => ({
  role: 'requests',
  offset,
  value: request({ id: `r${offset}`, timestampMs: ts }),
});
const hb = (offset: number, ts: number): InputRecord => ({
  role: 'heartbeats',
  offset,
  value: heartbeat({ id: `h${offset}`, timestampMs: ts }),
});

function tsOf(r: InputRecord): number {
  return r.role === 'accounts' ? 0 : r.value.timestampMs;
}

function drainIds(m: PartitionMerger): string[] {
  const ids: string[] = [];
  m.drain((r) => ids.push(r.role === 'accounts' ? `a${r.offset}` : r.value.id));
  return ids;
}

describe('partition merger', () => {
  it('releases records in (timestamp, role, offset) order whatever order the fetches arrive in', () => {
    const orders: string[][] = [];
    for (const requestsFirst of [true, false]) {
      const m = new PartitionMerger(
        { accounts: 0, heartbeats: 0, requests: 0 },
        { accounts: 0, heartbeats: 3, requests: 3 },
      );
      const pushReq = () =>
        [req(0, 10), req(1, 20), req(2, 30)].forEach((r) => {
          m.push('requests', tsOf(r), r);
        });
      const pushHb = () =>
        [hb(0, 15), hb(1, 20), hb(2, 40)].forEach((r) => {
          m.push('heartbeats', tsOf(r), r);
        });
      const ids: string[] = [];
      if (requestsFirst) {
        pushReq();
        ids.push(...drainIds(m));
        pushHb();
      } else {
        pushHb();
        ids.push(...drainIds(m));
        pushReq();
      }
      ids.push(...drainIds(m));
      orders.push(ids);
    }
    assert.deepEqual(orders[0], ['r0', 'h0', 'h1', 'r1', 'r2', 'h2']);
    assert.deepEqual(orders[0], orders[1]);
  });

  it('waits for an input that has more in its log, and proceeds past one that is caught up', () => {
    const m = new PartitionMerger(
      { accounts: 0, heartbeats: 0, requests: 0 },
      { accounts: 0, heartbeats: 1, requests: 0 },
    );
    m.push('requests', 10, req(0, 10));
    assert.deepEqual(drainIds(m), [], 'heartbeats has a record not fetched yet');
    m.push('heartbeats', 50, hb(0, 50));
    assert.deepEqual(drainIds(m), ['r0', 'h0']);
    m.push('requests', 60, req(1, 60));
    assert.deepEqual(drainIds(m), ['r1'], 'heartbeats caught up: requests go on alone');
  });

  it('ignores records fetched twice (a re-fetch after a seek)', () => {
    const m = new PartitionMerger(
      { accounts: 0, heartbeats: 0, requests: 5 },
      { accounts: 0, heartbeats: 0, requests: 7 },
    );
    assert.equal(m.push('requests', 1, req(4, 1)), false);
    assert.equal(m.push('requests', 1, req(5, 1)), true);
    assert.equal(m.push('requests', 1, req(5, 1)), false);
  });
});

describe('partition state', () => {
  it('marks changed keys once, hands them out once, and reports deletions', () => {
    const s = new PartitionState(0, 100);
    s.set('a', 'k1', { x: 5 });
    s.set('b', 'k1', { x: 6 });
    s.set('a', 'k2', { x: 7 });
    assert.equal(s.dirtySize, 2);
    assert.deepEqual(
      s.takeDirty().map(([k, v]) => [k, v && Object.keys(v)]),
      [
        ['k1', ['a', 'b']],
        ['k2', ['a']],
      ],
    );
    assert.equal(s.dirtySize, 0);
    s.set('a', 'k2', undefined);
    assert.deepEqual(s.takeDirty(), [['k2', undefined]]);
    assert.equal(s.get('a', 'k2'), undefined);
    assert.equal(s.size, 1);
  });

  it('sweeps expired values and keeps those that never expire', () => {
    const s = new PartitionState(0, 100);
    s.set('plan', 'acct', { x: 0 });
    s.set('rule', 'acct', { x: 10 });
    s.set('rule', 'tok', { x: 30 });
    assert.equal(s.sweep(20), 1);
    assert.ok(s.get('plan', 'acct'));
    assert.equal(s.get('rule', 'acct'), undefined);
    assert.ok(s.get('rule', 'tok'));
  });

  it('admits a new key at the bound by shedding the coldest (counted, written as a deletion)', () => {
    const s = new PartitionState(0, 2);
    s.set('a', 'k1', { x: 1 });
    s.set('a', 'k2', { x: 5 });
    s.takeDirty();
    assert.equal(s.set('a', 'k3', { x: 3 }), true);
    assert.equal(s.overflowKeys, 1);
    assert.equal(s.size, 2);
    assert.equal(s.get('a', 'k1'), undefined, 'k1 expires soonest: the coldest');
    assert.ok(s.get('a', 'k2'));
    assert.ok(s.get('a', 'k3'));
    assert.deepEqual(
      s.takeDirty().map(([k, v]) => [k, v === undefined]),
      [
        ['k1', true],
        ['k3', false],
      ],
    );
  });

  it('never sheds a value without expiry before one that expires, and breaks ties by key', () => {
    const s = new PartitionState(0, 3);
    s.set('plan', 'acct', { x: 0 });
    s.set('a', 'kb', { x: 2 });
    s.set('a', 'ka', { x: 2 });
    s.set('a', 'kc', { x: 9 });
    assert.equal(s.get('a', 'ka'), undefined, 'ka and kb tie; ka sorts first');
    assert.ok(s.get('a', 'kb'));
    assert.ok(s.get('plan', 'acct'));
  });
});
