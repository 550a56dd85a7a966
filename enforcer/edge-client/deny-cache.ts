/**
 * The in-process mirror of the Redis denylist (enforcer/denylist/keys.ts). Pure: no I/O, time
 * passed in. Holds
 *  - positive entries: every active revocation, loaded by a full resync and kept fresh by the
 *    change channel; an entry past its expiresAtMs is treated as gone (Redis drops it by TTL);
 *  - negative entries: "Redis had nothing for this subject" for a short TTL, only needed while the
 *    mirror is incomplete (before the first resync, while the subscription is down, or when the
 *    denylist is larger than maxEntries). Any change message drops the matching negative.
 */
import { LIMITS } from '../../core/limits.ts';
import type { RevokedSubjectKind } from '../../core/schemas/generated.ts';
import type { DenyChange, DenyEntry } from '../denylist/keys.ts';

export interface DenyCacheOptions {
  /** Most positive entries mirrored; beyond it the mirror is marked incomplete and misses go to Redis. */
  maxEntries: number;
  /** How long "not denied" learnt from Redis is trusted while the mirror is incomplete, ms. */
  negativeTtlMs: number;
  /** Most negative entries kept; the oldest is dropped first. */
  negativeMax: number;
  /**
   * Most bytes the negative entries may take (subjects are caller-chosen, up to
   * LIMITS.decisionSubjectCharsMax chars each); the oldest are dropped first. Default
   * LIMITS.edgeNegativeCacheBytesMax.
   */
  negativeBytesMax?: number;
}

/** Estimated bytes of one negative entry besides its subject (Map slot, number, string header). */
const NEGATIVE_ENTRY_OVERHEAD_BYTES = 64;

/** Estimated bytes of a negative entry: the subject's UTF-16 units plus the overhead. */
function negativeBytesOf(subject: string): number {
  return subject.length * 2 + NEGATIVE_ENTRY_OVERHEAD_BYTES;
}

type Kinds<T> = Record<RevokedSubjectKind, Map<string, T>>;

function kinds<T>(): Kinds<T> {
  return { token: new Map(), session: new Map(), account: new Map() };
}

/** undefined = unknown (ask Redis), null = known not denied, DenyEntry = denied. */
export type Lookup = DenyEntry | null | undefined;

export class DenyCache {
  private positive: Kinds<DenyEntry> = kinds();
  private readonly negative: Kinds<number> = kinds();
  private negativeCount = 0;
  private negativeBytes = 0;
  private readonly negativeBytesMax: number;
  private overflowed = false;
  /** True when the mirror holds every active entry (synced, subscribed, not overflowed). */
  private synced = false;
  /** Bumped on every change; a Redis read started before a change must not cache a negative. */
  changeSeq = 0;
  readonly options: DenyCacheOptions;

  constructor(options: DenyCacheOptions) {
    this.options = options;
    this.negativeBytesMax = options.negativeBytesMax ?? LIMITS.edgeNegativeCacheBytesMax;
  }

  /** Estimated bytes held by negative entries (tests, metrics). */
  get negativeBytesHeld(): number {
    return this.negativeBytes;
  }

  /** Hot path: one Map lookup per subject, no allocation. */
  lookup(kind: RevokedSubjectKind, subject: string, nowMs: number): Lookup {
    const entry = this.positive[kind].get(subject);
    if (entry !== undefined) {
      if (entry.expiresAtMs > nowMs) return entry;
      this.positive[kind].delete(subject);
    }
    if (this.synced && !this.overflowed) return null;
    const negUntilMs = this.negative[kind].get(subject);
    if (negUntilMs !== undefined && negUntilMs > nowMs) return null;
    return undefined;
  }

  /** The mirrored entry, expired or not (the caller checks expiresAtMs); no clock needed. */
  positiveOf(kind: RevokedSubjectKind, subject: string): DenyEntry | undefined {
    return this.positive[kind].get(subject);
  }

  /** Whether a miss is authoritative (the mirror is complete). */
  get complete(): boolean {
    return this.synced && !this.overflowed;
  }

