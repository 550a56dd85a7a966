/**
 * Deterministic merge of one partition's three inputs (accounts, heartbeats, requests): records
 * are released in (log timestamp, role, offset) order, and only while every input either has a
 * buffered record or is caught up with its log end. So a replay of the same logs releases the
 * same order, whatever the fetch interleaving was: the precondition of exact recovery.
 */
import { INPUT_ROLES, type InputRole } from './partition-state.ts';
import type { InputRecord } from './topology.ts';

interface Buffered {
  timestampMs: number;
  record: InputRecord;
}

const RANK: Record<InputRole, number> = { accounts: 0, heartbeats: 1, requests: 2 };

export class PartitionMerger {
  /** Next offset expected from the fetch, per role. */
  readonly fetched: Record<InputRole, number>;
  /** Log end offset last seen, per role. */
  readonly logEnd: Record<InputRole, number>;
  private readonly buffers: Record<InputRole, Buffered[]> = { accounts: [], heartbeats: [], requests: [] };
  private readonly heads: Record<InputRole, number> = { accounts: 0, heartbeats: 0, requests: 0 };

  constructor(fetched: Record<InputRole, number>, logEnd: Record<InputRole, number>) {
    this.fetched = { ...fetched };
    this.logEnd = { ...logEnd };
  }

  /** Buffers one fetched record; returns false (and ignores it) when it was already fetched. */
  push(role: InputRole, timestampMs: number, record: InputRecord): boolean {
    if (record.offset < this.fetched[role]) return false;
    this.fetched[role] = record.offset + 1;
    if (this.fetched[role] > this.logEnd[role]) this.logEnd[role] = this.fetched[role];
    this.buffers[role].push({ timestampMs, record });
    return true;
  }

  buffered(role: InputRole): number {
    return this.buffers[role].length - this.heads[role];
  }

  /** Releases records in merge order while the order is decided; calls `each` for each. */
  drain(each: (record: InputRecord, timestampMs: number) => void): number {
    let released = 0;
    for (;;) {
      let best: InputRole | undefined;
      let bestItem: Buffered | undefined;
      for (const role of INPUT_ROLES) {
        const item = this.buffers[role][this.heads[role]];
        if (!item) {
          // An input with more in its log than fetched: its next record could come first. Wait.
          if (this.fetched[role] < this.logEnd[role]) {
            this.compact();
            return released;
          }
          continue;
        }
        if (
          !bestItem ||
          item.timestampMs < bestItem.timestampMs ||
          (item.timestampMs === bestItem.timestampMs && RANK[role] < RANK[best!])
        ) {
          best = role;
          bestItem = item;
        }
      }
      if (!best || !bestItem) {
        this.compact();
        return released;
      }
      this.heads[best]++;
      released++;
      each(bestItem.record, bestItem.timestampMs);
    }
  }

  private compact(): void {
    for (const role of INPUT_ROLES) {
      if (this.heads[role] > 1024 && this.heads[role] * 2 > this.buffers[role].length) {
        this.buffers[role] = this.buffers[role].slice(this.heads[role]);
        this.heads[role] = 0;
      }
    }
  }
}
