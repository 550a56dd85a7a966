import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TokenHasher } from '../../../core/token-hash.ts';
import { makeSessionId, vouchesForStart } from '../../../enforcer/sessions/ids.ts';

const old = 'old-session-key-0123456789abcdef0123';
const current = 'new-session-key-0123456789abcdef0123';
const before = new TokenHasher({ currentKeyId: 'k0', keys: { k0: old } });
const rotated = new TokenHasher({ currentKeyId: 'k1', keys: { k1: current, k0: old } });
const T = 1_795_000_000_000;

describe('session ids', () => {
  it('vouch for the account and start they were made for, and for nothing else', () => {
    const id = makeSessionId(rotated, 'acct-1', T);
    assert.match(id, /^[0-9a-f-]{36}\.[0-9a-f]{20}$/);
    assert.ok(id.length <= 64, 'fits a CMCD sid');
    assert.equal(vouchesForStart(rotated, id, 'acct-1', T), true);
    assert.equal(vouchesForStart(rotated, id, 'acct-1', T - 1), false, 'an earlier start');
    assert.equal(vouchesForStart(rotated, id, 'acct-2', T), false, 'another account');
    const tampered = `${id.slice(0, -1)}${id.endsWith('0') ? '1' : '0'}`;
    assert.equal(vouchesForStart(rotated, tampered, 'acct-1', T), false);
    assert.equal(
      vouchesForStart(
        rotated,
        id.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')),
        'acct-1',
        T,
      ),
      false,
    );
    assert.equal(vouchesForStart(rotated, id.split('.')[0]!, 'acct-1', T), false, 'no mac');
    assert.equal(vouchesForStart(rotated, id, 'acct-1', Number.NaN), false);
  });

  it('made under a key that is now retired, still vouch; under an unknown key, not', () => {
    const id = makeSessionId(before, 'acct-1', T);
    assert.equal(vouchesForStart(rotated, id, 'acct-1', T), true);
    const stranger = new TokenHasher({ currentKeyId: 'x', keys: { x: 'another-key-0123456789abcdef01234' } });
    assert.equal(vouchesForStart(stranger, id, 'acct-1', T), false);
  });

  it('use a key derived for the purpose: a session mac is not the token hash of the same text', () => {
    const [mac] = rotated.macAll('session-id', 'x');
    assert.notEqual(mac!.hash, rotated.hash('x').hash);
    assert.deepEqual(
      rotated.macAll('session-id', 'x').map((m) => m.keyId),
      ['k1', 'k0'],
      'current key first',
    );
  });
});
