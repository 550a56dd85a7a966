/**
 * sessions: the heartbeat session table every concurrency rule reads (no flags of its own).
 * Per account, the playback sessions with device, content, network, start and last heartbeat;
 * a `stop` ends a session, and a session without a heartbeat for `graceMs` is a ghost that no
 * longer counts. A bitrate or audio switch inside one session is the same session id: not a stream.
 * Also keeps `sid -> account` so CDN requests carrying only a CMCD `sid` join their account.
 */
import { z } from 'zod';
import type { SessionEvidence } from '../../../core/schemas/generated.ts';
import type { Rule, StateValue, StateView } from '../kit.ts';

export const sessionsConfig = z
  .object({
    enabled: z.boolean().default(true),
    /** A session without a heartbeat for this long is a ghost and frees its slot, ms. */
    graceMs: z.number().int().positive().default(90_000),
    /**
     * An ended session (stopped, or a ghost past its grace period) is remembered this long, ms: a
     * late heartbeat does not revive a stopped one, and CDN lines of its time that arrive late
     * (within the allowed lateness) are still covered by it (segment-without-session).
     */
    stoppedRetentionMs: z
      .number()
      .int()
      .positive()
      .default(10 * 60_000),
  })
  .strict();
export type SessionsConfig = z.infer<typeof sessionsConfig>;

/** One session of an account. Short field names: this is stored once per session. */
export interface SessionRow {
  /** Device id. */
  d: string | null;
  /** Content id. */
  c: string | null;
  /** Network of the last event. */
  n: string | null;
  /** Country of the last event. */
  cc: string | null;
  /** Start (the start event, else the earliest heartbeat seen), epoch ms. */
  st: number;
  /** Last heartbeat, epoch ms. */
  l: number;
  /** Stopped at, epoch ms (0 while playing). */
  sp: number;
  /** Start of the current content when it changed within the session, epoch ms (absent: `st`). */
  cs?: number;
}

export interface SessionTable extends StateValue {
  s: Record<string, SessionRow>;
}

interface SidIndex extends StateValue {
  a: string;
}

/** Namespace of the session tables (key: account id). */
export const SESSIONS_NS = 'sessions';
/** Namespace of the CMCD sid -> account index (key: session id). */
export const SID_NS = 'sid';

/** The account id a CMCD session id belongs to, when its heartbeats were seen here. */
export function accountOfSession(view: StateView, sessionId: string, nowMs: number): string | null {
  const idx = view.get<SidIndex>(SID_NS, sessionId);
  return idx && idx.x >= nowMs ? idx.a : null;
}

/** True when the session plays and has had a heartbeat within the grace period. */
export function isActive(row: SessionRow, nowMs: number, graceMs: number): boolean {
  return row.sp === 0 && row.l >= nowMs - graceMs;
}

