import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Partitioners } from 'kafkajs';
import { partitionOf } from '../../../ingest/sinks/partition.ts';

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
