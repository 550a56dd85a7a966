/**
 * The review queue of moderate mode: one entry per flag id on the compacted
 * leechguard.review-queue.v1 topic (keyed by flag id), so it survives restarts. An escalation
 * (same flag id, higher version) updates its entry, and reopens a decided one; an analyst approves or rejects it with a
 * comment; an approval issues the policy's revocation; each decision goes to leechguard.reviews.v1.
 */
import type { Anomaly, ReviewEntry, ReviewStatus } from '../../core/schemas/generated.ts';
import { TOPICS } from '../../core/topics.ts';
import { KeyedTable } from '../state/state-log.ts';

/**
 * Pure: the entry a flag leads to, given the one held; undefined when nothing changes (a replay,
 * or an older version). An escalation of a decided entry reopens it: the subject did more after
 * the analyst's verdict, so it is judged again (the earlier decision stays on leechguard.reviews.v1).
 */
export function entryFor(
  anomaly: Anomaly,
  held: ReviewEntry | undefined,
  nowMs: number,
): ReviewEntry | undefined {
  if (held && held.anomalyVersion >= anomaly.version) return undefined;
  if (held && held.status !== 'pending') {
    return {
      ...entryFor(anomaly, undefined, nowMs)!,
      createdAtMs: held.createdAtMs,
      assignee: held.assignee,
      notes: held.notes,
    };
  }
  return {
    anomalyId: anomaly.id,
    anomalyVersion: anomaly.version,
    rule: anomaly.rule,
    tenant: anomaly.tenant,
    accountId: anomaly.accountId,
    subjectKind: anomaly.subjectKind,
    subjectKey: anomaly.subjectKey,
    severity: anomaly.severity,
    status: held?.status ?? 'pending',
    anomalyJson: JSON.stringify(anomaly),
    createdAtMs: held?.createdAtMs ?? nowMs,
    updatedAtMs: nowMs,
    decidedBy: held?.decidedBy ?? null,
    decidedAtMs: held?.decidedAtMs ?? null,
    comment: held?.comment ?? null,
    revocationId: held?.revocationId ?? null,
    assignee: held?.assignee ?? null,
    notes: held?.notes ?? [],
  };
}

/** The entry as the API shows it: the flag parsed back to an object. */
export interface ReviewView extends Omit<ReviewEntry, 'anomalyJson'> {
  anomaly: Anomaly;
}

export function viewOf(entry: ReviewEntry): ReviewView {
  const { anomalyJson, ...rest } = entry;
  return { ...rest, anomaly: JSON.parse(anomalyJson) as Anomaly };
}

/** The entry as the API shows it, or undefined when its stored flag cannot be read back. */
export function readableViewOf(entry: ReviewEntry): ReviewView | undefined {
  if (typeof entry.anomalyJson !== 'string') return undefined;
  try {
    return viewOf(entry);
  } catch {
    return undefined;
  }
}

export class ReviewQueue {
  readonly table = new KeyedTable<ReviewEntry>(TOPICS.reviewQueue.name);

  get(anomalyId: string): ReviewEntry | undefined {
    return this.table.get(anomalyId);
  }

  /** Oldest pending first (the queue's order); decided ones newest first. */
  list(filter: { status?: ReviewStatus; rule?: string; limit: number }): {
    total: number;
    items: ReviewView[];
    /** Entries of this page left out because their stored flag could not be read back. */
    unreadable?: number;
  } {
    const items: ReviewEntry[] = [];
    for (const e of this.table.values()) {
      if (filter.status && e.status !== filter.status) continue;
      if (filter.rule && e.rule !== filter.rule) continue;
      items.push(e);
    }
    items.sort((a, b) =>
      a.status === 'pending' && b.status === 'pending'
        ? a.createdAtMs - b.createdAtMs
        : b.updatedAtMs - a.updatedAtMs,
    );
    // Every entry the enforcer writes reads back (entryFor's JSON); this guards against a record
    // from another producer on the topic: left out of the page and counted, never a 500 for the
    // whole list. `total` counts every entry that matches the filter.
    const views: ReviewView[] = [];
    let unreadable = 0;
    for (const e of items) {
      if (views.length >= filter.limit) break;
      const v = readableViewOf(e);
      if (v) views.push(v);
      else unreadable++;
    }
    return { total: items.length, items: views, ...(unreadable > 0 ? { unreadable } : {}) };
  }

  /**
   * Flag ids of entries decided before `cutoffMs`: their tombstones keep the compacted topic and
   * this table to the entries of the retention window (pending ones stay until decided).
   */
  decidedBefore(cutoffMs: number): string[] {
    const out: string[] = [];
    for (const e of this.table.values()) {
      if (e.status !== 'pending' && e.decidedAtMs !== null && e.decidedAtMs < cutoffMs) out.push(e.anomalyId);
    }
    return out;
  }

  counts(): Record<ReviewStatus, number> {
    const out: Record<ReviewStatus, number> = { pending: 0, approved: 0, rejected: 0 };
    for (const e of this.table.values()) if (e.status in out) out[e.status]++;
    return out;
  }
}
