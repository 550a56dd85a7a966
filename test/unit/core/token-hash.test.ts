import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { deterministicId } from '../../../core/ids.ts';
import { TokenHasher, tokenHashingSection } from '../../../core/token-hash.ts';

const k1 = 'a'.repeat(32);
const k2 = 'b'.repeat(32);

describe('token hashing', () => {
  it('is HMAC-SHA256 under the current key and never contains the token', () => {
    const hasher = new TokenHasher({ currentKeyId: 'k2', keys: { k1, k2 } });
    const { keyId, hash } = hasher.hash('secret-token-123');
    assert.equal(keyId, 'k2');
    assert.equal(hash, createHmac('sha256', k2).update('secret-token-123').digest('hex'));
    assert.ok(!hash.includes('secret-token-123'));
  });

  it('hashAll covers every key, current first, so lookups work during a rotation', () => {
    const hasher = new TokenHasher({ currentKeyId: 'k2', keys: { k1, k2 } });
    assert.deepEqual(
      hasher.hashAll('t').map((h) => h.keyId),
      ['k2', 'k1'],
    );
  });

  it('config refuses a current key id that names no key, and short secrets', () => {
    assert.equal(tokenHashingSection.safeParse({ currentKeyId: 'k9', keys: { k1 } }).success, false);
    assert.equal(tokenHashingSection.safeParse({ currentKeyId: 'k1', keys: { k1: 'short' } }).success, false);
  });
});

describe('deterministic ids', () => {
  it('same parts give the same id; different parts or order give another', () => {
    assert.equal(deterministicId('a', 1, null), deterministicId('a', 1, null));
    assert.notEqual(deterministicId('a', 'b'), deterministicId('b', 'a'));
    assert.notEqual(deterministicId('ab', 'c'), deterministicId('a', 'bc'));
    assert.match(deterministicId('x'), /^[0-9a-f]{32}$/);
  });
});
