/**
 * Kafka's default key partitioning (murmur2 of the key bytes, seed 0x9747b28c, positive, modulo
 * the partition count), computed with 32-bit integer math. kafkajs's own partitioner does the same
 * with a 64-bit Long emulation, which costs more than the rest of the produce path per record;
 * the result is the same partition (a unit test pins it against kafkajs), so records keyed by
 * account land where any Kafka client would put them.
 */
const SEED = 0x9747b28c;
const M = 0x5bd1e995;

export function murmur2(key: string | Buffer): number {
  const data = typeof key === 'string' ? Buffer.from(key) : key;
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const tail = length & ~3;
  // The tail bytes, mixed as the reference implementation's fall-through switch does.
  const rest = length & 3;
  if (rest === 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition Kafka's default partitioner picks for `key` among `partitions`. */
export function partitionOf(key: string | Buffer, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}
