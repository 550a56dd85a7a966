/**
 * "Would have" accounting for monitor mode (and for flags outside an automate rollout): per rule
 * and per UTC day of the flag's detection, how many flags would have been revoked, and a bounded
 * list of them, so an operator can judge a stage before moving on to the next.
 *
 *   lg:wh:{<rule>}:<yyyy-mm-dd>   HASH  flag id → JSON summary; field `~overflow` counts flags
 *                                        past the listing bound (counted, not listed)
 *   lg:wh:index                   SET   `<rule>|<yyyy-mm-dd>` of every hash above
 * Keyed by flag id, so a replayed or escalated flag is counted once. Kept enforcerWouldHaveRetentionDays.
 */
import type { Redis } from 'ioredis';
import { LIMITS } from '../../core/limits.ts';

export const WOULD_HAVE_INDEX_KEY = 'lg:wh:index';
const OVERFLOW_FIELD = '~overflow';
const DAY_MS = 24 * 60 * 60 * 1000;

export function wouldHaveKey(rule: string, day: string): string {
  return `lg:wh:{${rule}}:${day}`;
}

/** UTC calendar day of an epoch ms, yyyy-mm-dd. */
export function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * RECORD_WOULD_HAVE: count one flag once.
 *   KEYS[1]  lg:wh:{<rule>}:<day>
 *   ARGV[1]  flag id   ARGV[2] summary JSON   ARGV[3] listing bound   ARGV[4] retention, ms
 * Returns 1 when the flag was new, 0 when it was already counted (its summary is refreshed).
 */
const RECORD_LUA = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return 0
end
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then
  redis.call('HINCRBY', KEYS[1], '${OVERFLOW_FIELD}', 1)
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`;

export interface WouldHaveItem {
  anomalyId: string;
  version: number;
  rule: string;
  /** monitor, or outside-rollout (automate, account not in the rollout yet). */
  reason: string;
  action: string;
  /** What would have been revoked (kind:key), or null when the flag does not name it. */
  subject: string | null;
  accountId: string | null;
  severity: string;
  detectedAtMs: number;
}

type WhRedis = Redis & { lgWouldHave(key: string, ...args: string[]): Promise<number> };

export class WouldHave {
  private readonly redis: WhRedis;

  constructor(redis: Redis) {
    if (!('lgWouldHave' in redis)) redis.defineCommand('lgWouldHave', { numberOfKeys: 1, lua: RECORD_LUA });
    this.redis = redis as WhRedis;
  }

  async recordMany(items: readonly WouldHaveItem[]): Promise<void> {
    if (items.length === 0) return;
    const pipeline = this.redis.pipeline() as unknown as {
      lgWouldHave(key: string, ...args: string[]): void;
      sadd(key: string, member: string): void;
      exec(): Promise<Array<[Error | null, unknown]> | null>;
    };
    const retentionMs = String(LIMITS.enforcerWouldHaveRetentionDays * DAY_MS);
    for (const item of items) {
      const day = dayOf(item.detectedAtMs);
      pipeline.lgWouldHave(
        wouldHaveKey(item.rule, day),
        item.anomalyId,
        JSON.stringify(item),
        String(LIMITS.enforcerWouldHaveItemsPerRuleDayMax),
        retentionMs,
      );
      pipeline.sadd(WOULD_HAVE_INDEX_KEY, `${item.rule}|${day}`);
    }
    for (const [err] of (await pipeline.exec()) ?? []) if (err) throw err;
  }

  /** Counts per rule and day within [fromDay, toDay] (inclusive). */
  async counts(
    fromDay: string,
    toDay: string,
    rule?: string,
  ): Promise<Array<{ rule: string; day: string; count: number }>> {
    const members = await this.redis.smembers(WOULD_HAVE_INDEX_KEY);
    const wanted = members
      .map((m) => {
        const i = m.lastIndexOf('|');
        return { rule: m.slice(0, i), day: m.slice(i + 1) };
      })
      .filter((m) => m.day >= fromDay && m.day <= toDay && (!rule || m.rule === rule));
    const out: Array<{ rule: string; day: string; count: number }> = [];
    for (const m of wanted) {
      const key = wouldHaveKey(m.rule, m.day);
      const [len, overflow] = await Promise.all([this.redis.hlen(key), this.redis.hget(key, OVERFLOW_FIELD)]);
      const count = len - (overflow === null ? 0 : 1) + Number(overflow ?? 0);
      if (count > 0) out.push({ rule: m.rule, day: m.day, count });
    }
    return out.sort((a, b) => (a.day === b.day ? a.rule.localeCompare(b.rule) : b.day.localeCompare(a.day)));
  }

  /** The listed flags of one rule and day, newest first, at most `limit`. */
  async items(rule: string, day: string, limit: number): Promise<WouldHaveItem[]> {
    const all = await this.redis.hgetall(wouldHaveKey(rule, day));
    const items: WouldHaveItem[] = [];
    for (const [field, value] of Object.entries(all)) {
      if (field !== OVERFLOW_FIELD) items.push(JSON.parse(value) as WouldHaveItem);
    }
    items.sort((a, b) => b.detectedAtMs - a.detectedAtMs);
    return items.slice(0, limit);
  }
}
