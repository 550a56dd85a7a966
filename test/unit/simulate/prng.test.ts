import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Prng } from '../../../simulate/prng.ts';

test('the same seed gives the same sequence, a different seed a different one', () => {
  const draw = (seed: string) => {
    const r = new Prng(seed);
    return Array.from({ length: 50 }, () => r.nextUint32());
  };
  assert.deepEqual(draw('a'), draw('a'));
  assert.notDeepEqual(draw('a'), draw('b'));
});

test('forked streams are independent of each other and of draw order', () => {
  const a1 = Prng.fork('s', 'actor-1');
  const first = a1.hex(16);
  const other = Prng.fork('s', 'actor-2');
  other.hex(64); // drawing from another actor's stream does not shift actor-1's
  assert.equal(Prng.fork('s', 'actor-1').hex(16), first);
});

test('int stays within its inclusive bounds and reaches both ends', () => {
  const r = new Prng('bounds');
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const v = r.int(3, 7);
    assert.ok(v >= 3 && v <= 7);
    seen.add(v);
  }
  assert.deepEqual([...seen].sort(), [3, 4, 5, 6, 7]);
});

test('weighted picks follow their weights roughly', () => {
  const r = new Prng('weights');
  let heavy = 0;
  for (let i = 0; i < 10_000; i++)
    if (
      r.weighted([
        ['x', 9],
        ['y', 1],
      ] as const) === 'x'
    )
      heavy++;
  assert.ok(heavy > 8_500 && heavy < 9_500, `x picked ${heavy} times of 10000`);
});
