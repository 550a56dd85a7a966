/**
 * The flag index: the recent flags of every mode (monitor, moderate, automate, allow-listed), in
 * memory, bounded by count and age, queryable by rule / tenant / account / severity / outcome /
 * time with cursor pagination. It answers the console's lists, account pages, exports and policy
 * previews. It holds what this instance handled since it started (the topic stays the record):
 * after a restart it fills again from new flags.
 */
import type { Clock } from '../../core/clock.ts';
import { LeechguardError } from '../../core/errors.ts';
import { LIMITS } from '../../core/limits.ts';
import type { Anomaly, Severity } from '../../core/schemas/generated.ts';
import type { Mode, Outcome } from '../policy/policy.ts';

export type FlagOutcome = Outcome['kind'];
export const FLAG_OUTCOMES: readonly FlagOutcome[] = ['allow-listed', 'would-have', 'review', 'revoke'];

export interface IndexedFlag {
  /** Arrival order in this index (the cursor's tie-break). */
  seq: number;
  receivedAtMs: number;
  /** What the policy in force did with the flag when it arrived. */
  outcome: FlagOutcome;
  mode: Mode;
  anomaly: Anomaly;
}

export interface FlagQuery {
  rule?: string;
  tenant?: string;
  accountId?: string;
  subjectKey?: string;
  severity?: Severity;
  outcome?: FlagOutcome;
  /** detectedAtMs >= fromMs (inclusive). */
  fromMs?: number;
  /** detectedAtMs < toMs (exclusive). */
  toMs?: number;
  /** Only flags after this cursor (a `nextCursor` of an earlier page). */
  cursor?: string;
  limit: number;
}

export interface FlagPage {
  items: IndexedFlag[];
  /** Pass as `cursor` for the next page; null on the last one. */
  nextCursor: string | null;
}

/** Newest detection first (ties: newest arrival first). Pure over the entries given. */
export function queryFlags(flags: readonly IndexedFlag[], q: FlagQuery): FlagPage {
  let after: { detectedAtMs: number; seq: number } | undefined;
  if (q.cursor !== undefined) {
    const m = /^(\d{1,15})\.(\d{1,15})$/.exec(q.cursor);
    if (!m) throw new LeechguardError('ENF_ERR_CURSOR_INVALID', q.cursor);
    after = { detectedAtMs: Number(m[1]), seq: Number(m[2]) };
  }
  const matching = flags.filter((f) => matches(f, q) && (!after || isAfter(f, after)));
  matching.sort((a, b) => b.anomaly.detectedAtMs - a.anomaly.detectedAtMs || b.seq - a.seq);
  const items = matching.slice(0, q.limit);
  const last = items.at(-1);
  return {
    items,
    nextCursor: matching.length > q.limit && last ? `${last.anomaly.detectedAtMs}.${last.seq}` : null,
  };
}

/** True when `f` sorts after the cursor's flag (older detection, or same and older arrival). */
function isAfter(f: IndexedFlag, c: { detectedAtMs: number; seq: number }): boolean {
  return (
    f.anomaly.detectedAtMs < c.detectedAtMs || (f.anomaly.detectedAtMs === c.detectedAtMs && f.seq < c.seq)
  );
}

function matches(f: IndexedFlag, q: FlagQuery): boolean {
  const a = f.anomaly;
  if (q.rule !== undefined && a.rule !== q.rule) return false;
  if (q.tenant !== undefined && a.tenant !== q.tenant) return false;
  if (q.accountId !== undefined && a.accountId !== q.accountId) return false;
  if (q.subjectKey !== undefined && a.subjectKey !== q.subjectKey) return false;
  if (q.severity !== undefined && a.severity !== q.severity) return false;
  if (q.outcome !== undefined && f.outcome !== q.outcome) return false;
  if (q.fromMs !== undefined && a.detectedAtMs < q.fromMs) return false;
  if (q.toMs !== undefined && a.detectedAtMs >= q.toMs) return false;
  return true;
}

export class FlagIndex {
  /** By flag id, in arrival order (a new version of a flag moves it to the end). */
  private readonly byId = new Map<string, IndexedFlag>();
  private seq = 0;
  private readonly clock: Clock;
  private readonly max: number;
  private readonly retentionMs: number;

  constructor(
    clock: Clock,
    max: number = LIMITS.enforcerFlagIndexMax,
    retentionMs: number = LIMITS.enforcerFlagIndexRetentionMs,
  ) {
    this.clock = clock;
    this.max = max;
    this.retentionMs = retentionMs;
  }

  /** Records one flag (a newer version replaces the held one; an older or equal one is ignored). */
  record(anomaly: Anomaly, outcome: FlagOutcome, mode: Mode): void {
    const held = this.byId.get(anomaly.id);
    if (held && held.anomaly.version >= anomaly.version) return;
    const nowMs = this.clock.nowMs();
    this.byId.delete(anomaly.id);
    this.byId.set(anomaly.id, { seq: ++this.seq, receivedAtMs: nowMs, outcome, mode, anomaly });
    this.evict(nowMs);
  }

  private evict(nowMs: number): void {
    for (const [id, f] of this.byId) {
      if (this.byId.size <= this.max && f.receivedAtMs >= nowMs - this.retentionMs) break;
      this.byId.delete(id);
    }
  }

  get size(): number {
    return this.byId.size;
  }

  get(id: string): IndexedFlag | undefined {
    return this.byId.get(id);
  }

  /** Every held flag, oldest arrival first (a copy: callers may hold it across awaits). */
  all(): IndexedFlag[] {
    this.evict(this.clock.nowMs());
    return [...this.byId.values()];
  }

  query(q: FlagQuery): FlagPage {
    return queryFlags(this.all(), q);
  }
}

/** CSV columns of a flag export, in order. */
export const FLAG_CSV_COLUMNS = [
  'id',
  'version',
  'rule',
  'severity',
  'outcome',
  'mode',
  'tenant',
  'accountId',
  'subjectKind',
  'subjectKey',
  'observed',
  'threshold',
  'detectedAt',
  'note',
] as const;

/** RFC 4180 field: quoted when it holds a comma, quote or line break; a leading = + - @ is defused. */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  let s = String(value);
  // Spreadsheet formula injection: evidence and ids come from CDN logs.
  if (/^[=+\-@\t\r]/.test(s) && typeof value === 'string') s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function flagCsvRow(f: IndexedFlag): string {
  const a = f.anomaly;
  return [
    a.id,
    a.version,
    a.rule,
    a.severity,
    f.outcome,
    f.mode,
    a.tenant,
    a.accountId,
    a.subjectKind,
    a.subjectKey,
    a.observed,
    a.threshold,
    new Date(a.detectedAtMs).toISOString(),
    a.evidence.note,
  ]
    .map(csvField)
    .join(',');
}
