/**
 * One partition's hot state: an in-memory map of state values with the set of keys changed since
 * the last flush (write-behind), the consumed offsets and the watermark. Bounded in keys; a key
 * refused at the bound is counted, never a crash.
 */
import type { StateValue, StateView } from '../rules/kit.ts';

/** Input roles of the topology, in the order ties between equal timestamps are broken. */
export const INPUT_ROLES = ['accounts', 'heartbeats', 'requests'] as const;
export type InputRole = (typeof INPUT_ROLES)[number];

/** What is stored beside the state, in the same atomic batch. */
export interface PartitionMeta {
  /** Next offset to consume per input role. */
  offsets: Partial<Record<InputRole, number>>;
  /** Max event time processed, epoch ms. */
  watermarkMs: number;
  /** Next offset of the anomalies partition after the last flag this partition produced. */
  anomaliesOffset: number | null;
}

export class PartitionState implements StateView {
  readonly partition: number;
  readonly map = new Map<string, StateValue>();
  /** Keys changed since the last flush (value undefined in the map: deleted). */
  readonly dirty = new Set<string>();
  meta: PartitionMeta = { offsets: {}, watermarkMs: 0, anomaliesOffset: null };
  private readonly keysMax: number;
  /** Keys refused because the partition held keysMax keys. */
  overflowKeys = 0;

  constructor(partition: number, keysMax: number) {
    this.partition = partition;
    this.keysMax = keysMax;
  }

  get<T extends StateValue>(key: string): T | undefined {
    return this.map.get(key) as T | undefined;
  }

  /** Sets or deletes (undefined) one key; returns false when a new key is refused at the bound. */
  set(key: string, value: StateValue | undefined): boolean {
    if (value === undefined) {
      if (this.map.delete(key)) this.dirty.add(key);
      return true;
    }
    if (this.map.size >= this.keysMax && !this.map.has(key)) {
      this.overflowKeys++;
      return false;
    }
    this.map.set(key, value);
    this.dirty.add(key);
    return true;
  }

  /** Deletes values expired before `beforeMs` (event time). Returns how many were removed. */
  sweep(beforeMs: number): number {
    let removed = 0;
    for (const [key, value] of this.map) {
      if (value.x !== 0 && value.x < beforeMs) {
        this.map.delete(key);
        this.dirty.add(key);
        removed++;
      }
    }
    return removed;
  }

  /** The changes since the last flush, and clears the dirty set. */
  takeDirty(): Array<[string, StateValue | undefined]> {
    const out: Array<[string, StateValue | undefined]> = [];
    for (const key of this.dirty) out.push([key, this.map.get(key)]);
    this.dirty.clear();
    return out;
  }
}
