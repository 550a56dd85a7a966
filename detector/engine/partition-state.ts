/**
 * One partition's hot state: in-memory values by namespace and key, with the keys changed since
 * the last flush (write-behind), the consumed offsets and the watermark. Bounded in keys: at the
 * bound the coldest keys are shed (counted) to make room, so a flood of new keys (random tokens)
 * cannot stop the partition from tracking the next real one.
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
  /**
   * Latest event time of each input per tenant (c: CDN logs, h: heartbeats), epoch ms: which
   * signals a tenant sends, kept beside the offsets so a restart or a rebuild knows them exactly.
   * Absent in metas written before it (read as {}).
   */
  signals?: Record<string, TenantSeen>;
}

/** Latest event time of a tenant's CDN logs (c) and heartbeats (h) in one partition, epoch ms. */
export interface TenantSeen {
  c: number | null;
  h: number | null;
}

/**
 * Everything stored under one key (a token hash, an account id, a flag id...), by namespace: the
 * rules that look at one subject find their values side by side, in one map entry and one RocksDB
 * value. `d` marks it changed since the last flush.
 */
interface Entity {
  v: Record<string, StateValue>;
  d: boolean;
}

/** At the bound, keysMax / SHED_DIVISOR of the coldest keys are shed at once (1/64: 1.6 %). */
const SHED_DIVISOR = 64;

/** How recently a key was used: the latest expiry of its values (Infinity when one never expires). */
function heatOf(e: Entity): number {
  let heat = Number.NEGATIVE_INFINITY;
  for (const ns in e.v) {
    const x = e.v[ns]!.x;
    if (x === 0) return Number.POSITIVE_INFINITY;
    if (x > heat) heat = x;
  }
  return heat;
}

export class PartitionState implements StateView {
  readonly partition: number;
  /** Entities by key. */
  readonly entities = new Map<string, Entity>();
  meta: PartitionMeta = { offsets: {}, watermarkMs: 0, anomaliesOffset: null };
  /** Keys shed (the coldest, to make room for new ones) because the partition held keysMax keys. */
  overflowKeys = 0;
  /** Keys changed since the last flush (deleted ones are absent from `entities`). */
  private dirty: string[] = [];
  private readonly keysMax: number;
  // The rules of one event ask for the same few keys in turn: a two-slot cache saves the hashing.
  private k1: string | undefined;
  private e1: Entity | undefined;
  private k2: string | undefined;
  private e2: Entity | undefined;

  constructor(partition: number, keysMax: number) {
    this.partition = partition;
    this.keysMax = keysMax;
  }

  /** Keys held. */
  get size(): number {
    return this.entities.size;
  }

  /** Keys changed since the last flush. */
  get dirtySize(): number {
    return this.dirty.length;
  }

  private entity(key: string): Entity | undefined {
    if (key === this.k1) return this.e1;
    if (key === this.k2) return this.e2;
    const e = this.entities.get(key);
    this.k2 = this.k1;
    this.e2 = this.e1;
    this.k1 = key;
    this.e1 = e;
    return e;
  }

  /** Keeps the cache true after the key's entity was created or deleted. */
  private remember(key: string, e: Entity | undefined): void {
    if (key === this.k1) this.e1 = e;
    if (key === this.k2) this.e2 = e;
  }

  get<T extends StateValue>(ns: string, key: string): T | undefined {
    return this.entity(key)?.v[ns] as T | undefined;
  }

  /** Sets or deletes (undefined) one value. A new key at the bound first sheds the coldest keys. */
  set(ns: string, key: string, value: StateValue | undefined): boolean {
    let e = this.entity(key);
    if (value === undefined) {
      if (!e || !(ns in e.v)) return true;
      delete e.v[ns];
      if (!e.d) {
        e.d = true;
        this.dirty.push(key);
      }
      for (const _ in e.v) return true;
      this.entities.delete(key);
      this.remember(key, undefined);
      return true;
    }
    if (!e) {
      if (this.entities.size >= this.keysMax) this.shedColdest();
      e = { v: {}, d: false };
      this.entities.set(key, e);
      this.remember(key, e);
    }
    e.v[ns] = value;
    if (!e.d) {
      e.d = true;
      this.dirty.push(key);
    }
    return true;
  }

  /** Loads one stored entity (no dirty mark, no bound: it was within bounds when written). */
  restore(key: string, values: Record<string, StateValue>): void {
    const e = { v: values, d: false };
    this.entities.set(key, e);
    this.remember(key, e);
  }

  /**
   * Drops the coldest keys: those whose latest expiry is soonest (their windows were touched
   * longest ago; a value without expiry is never cold), ties by key so a replay sheds the same
   * ones. A slice of the bound at once, so the scan is paid once per keysMax / SHED_DIVISOR new keys.
   */
  private shedColdest(): void {
    const count = Math.min(this.entities.size, Math.max(1, Math.ceil(this.keysMax / SHED_DIVISOR)));
    const heats = new Float64Array(this.entities.size);
    let i = 0;
    for (const e of this.entities.values()) heats[i++] = heatOf(e);
    heats.sort();
    const threshold = heats[count - 1]!;
    let below = 0;
    while (below < count && heats[below]! < threshold) below++;
    const ties: string[] = [];
    for (const [key, e] of this.entities) {
      const h = heatOf(e);
      if (h < threshold) this.drop(key, e);
      else if (h === threshold) ties.push(key);
    }
    ties.sort();
    for (let t = 0; t < count - below; t++) this.drop(ties[t]!, this.entities.get(ties[t]!)!);
    this.overflowKeys += count;
  }

  /** Deletes a key with all its values (written as a deletion at the next flush). */
  private drop(key: string, e: Entity): void {
    this.entities.delete(key);
    this.remember(key, undefined);
    if (!e.d) this.dirty.push(key);
  }

  /** Deletes values expired before `beforeMs` (event time). Returns how many were removed. */
  sweep(beforeMs: number): number {
    let removed = 0;
    for (const [key, e] of this.entities) {
      let left = 0;
      let gone = 0;
      for (const ns in e.v) {
        const x = e.v[ns]!.x;
        if (x !== 0 && x < beforeMs) {
          delete e.v[ns];
          gone++;
        } else left++;
      }
      if (gone === 0) continue;
      removed += gone;
      if (!e.d) {
        e.d = true;
        this.dirty.push(key);
      }
      if (left === 0) {
        this.entities.delete(key);
        this.remember(key, undefined);
      }
    }
    return removed;
  }

  /** The keys changed since the last flush with their values (undefined: deleted); clears the marks. */
  takeDirty(): Array<[key: string, values: Record<string, StateValue> | undefined]> {
    const out: Array<[string, Record<string, StateValue> | undefined]> = [];
    for (const key of this.dirty) {
      const e = this.entities.get(key);
      if (e) {
        if (!e.d) continue; // listed twice (deleted, then created again): written once
        e.d = false;
      }
      out.push([key, e?.v]);
    }
    this.dirty = [];
    return out;
  }

  /**
   * Marks keys dirty again after a flush of them failed, so the next flush writes them (a
   * deleted key stays listed: its delete is still to be written).
   */
  returnDirty(keys: readonly string[]): void {
    for (const key of keys) {
      const e = this.entities.get(key);
      if (e?.d) continue;
      if (e) e.d = true;
      this.dirty.push(key);
    }
  }

  /** Every (namespace, key, value), for tests and benchmarks. */
  *values(): Generator<[ns: string, key: string, value: StateValue]> {
    for (const [key, e] of this.entities) for (const ns in e.v) yield [ns, key, e.v[ns]!];
  }
}
