/**
 * Revocations: issue, lift, list, and restore the denylist from the compacted revocations topic.
 *
 * Issue order (per batch): Redis first (entry + change message, atomically per subject), then
 * the revocation record on leechguard.revocations.v1 (acks=all), and only then does the caller
 * commit the anomaly's offset. A crash anywhere before the commit replays the anomaly: the same
 * deterministic revocation id is built, Redis sees the same entry (no-op), and the record is
 * produced once (a revocation already in the table is never produced again).
 *
 * Lift order: the lifted state on the topic first, then the Redis removal; a crash between the
 * two is healed at the next boot, when restore() removes entries whose revocation is lifted. When
 * another revocation of the same subject is still active, it is written back in the same lift.
 */
import type { Clock } from '../../core/clock.ts';
import { LeechguardError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { Revocation } from '../../core/schemas/generated.ts';
import { TOPICS } from '../../core/topics.ts';
import { type CrashPoint, crashIfAt } from '../crash-point.ts';
import { revocationStatus } from '../policy/policy.ts';
import type { RedisDenylist } from '../sinks/redis-denylist/denylist.ts';
import { KeyedTable, type StateWrite, type StateWriter } from '../state/state-log.ts';

export type RevocationStatus = 'active' | 'lifted' | 'expired';

export interface RevocationView extends Revocation {
  status: RevocationStatus;
}

export interface RevocationsOptions {
  denylist: RedisDenylist;
  writer: StateWriter;
  clock: Clock;
  logger: Logger;
  crashAt?: CrashPoint;
}

/** Records made durable in the same produce request as the revocations. */
export interface AlsoWrite {
  writes?: StateWrite<unknown>[];
  extra?: Array<{ topic: string; key: string; value: unknown }>;
}

export class Revocations {
  readonly table = new KeyedTable<Revocation>(TOPICS.revocations.name);
  private readonly options: RevocationsOptions;
  /** Issue, lift, restore and sweep run one at a time, so a restore never re-adds a lift in flight. */
  private chain: Promise<unknown> = Promise.resolve();
  /** Run id of the Redis server the last restore wrote to. */
  private restoredOnRunId: string | undefined;

  constructor(options: RevocationsOptions) {
    this.options = options;
  }

  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => {});
    return run;
  }

  /** True when this revocation id was already issued (active, lifted or expired). */
  has(id: string): boolean {
    return this.table.get(id) !== undefined;
  }

  /**
   * Issues the revocations not issued before: Redis, then the topic (with `alsoWrite`, records the
   * same step must make durable, e.g. the review entry an approval closes). Returns those issued.
   */
  issue(revocations: readonly Revocation[], alsoWrite: AlsoWrite = {}): Promise<Revocation[]> {
    return this.serialised(() => this.issueNow(revocations, alsoWrite));
  }

  private async issueNow(revocations: readonly Revocation[], alsoWrite: AlsoWrite): Promise<Revocation[]> {
    const seen = new Set<string>();
    const fresh = revocations.filter((r) => {
      if (this.has(r.id) || seen.has(r.id)) return false;
      seen.add(r.id);
      return true;
    });
    await this.options.denylist.setMany(fresh);
    if (fresh.length > 0) await crashIfAt('after-redis-write', this.options.crashAt, this.options.logger);
    await this.options.writer.write(
      [...fresh.map((r) => ({ table: this.table, key: r.id, value: r })), ...(alsoWrite.writes ?? [])],
      alsoWrite.extra,
    );
    return fresh;
  }

  /** Lifts one revocation (appeal / support): lifted state on the topic, then Redis removal + change message. */
  lift(id: string, liftedBy: string, reason: string): Promise<RevocationView> {
    return this.serialised(() => this.liftNow(id, liftedBy, reason));
  }

  private async liftNow(id: string, liftedBy: string, reason: string): Promise<RevocationView> {
    const held = this.table.get(id);
    if (!held) throw new LeechguardError('ENF_ERR_REVOCATION_NOT_FOUND', id);
    let lifted = held;
    if (held.state !== 'lifted') {
      lifted = {
        ...held,
        state: 'lifted',
        liftedAtMs: this.options.clock.nowMs(),
        liftedBy,
        liftReason: reason,
      };
      await this.options.writer.write([{ table: this.table, key: id, value: lifted }]);
    }
    // Always run the removal: a retried lift heals a crash between the topic and Redis.
    await this.options.denylist.lift(lifted);
    // Redis holds one revocation per subject (the longest-lasting). Another one still active for
    // the subject takes the key back: the subject stays revoked until every revocation of it ends.
    // (A scan of the table: lifts are rare, human-made calls.)
    const nowMs = this.options.clock.nowMs();
    const others: Revocation[] = [];
    for (const r of this.table.values()) {
      if (
        r.id !== id &&
        r.subjectKey === lifted.subjectKey &&
        r.subjectKind === lifted.subjectKind &&
        revocationStatus(r, nowMs) === 'active'
      ) {
        others.push(r);
      }
    }
    if (others.length > 0) await this.options.denylist.setMany(others);
    return this.view(lifted);
  }

  view(r: Revocation): RevocationView {
    return { ...r, status: revocationStatus(r, this.options.clock.nowMs()) };
  }

  get(id: string): RevocationView | undefined {
    const r = this.table.get(id);
    return r ? this.view(r) : undefined;
  }

  /** Newest first, filtered by status, account, subject key or rule. */
  list(filter: {
    status?: RevocationStatus;
    accountId?: string;
    subjectKey?: string;
    rule?: string;
    limit: number;
  }): {
    total: number;
    items: RevocationView[];
  } {
    const items: RevocationView[] = [];
    for (const r of this.table.values()) {
      if (filter.accountId && r.accountId !== filter.accountId) continue;
      if (filter.subjectKey && r.subjectKey !== filter.subjectKey) continue;
      if (filter.rule && r.rule !== filter.rule) continue;
      const v = this.view(r);
      if (filter.status && v.status !== filter.status) continue;
      items.push(v);
    }
    items.sort((a, b) => b.issuedAtMs - a.issuedAtMs);
    return { total: items.length, items: items.slice(0, filter.limit) };
  }

  /**
   * Makes Redis agree with the topic: every still-active revocation is written back (a no-op for
   * entries already there), every lifted one is removed. Run at boot before answering ready, so an
   * enforcer that finds Redis wiped (FLUSHALL, a new replica) restores the denylist.
   */
  restore(): Promise<{ restored: number; removed: number; active: number }> {
    return this.serialised(() => this.restoreNow());
  }

  private async restoreNow(): Promise<{ restored: number; removed: number; active: number }> {
    const nowMs = this.options.clock.nowMs();
    const active: Revocation[] = [];
    const lifted: Revocation[] = [];
    for (const r of this.table.values()) {
      const status = revocationStatus(r, nowMs);
      if (status === 'active') active.push(r);
      else if (status === 'lifted' && r.expiresAtMs > nowMs) lifted.push(r);
    }
    // Read before writing: a restart during the restore then shows as a change at the next check.
    const runId = await this.options.denylist.serverRunId();
    let restored = 0;
    const chunk = 1_000; // bounds one pipeline's memory and the time Redis is busy with it
    for (let i = 0; i < active.length; i += chunk) {
      const results = await this.options.denylist.setMany(active.slice(i, i + chunk));
      restored += results.filter((s) => s === 'written').length;
    }
    let removed = 0;
    for (const r of lifted) if (await this.options.denylist.lift(r)) removed++;
    await this.options.denylist.markRestored(nowMs);
    this.restoredOnRunId = runId;
    return { restored, removed, active: active.length };
  }

  /**
   * False when Redis may no longer hold what the topic says since the last restore: wiped (marker
   * gone), or another server process (restarted from an older snapshot, a promoted replica).
   */
  async stillRestored(): Promise<boolean> {
    if (!(await this.options.denylist.isMarkedRestored())) return false;
    return (await this.options.denylist.serverRunId()) === this.restoredOnRunId;
  }

  /**
   * Writes tombstones for revocations expired (or lifted and expired) more than `keepMs` ago, so
   * compaction removes them from the topic and this table stops holding them. Returns the count.
   */
  sweep(keepMs: number, batchMax: number): Promise<number> {
    return this.serialised(async () => {
      const cutoffMs = this.options.clock.nowMs() - keepMs;
      const old = [...this.table.values()].filter((r) => r.expiresAtMs < cutoffMs);
      for (let i = 0; i < old.length; i += batchMax) {
        await this.options.writer.write(
          old.slice(i, i + batchMax).map((r) => ({ table: this.table, key: r.id, value: null })),
        );
      }
      return old.length;
    });
  }
}
