/**
 * cmcd-concurrency: more streams at once on an account than its plan's streamLimit, seen in the
 * CDN logs alone. Players that send CMCD name their playback session (`sid`) on every segment
 * request, so a tenant that ships CDN logs and no heartbeats still shows how many players pull
 * media for one account. Conservative where the heartbeat rules can be exact:
 * - a stream is a device on a network (the device id, else the user agent): a restarted player,
 *   a multi-view player or an ad player beside the content on one device count once;
 * - a player is playing while its segment requests keep coming (`activeWithinMs`): a paused or
 *   closed player drops out without a stop event;
 * - the account must stay over its limit for `sustainMs`: a channel switch, a hand-over from the
 *   TV to the phone, or a player preloading the next episode overlaps for seconds, not minutes.
 * It judges only requests that carry an account and a CMCD sid; others are not its evidence. And
 * only tenants without heartbeats: where they flow, account-concurrency counts the sessions
 * exactly (and evicts by session id the players know).
 */
import { z } from 'zod';
import type { Evidence } from '../../../core/schemas/generated.ts';
import { emptyEvidence, type Rule, type StateValue, windowStart } from '../kit.ts';
import { type SessionRow, sessionEvidence } from '../sessions/index.ts';

export const cmcdConcurrencyConfig = z
  .object({
    enabled: z.boolean().default(true),
    /**
     * A player counts as playing while its last media request is this recent, ms. A player with
     * a full buffer fetches one segment per segment duration (2–10 s); a minute leaves room for
     * a long segment and a slow log line.
     */
    activeWithinMs: z.number().int().positive().default(60_000),
    /** How long the account must stay over its limit before it is flagged, ms. */
    sustainMs: z
      .number()
      .int()
      .positive()
      .default(3 * 60_000),
    /** Extra streams tolerated above the plan's limit (0: the plan's limit exactly). */
    toleranceStreams: z.number().int().nonnegative().default(0),
    /** Flags of one account are grouped per window of this size, ms. */
    windowMs: z
      .number()
      .int()
      .positive()
      .default(60 * 60_000),
  })
  .strict();
export type CmcdConcurrencyConfig = z.infer<typeof cmcdConcurrencyConfig>;

/** The CMCD sessions of one account, in the heartbeat session table's row shape (its evidence). */
interface CmcdTable extends StateValue {
  /** Sessions by CMCD sid; `d` is the device id, else the client's user agent (truncated). */
  s: Record<string, SessionRow>;
  /** Sessions in `s`. */
  k: number;
  /** Since when the account has been over its limit, epoch ms (0: not over). */
  o: number;
  /** When the streams are counted again, epoch ms (sooner when a player joins). */
  e: number;
}

/**
 * An account over its limit is counted again at most this often, ms: every request of a crowd
 * on one login would otherwise group its sessions again. A flag comes at most this much later.
 */
const RECOUNT_EVERY_MS = 5_000;

/** Drops the sessions whose media requests stopped (in place), and recounts. */
function prune(table: CmcdTable, nowMs: number, config: CmcdConcurrencyConfig): void {
  let k = 0;
  for (const id in table.s) {
    if (table.s[id]!.l < nowMs - config.activeWithinMs) delete table.s[id];
    else k++;
  }
  table.k = k;
}

const NS = 'cmcd-concurrency';

/** How long an account's sessions are kept: a quiet player, the sustain, and the flag window. */
function horizonMs(c: CmcdConcurrencyConfig): number {
  return Math.max(c.activeWithinMs + c.sustainMs, c.windowMs);
}
/** A user agent standing in for a device id is kept to this many characters. */
const USER_AGENT_CHARS_MAX = 120;

/**
 * The active sessions that are streams: one per device and network, the earliest started of each
 * (a later one on the same device and network is a restart, a multi-view or an ad player), in
 * start order.
 */
