/**
 * The durable side of the partition state: one RocksDB instance per process, each partition's
 * keys under its own prefix (`p<partition>` NUL `s` NUL key -> JSON of the key's values by
 * namespace, and `p<partition>` NUL `m` for the meta), so a partition can be loaded, flushed and dropped alone. A flush writes the changed
 * keys AND the partition's consumed offsets / watermark in ONE atomic batch: after a crash the
 * state and the offsets it reflects always agree.
 */
import { RocksLevel } from '@nxtedition/rocksdb';
import { LeechguardError } from '../../core/errors.ts';
import type { StateValue } from '../rules/kit.ts';
import { type PartitionMeta, PartitionState } from './partition-state.ts';

function prefix(partition: number): string {
  return `p${String(partition).padStart(4, '0')}\u0000`;
}

export class RocksStore {
  private readonly db: RocksLevel;
  private readonly sync: boolean;

  private constructor(db: RocksLevel, sync: boolean) {
    this.db = db;
    this.sync = sync;
  }

  /** Opens (creating) the store at `location`. */
  static async open(location: string, options: { sync?: boolean } = {}): Promise<RocksStore> {
    const db = new RocksLevel(location);
    try {
      await db.open();
    } catch (cause) {
      throw new LeechguardError('DET_ERR_STATE_UNAVAILABLE', `${location}: ${(cause as Error).message}`, {
        cause,
      });
    }
    return new RocksStore(db, options.sync ?? false);
  }

  /** The partition's stored state and meta, or null when the store holds nothing for it. */
  async load(partition: number, keysMax: number): Promise<PartitionState | null> {
    const pre = prefix(partition);
    let metaRaw: string | undefined;
    try {
      metaRaw = await this.db.get(`${pre}m`);
    } catch (err) {
      if ((err as { code?: string }).code !== 'LEVEL_NOT_FOUND') throw err;
    }
    if (metaRaw === undefined || metaRaw === null) return null;
    const state = new PartitionState(partition, keysMax);
    state.meta = JSON.parse(String(metaRaw)) as PartitionMeta;
    const sPre = `${pre}s\u0000`;
    for await (const [key, value] of this.db.iterator({ gte: sPre, lt: `${pre}s\u0001` })) {
      state.restore(String(key).slice(sPre.length), JSON.parse(String(value)) as Record<string, StateValue>);
    }
    return state;
  }

  /** Writes the partition's changes since the last flush and its meta in one atomic batch. */
  async flush(state: PartitionState): Promise<number> {
    const pre = `${prefix(state.partition)}s\u0000`;
    const ops: Array<{ type: 'put'; key: string; value: string } | { type: 'del'; key: string }> = [];
    const taken = state.takeDirty();
    for (const [key, values] of taken) {
      const k = pre + key;
      ops.push(
        values === undefined
          ? { type: 'del', key: k }
          : { type: 'put', key: k, value: JSON.stringify(values) },
      );
    }
    ops.push({ type: 'put', key: `${prefix(state.partition)}m`, value: JSON.stringify(state.meta) });
    try {
      await this.db.batch(ops, { sync: this.sync });
    } catch (cause) {
      // Nothing was written (the batch is atomic): the keys stay due for the next flush.
      state.returnDirty(taken.map(([key]) => key));
      throw new LeechguardError('DET_ERR_STATE_UNAVAILABLE', (cause as Error).message, { cause });
    }
    return ops.length;
  }

  /** Deletes everything stored for the partition (a range delete). */
  async clear(partition: number): Promise<void> {
    const pre = prefix(partition);
    await this.db.clear({ gte: pre, lt: `${pre.slice(0, -1)}\u0001` });
  }

  /** RocksDB's estimate of its live data, bytes. */
  liveDataBytes(): number {
    try {
      return Number(this.db.getProperty('rocksdb.estimate-live-data-size')) || 0;
    } catch {
      return 0;
    }
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
