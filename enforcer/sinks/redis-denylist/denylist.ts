/**
 * The Redis denylist writer: revocations in, one atomic script call per change out (see
 * scripts.ts). Calls are pipelined, so a batch of revocations costs one round trip.
 */
import type { Redis } from 'ioredis';
import type { Revocation } from '../../../core/schemas/generated.ts';
import {
  DENY_CHANGES_CHANNEL,
  type DenyChange,
  type DenyEntry,
  denyKey,
  entryToFields,
} from '../../denylist/keys.ts';
import { LIFT_ENTRY_LUA, SET_ENTRY_LUA } from './scripts.ts';

type ScriptRedis = Redis & {
  lgDenySet(key: string, ...args: string[]): Promise<number>;
  lgDenyLift(key: string, ...args: string[]): Promise<number>;
};

/** What the edge reads for a revocation. */
export function entryOf(r: Revocation): DenyEntry {
  return {
    action: r.action,
    reason: r.reason,
    rule: r.rule,
    revocationId: r.id,
    expiresAtMs: r.expiresAtMs,
    issuedAtMs: r.issuedAtMs,
    slate: r.slate,
    throttleKbps: r.throttleKbps,
  };
}

/**
 * Set (no TTL) once the denylist has been restored from the revocations topic. Outside the
 * lg:deny: prefix, so readers scanning the denylist never see it. Its absence means Redis was
 * wiped (FLUSHALL, failover to an empty replica): the enforcer then restores again.
 */
export const DENYLIST_MARKER_KEY = 'lg:enf:denylist-restored';

export type SetResult = 'written' | 'unchanged' | 'superseded';

export class RedisDenylist {
  private readonly redis: ScriptRedis;

  constructor(redis: Redis) {
    // defineCommand sends EVALSHA and falls back to EVAL once after a SCRIPT FLUSH or a new server.
    if (!('lgDenySet' in redis)) {
      redis.defineCommand('lgDenySet', { numberOfKeys: 1, lua: SET_ENTRY_LUA });
      redis.defineCommand('lgDenyLift', { numberOfKeys: 1, lua: LIFT_ENTRY_LUA });
    }
    this.redis = redis as ScriptRedis;
  }

  private setArgs(r: Revocation): [string, ...string[]] {
    const entry = entryOf(r);
    const change: DenyChange = { op: 'set', kind: r.subjectKind, subject: r.subjectKey, entry };
    return [
      denyKey(r.subjectKind, r.subjectKey),
      r.id,
      String(r.expiresAtMs),
      DENY_CHANGES_CHANNEL,
      JSON.stringify(change),
      ...entryToFields(entry),
    ];
  }

  /** Writes each revocation's entry (TTL = its expiry) and publishes each change; one round trip. */
  async setMany(revocations: readonly Revocation[]): Promise<SetResult[]> {
    if (revocations.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const r of revocations) {
      const [key, ...args] = this.setArgs(r);
      (pipeline as unknown as { lgDenySet(k: string, ...a: string[]): void }).lgDenySet(key, ...args);
    }
    const results = (await pipeline.exec()) ?? [];
    return results.map(([err, value]) => {
      if (err) throw err;
      return value === 1 ? 'written' : value === 0 ? 'unchanged' : 'superseded';
    });
  }

  async markRestored(nowMs: number): Promise<void> {
    await this.redis.set(DENYLIST_MARKER_KEY, String(nowMs));
  }

  async isMarkedRestored(): Promise<boolean> {
    return (await this.redis.exists(DENYLIST_MARKER_KEY)) === 1;
  }

  /**
   * The Redis server's run id (new at every start of the process). A server restarted from an
   * older snapshot, or a replica promoted, keeps the marker of a past restore but not the
   * revocations written or lifted since: a changed run id says so where the marker cannot.
   */
  async serverRunId(): Promise<string> {
    const info = await this.redis.info('server');
    return /run_id:(\w+)/.exec(info)?.[1] ?? '';
  }

  /** Removes the revocation's entry if it is still the one held, and publishes the removal. */
  async lift(r: Revocation): Promise<boolean> {
    const change: DenyChange = { op: 'del', kind: r.subjectKind, subject: r.subjectKey };
    const removed = await this.redis.lgDenyLift(
      denyKey(r.subjectKind, r.subjectKey),
      r.id,
      DENY_CHANGES_CHANNEL,
      JSON.stringify(change),
    );
    return removed === 1;
  }
}