function streamsOf(table: CmcdTable, nowMs: number, activeWithinMs: number): Array<[string, SessionRow]> {
  // A handful of sessions per account: a scan per session, no keys built.
  const out: Array<[string, SessionRow]> = [];
  for (const sid in table.s) {
    const row = table.s[sid]!;
    if (row.l < nowMs - activeWithinMs) continue;
    const device = row.d ?? sid;
    const same = out.findIndex(([id, r]) => (r.d ?? id) === device && r.n === row.n);
    if (same === -1) out.push([sid, row]);
    else {
      const [heldId, held] = out[same]!;
      if (row.st < held.st || (row.st === held.st && sid < heldId)) out[same] = [sid, row];
    }
  }
  return out.sort((a, b) => a[1].st - b[1].st || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

export const cmcdConcurrency: Rule<CmcdConcurrencyConfig> = {
  name: 'cmcd-concurrency',
  requires: ['no-heartbeats'],
  configSchema: cmcdConcurrencyConfig,
  horizonMs,
  apply(view, event, config, ctx, out) {
    if (event.kind !== 'request') return;
    const v = event.value;
    const sid = v.sessionId;
    const account = v.accountId;
    if (sid === null || account === null) return;
    if (v.segmentNumber === null && v.mediaType !== 'video' && v.mediaType !== 'audio') return;
    const at = v.timestampMs;
    const nowMs = ctx.nowMs;
    const table = view.get<CmcdTable>(NS, account) ?? { x: 0, s: {}, k: 0, o: 0, e: 0 };
    const s = table.s;
    const row = s[sid];
    // Most requests come from a known player: no scan. Players that went quiet leave when a new
    // one arrives, or when an account that looks over its limit is counted again.
    if (!row) prune(table, nowMs, config);
    if (row) {
      if (at < row.st) row.st = at;
      if (at > row.l) {
        row.l = at;
        row.n = v.networkPrefix ?? row.n;
        row.cc = v.country ?? row.cc;
      }
    } else if (table.k >= ctx.entriesPerKeyMax) {
      out.overflow++;
    } else {
      table.k++;
      table.e = 0;
      s[sid] = {
        d: v.deviceId ?? v.userAgent?.slice(0, USER_AGENT_CHARS_MAX) ?? null,
        c: v.contentId,
        n: v.networkPrefix,
        cc: v.country,
        st: at,
        l: at,
        sp: 0,
      };
    }
    table.x = Math.max(at, nowMs) + horizonMs(config);
    out.changes.push({ ns: NS, key: account, value: table });
    const limit = ctx.plan.streamLimit + config.toleranceStreams;
    // Streams are never more than the sessions: most requests stop here, without grouping.
    if (table.k <= limit) {
      table.o = 0;
      return;
    }
    if (nowMs < table.e) return;
    table.e = nowMs + RECOUNT_EVERY_MS;
    prune(table, nowMs, config);
    const streams = streamsOf(table, nowMs, config.activeWithinMs);
    if (streams.length <= limit) {
      table.o = 0;
      return;
    }
    if (table.o === 0) table.o = nowMs;
    if (nowMs - table.o < config.sustainMs) return;
    const start = windowStart(at, config.windowMs);
    if (!ctx.wouldFlag(NS, 'account', account, start, streams.length, limit, 'increase')) return;
    const newest = streams[streams.length - 1]!;
    const overSinceMs = table.o;
    const evidence = (): Evidence => {
      const e = emptyEvidence();
      e.eventCount = streams.length;
      e.sessions = sessionEvidence(streams, limit);
      e.devices = streams
        .map(([id, r]) => ({ value: r.d ?? id, count: 1, firstSeenMs: r.st, lastSeenMs: r.l }))
        .sort((a, b) => a.firstSeenMs - b.firstSeenMs || (a.value < b.value ? -1 : 1));
      e.note =
        `${streams.length} players pulling media at once on plan ${ctx.plan.planId} (limit ${limit}), ` +
        `over the limit for ${Math.round((nowMs - overSinceMs) / 1000)} s, seen in CDN logs (CMCD sid); newest ${newest[0]} named for eviction`;
      e.ruledOut = [
        'a restarted player, a multi-view or an ad player: sessions on one device and network count as one stream',
        `a paused or closed player: a session counts only while its segment requests come (within ${Math.round(config.activeWithinMs / 1000)} s)`,
        `a channel switch, a hand-over between screens, a preloaded next episode: over the limit for at least ${Math.round(config.sustainMs / 60_000)} min`,
      ];
      return e;
    };
    out.flags.push({
      rule: NS,
      subjectKind: 'account',
      subjectKey: account,
      tenant: v.tenant,
      accountId: account,
      tokenHash: v.tokenHash,
      tokenExpiresAtMs: v.tokenExpiresAtMs,
      evictSessionId: newest[0],
      threshold: limit,
      observed: streams.length,
      windowStartMs: start,
      windowEndMs: start + config.windowMs,
      detectedAtMs: at,
      triggerEventId: v.id,
      evidence,
    });
  },
};