/** Active sessions, earliest first (start, then id): the first `limit` keep playing. */
export function activeSessions(
  table: SessionTable | undefined,
  nowMs: number,
  graceMs: number,
  filter?: (row: SessionRow) => boolean,
): Array<[string, SessionRow]> {
  if (!table) return [];
  const out: Array<[string, SessionRow]> = [];
  for (const sid in table.s) {
    const row = table.s[sid]!;
    if (isActive(row, nowMs, graceMs) && (!filter || filter(row))) out.push([sid, row]);
  }
  return out.sort((a, b) => a[1].st - b[1].st || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** Session evidence with the sessions beyond `limit` (the newest) marked for eviction. */
export function sessionEvidence(active: Array<[string, SessionRow]>, limit: number): SessionEvidence[] {
  return active.map(([sessionId, r], i) => ({
    sessionId,
    deviceId: r.d,
    contentId: r.c,
    networkPrefix: r.n,
    country: r.cc,
    startedAtMs: r.st,
    lastSeenMs: r.l,
    evict: i >= limit,
  }));
}

export const sessions: Rule<SessionsConfig> = {
  name: 'sessions',
  configSchema: sessionsConfig,
  horizonMs: (c) => Math.max(c.graceMs, c.stoppedRetentionMs),
  apply(view, event, config, ctx, out) {
    if (event.kind !== 'heartbeat') return;
    const hb = event.value;
    const key = hb.accountId;
    const horizon = Math.max(config.graceMs, config.stoppedRetentionMs);
    const table = view.get<SessionTable>(SESSIONS_NS, key) ?? { x: 0, s: {} };
    const s = table.s;
    let size = 0;
    // The session that ended first among those kept: the one to forget when the table is full.
    let oldestEnded: string | undefined;
    let oldestEndedMs = Number.POSITIVE_INFINITY;
    for (const sid in s) {
      const row = s[sid]!;
      // Sessions ended (stopped, or silent past the grace period) longer ago than the retention
      // leave the table; a ghost stays inactive meanwhile (isActive), only its time is kept.
      const endedMs = row.sp === 0 ? row.l + config.graceMs : row.sp;
      if (endedMs < ctx.heartbeatNowMs - config.stoppedRetentionMs) {
        delete s[sid];
        continue;
      }
      size++;
      if (endedMs <= ctx.heartbeatNowMs && endedMs < oldestEndedMs) {
        oldestEnded = sid;
        oldestEndedMs = endedMs;
      }
    }
    table.x = Math.max(hb.timestampMs, ctx.nowMs) + horizon;
    out.changes.push({ ns: SESSIONS_NS, key, value: table });
    const row = s[hb.sessionId];
    if (!row && size >= ctx.entriesPerKeyMax) {
      // Full (a player opening a session per short clip): an ended session makes room before a
      // playing one is left out, since a session left out leaves its segments uncovered.
      if (oldestEnded === undefined) {
        out.overflow++;
        return;
      }
      delete s[oldestEnded];
    }
    const at = hb.timestampMs;
    if (hb.event === 'stop') {
      // A stop heard after the session went silent past its grace period (an app finally
      // closed) ends it where it was last heard, not across its silence.
      const ghost = row !== undefined && row.sp === 0 && at > row.l + config.graceMs;
      s[hb.sessionId] = {
        d: hb.deviceId,
        c: hb.contentId,
        n: hb.networkPrefix ?? row?.n ?? null,
        cc: hb.country ?? row?.cc ?? null,
        st: row ? Math.min(row.st, at) : at,
        l: row ? (ghost ? row.l : Math.max(row.l, at)) : at,
        sp: ghost ? row.l : at,
        ...(row?.cs !== undefined ? { cs: row.cs } : {}),
      };
    } else if (row && row.sp !== 0 && at <= row.sp) {
      // A late heartbeat of a stopped session (stamped before its stop) does not revive it.
      return;
    } else {
      // Heard from again after its stop (a player recovering from a fatal error under the same
      // CMCD sid; a patched player sending a stop to hide) or after its grace period (a ghost come
      // back), a session plays a new stretch: it starts now, so it is the newest, not the oldest.
      const resumed = row !== undefined && (row.sp !== 0 || at > row.l + config.graceMs);
      const base = resumed ? undefined : row;
      const newer = !base || at >= base.l;
      // The content changed within the session (autoplay into the next title): title and group
      // limits count the session on the new content from now.
      const cs = base && newer && hb.contentId !== base.c ? at : base?.cs;
      s[hb.sessionId] = {
        d: hb.deviceId,
        c: newer ? hb.contentId : (base?.c ?? hb.contentId),
        n: newer ? hb.networkPrefix : (base?.n ?? hb.networkPrefix),
        cc: newer ? hb.country : (base?.cc ?? hb.country),
        st: base ? Math.min(base.st, at) : at,
        l: base ? Math.max(base.l, at) : at,
        sp: 0,
        ...(cs !== undefined ? { cs } : {}),
      };
    }
    out.changes.push({
      ns: SID_NS,
      key: hb.sessionId,
      value: { x: Math.max(at, ctx.nowMs) + horizon, a: hb.accountId } as SidIndex,
    });
  },
};
