/**
 * One partition's hot state: in-memory values by namespace and key, with the keys changed since
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

/** One namespace: its values and the keys changed since the last flush. */
interface Space {
  values: Map<string, StateValue>;
  dirty: Set<string>;
}

export class PartitionState implements StateView {
  readonly partition: number;
  /** Values (and dirty keys) by namespace. */
  readonly spaces = new Map<string, Space>();
  meta: PartitionMeta = { offsets: {}, watermarkMs: 0, anomaliesOffset: null };
  /** Keys held over all namespaces. */
  size = 0;
  /** Keys refused because the partition held keysMax keys. */
  overflowKeys = 0;
  private readonly keysMax: number;

  constructor(partition: number, keysMax: number) {
    this.partition = partition;
    this.keysMax = keysMax;
  }

  get<T extends StateValue>(ns: string, key: string): T | undefined {
    return this.spaces.get(ns)?.values.get(key) as T | undefined;
  }

  /** Keys changed since the last flush. */
  get dirtySize(): number {
    let n = 0;
    for (const space of this.spaces.values()) n += space.dirty.size;
    return n;
  }

  private space(ns: string): Space {
    let space = this.spaces.get(ns);
    if (!space) {
      space = { values: new Map(), dirty: new Set() };
      this.spaces.set(ns, space);
    }
    return space;
  }

  /** Sets or deletes (undefined) one key; returns false when a new key is refused at the bound. */
  set(ns: string, key: string, value: StateValue | undefined): boolean {
    const space = this.space(ns);
    if (value === undefined) {
      if (space.values.delete(key)) {
        this.size--;
        space.dirty.add(key);
      }
      return true;
    }
    if (this.size >= this.keysMax && !space.values.has(key)) {
      this.overflowKeys++;
      return false;
    }
    const before = space.values.size;
    space.values.set(key, value);
    this.size += space.values.size - before;
    space.dirty.add(key);
    return true;
  }

  /** Loads one stored value (no dirty mark, no bound: it was within bounds when written). */
  restore(ns: string, key: string, value: StateValue): void {
    const space = this.space(ns);
    const before = space.values.size;
    space.values.set(key, value);
    this.size += space.values.size - before;
  }

  /** Deletes values expired before `beforeMs` (event time). Returns how many were removed. */
  sweep(beforeMs: number): number {
    let removed = 0;
    for (const space of this.spaces.values()) {
      for (const [key, value] of space.values) {
        if (value.x !== 0 && value.x < beforeMs) {
          space.values.delete(key);
          space.dirty.add(key);
          removed++;
        }
      }
    }
    this.size -= removed;
    return removed;
  }

  /** The changes since the last flush (value undefined: deleted), and clears the dirty sets. */
  takeDirty(): Array<[ns: string, key: string, value: StateValue | undefined]> {
    const out: Array<[string, string, StateValue | undefined]> = [];
    for (const [ns, space] of this.spaces) {
      for (const key of space.dirty) out.push([ns, key, space.values.get(key)]);
      space.dirty.clear();
    }
    return out;
  }
}