  /**
   * A change is announced for a subject but not yet read: a cached "not denied" no longer holds,
   * and a read in flight must not record one. (An entry it holds stays until the change is
   * applied: the safe side.)
   */
  forgetNegative(kind: RevokedSubjectKind, subject: string): void {
    this.changeSeq++;
    this.dropNegative(kind, subject);
  }

  /** The subscription went down or came back before its resync finished. */
  markUnsynced(): void {
    this.synced = false;
  }

  get size(): number {
    return this.positive.token.size + this.positive.session.size + this.positive.account.size;
  }

  applyChange(change: DenyChange): void {
    this.changeSeq++;
    this.dropNegative(change.kind, change.subject);
    if (change.op === 'del' || !change.entry) {
      this.positive[change.kind].delete(change.subject);
      return;
    }
    this.putPositive(change.kind, change.subject, change.entry);
  }

  putPositive(kind: RevokedSubjectKind, subject: string, entry: DenyEntry): void {
    const map = this.positive[kind];
    if (!map.has(subject) && this.size >= this.options.maxEntries) {
      this.overflowed = true;
      return;
    }
    map.set(subject, entry);
  }

  /** Records "not denied" unless a change arrived since the Redis read started (seqAtRead). */
  putNegative(kind: RevokedSubjectKind, subject: string, nowMs: number, seqAtRead: number): void {
    if (seqAtRead !== this.changeSeq) return;
    const map = this.negative[kind];
    if (!map.has(subject)) {
      const bytes = negativeBytesOf(subject);
      if (bytes > this.negativeBytesMax) return;
      while (
        this.negativeCount > 0 &&
        (this.negativeCount >= this.options.negativeMax || this.negativeBytes + bytes > this.negativeBytesMax)
      ) {
        this.dropOldestNegative();
      }
      this.negativeCount++;
      this.negativeBytes += bytes;
    }
    map.set(subject, nowMs + this.options.negativeTtlMs);
  }

  /** Swaps in a full resync's result (already merged with changes seen during the scan). */
  replaceAll(entries: Iterable<{ kind: RevokedSubjectKind; subject: string; entry: DenyEntry }>): void {
    this.positive = kinds();
    this.sweepIter = undefined;
    this.sweepKind = 0;
    this.overflowed = false;
    for (const e of entries) this.putPositive(e.kind, e.subject, e.entry);
    for (const map of Object.values(this.negative)) map.clear();
    this.negativeCount = 0;
    this.negativeBytes = 0;
    this.synced = true;
    this.changeSeq++;
  }

  private sweepKind = 0;
  private sweepIter: Iterator<[string, DenyEntry]> | undefined;

  /**
   * Drops mirrored entries past their expiry (Redis expires keys silently, without a change
   * message). Visits at most maxVisits entries per call, resuming where the last call stopped, so
   * a large mirror is swept in slices. Returns true when a full pass has just finished.
   */
  sweep(nowMs: number, maxVisits: number): boolean {
    const order: RevokedSubjectKind[] = ['token', 'session', 'account'];
    let visits = 0;
    while (visits < maxVisits) {
      const kind = order[this.sweepKind]!;
      const map = this.positive[kind];
      this.sweepIter ??= map.entries();
      const next = this.sweepIter.next();
      if (next.done) {
        this.sweepIter = undefined;
        this.sweepKind = (this.sweepKind + 1) % order.length;
        if (this.sweepKind === 0) return true;
        continue;
      }
      visits++;
      if (next.value[1].expiresAtMs <= nowMs) map.delete(next.value[0]);
    }
    return false;
  }

  private dropNegative(kind: RevokedSubjectKind, subject: string): void {
    if (this.negative[kind].delete(subject)) {
      this.negativeCount--;
      this.negativeBytes -= negativeBytesOf(subject);
    }
  }

  private dropOldestNegative(): void {
    for (const map of Object.values(this.negative)) {
      const first = map.keys().next();
      if (!first.done) {
        map.delete(first.value);
        this.negativeCount--;
        this.negativeBytes -= negativeBytesOf(first.value);
        return;
      }
    }
  }
}
