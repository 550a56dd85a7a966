import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newKafkaClusterId } from '../../../core/stack/index.ts';

describe('local stack: Kafka cluster id', () => {
  it('is 16 random bytes in base64url and never starts with "-" (the storage tool would read an option)', () => {
    const seen = new Set<string>();
    // 1 id in 64 would start with '-' unguarded: 20,000 draws meet that case ~300 times.
    for (let i = 0; i < 20_000; i++) {
      const id = newKafkaClusterId();
      assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
      assert.equal(Buffer.from(id, 'base64url').length, 16);
      seen.add(id);
    }
    assert.equal(seen.size, 20_000);
  });
});
