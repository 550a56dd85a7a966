import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../../core/clock.ts';
import { recomputedEvery } from '../../../core/metrics.ts';

test('a scanned gauge value is recomputed at most once per interval, however many scrapes arrive', () => {
  const clock = new ManualClock(1_000);
  let scans = 0;
  const value = recomputedEvery(
    15_000,
    () => clock.nowMs(),
    () => ++scans,
  );
  for (let i = 0; i < 1_000; i++) value();
  assert.equal(scans, 1);
  clock.advance(14_999);
  assert.equal(value(), 1);
  clock.advance(1);
  assert.equal(value(), 2);
});
