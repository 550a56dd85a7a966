import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DenyEntry } from '../../../enforcer/denylist/keys.ts';
import { DenyCache } from '../../../enforcer/edge-client/deny-cache.ts';

const entry = (expiresAtMs: number): DenyEntry => ({
  action: 'block_token',
  reason: 'shared',
  rule: 'token-network-spread',
  revocationId: 'r1',
  expiresAtMs,
  issuedAtMs: 0,
  slate: null,
  throttleKbps: null,
});

const options = { maxEntries: 2, negativeTtlMs: 1_000, negativeMax: 2 };

test('before the first sync an unknown subject is unknown, not allowed', () => {
  const c = new DenyCache(options);
  assert.equal(c.lookup('token', 'h', 0), undefined);
});

test('after a sync a subject absent from the mirror is known not denied', () => {
  const c = new DenyCache(options);
  c.replaceAll([]);
  assert.equal(c.lookup('token', 'h', 0), null);
  assert.equal(c.complete, true);
});

test('a set change denies and a del change lifts', () => {
  const c = new DenyCache(options);
  c.replaceAll([]);
  c.applyChange({ op: 'set', kind: 'token', subject: 'h', entry: entry(100) });
  assert.equal(c.lookup('token', 'h', 50)?.revocationId, 'r1');
  c.applyChange({ op: 'del', kind: 'token', subject: 'h' });
  assert.equal(c.lookup('token', 'h', 50), null);
});

test('an entry stops applying at its expiry', () => {
  const c = new DenyCache(options);
  c.replaceAll([{ kind: 'account', subject: 'a', entry: entry(100) }]);
  assert.ok(c.lookup('account', 'a', 99));
  assert.equal(c.lookup('account', 'a', 100), null);
});

test('kinds are separate namespaces', () => {
  const c = new DenyCache(options);
  c.replaceAll([{ kind: 'account', subject: 'x', entry: entry(100) }]);
  assert.equal(c.lookup('session', 'x', 0), null);
});

test('beyond maxEntries the mirror is incomplete, so misses are unknown', () => {
  const c = new DenyCache(options);
  c.replaceAll([
    { kind: 'token', subject: 'a', entry: entry(100) },
    { kind: 'token', subject: 'b', entry: entry(100) },
    { kind: 'token', subject: 'c', entry: entry(100) },
  ]);
  assert.equal(c.complete, false);
  assert.equal(c.lookup('token', 'z', 0), undefined);
});

test('a negative entry answers until its TTL, and a change drops it', () => {
  const c = new DenyCache(options);
  c.putNegative('token', 'h', 0, c.changeSeq);
  assert.equal(c.lookup('token', 'h', 999), null);
  assert.equal(c.lookup('token', 'h', 1_000), undefined);
  c.putNegative('token', 'h', 0, c.changeSeq);
  c.applyChange({ op: 'set', kind: 'token', subject: 'h', entry: entry(5_000) });
  assert.ok(c.lookup('token', 'h', 10));
});

test('a Redis read that raced a change does not cache a negative', () => {
  const c = new DenyCache(options);
  const seqAtRead = c.changeSeq;
  c.applyChange({ op: 'del', kind: 'token', subject: 'other' });
  c.putNegative('token', 'h', 0, seqAtRead);
  assert.equal(c.lookup('token', 'h', 1), undefined);
});

test('negatives are bounded, the oldest dropped first', () => {
  const c = new DenyCache(options);
  for (const s of ['a', 'b', 'c']) c.putNegative('token', s, 0, c.changeSeq);
  assert.equal(c.lookup('token', 'a', 1), undefined);
  assert.equal(c.lookup('token', 'c', 1), null);
});

test('losing the subscription makes misses unknown again', () => {
  const c = new DenyCache(options);
  c.replaceAll([]);
  c.markUnsynced();
  assert.equal(c.lookup('token', 'h', 0), undefined);
});

test('a sweep drops expired entries in slices and reports a finished pass', () => {
  const c = new DenyCache({ ...options, maxEntries: 10 });
  c.replaceAll([
    { kind: 'token', subject: 'old', entry: entry(10) },
    { kind: 'token', subject: 'new', entry: entry(1_000) },
    { kind: 'account', subject: 'old', entry: entry(10) },
  ]);
  let finished = false;
  for (let i = 0; i < 10 && !finished; i++) finished = c.sweep(500, 1);
  assert.equal(finished, true);
  assert.equal(c.size, 1);
  assert.ok(c.positiveOf('token', 'new'));
});

test('the negative cache is bounded in bytes: long caller-chosen subjects evict the oldest, not grow memory', () => {
  const c = new DenyCache({
    maxEntries: 2,
    negativeTtlMs: 1_000,
    negativeMax: 1_000_000,
    negativeBytesMax: 64 * 1024,
  });
  for (let i = 0; i < 1_000; i++) {
    c.putNegative('token', `${i}-${'x'.repeat(4_000)}`, 0, c.changeSeq);
  }
  assert.ok(c.negativeBytesHeld <= 64 * 1024, `holds ${c.negativeBytesHeld} bytes`);
  assert.equal(c.lookup('token', `999-${'x'.repeat(4_000)}`, 1), null, 'the newest is kept');
  assert.equal(c.lookup('token', `0-${'x'.repeat(4_000)}`, 1), undefined, 'the oldest was dropped');
  c.putNegative('token', 'short', 0, c.changeSeq);
  assert.equal(c.lookup('token', 'short', 1), null);
});
