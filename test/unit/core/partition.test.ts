import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Partitioners } from 'kafkajs';
import { keyedPartitioner } from '../../../core/kafka.ts';
import { partitionOf } from '../../../core/partition.ts';

describe('key partitioning', () => {
  it("picks the same partition as kafkajs's default (Java-compatible) partitioner for any key", () => {
    const kafkajs = Partitioners.DefaultPartitioner();
    for (const n of [1, 3, 6, 12]) {
      const partitionMetadata = Array.from({ length: n }, (_, i) => ({ partitionId: i, leader: 1 }));
      fc.assert(
        fc.property(fc.string({ maxLength: 80 }), (key) => {
          const theirs = kafkajs({ topic: 't', partitionMetadata, message: { key, value: null } } as never);
          assert.equal(partitionOf(key, n), theirs);
        }),
        { numRuns: 300 },
      );
    }
  });
});

describe('the producers partitioner (core/kafka.ts keyedPartitioner)', () => {
  it("answers as kafkajs's default partitioner for keys, given partitions and keyless messages", () => {
    const ours = keyedPartitioner();
    const kafkajs = Partitioners.DefaultPartitioner();
    for (const n of [1, 6, 12]) {
      const partitionMetadata = Array.from({ length: n }, (_, i) => ({ partitionId: i, leader: 1 }));
      fc.assert(
        fc.property(
          fc.oneof(
            fc.string({ maxLength: 40 }),
            fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
          ),
          fc.option(fc.nat(n - 1), { nil: undefined }),
          (key, partition) => {
            const message = { key, value: null, ...(partition === undefined ? {} : { partition }) };
            const args = { topic: 't', partitionMetadata, message } as never;
            assert.equal(ours(args), kafkajs(args));
          },
        ),
        { numRuns: 200 },
      );
      // Keyless: a round robin over the partitions, as kafkajs's.
      const seen = new Set<number>();
      for (let i = 0; i < 4 * n; i++) {
        seen.add(ours({ topic: 'u', partitionMetadata, message: { key: null, value: null } } as never));
      }
      assert.equal(seen.size, n);
    }
  });
});
