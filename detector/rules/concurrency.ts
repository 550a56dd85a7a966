/**
 * Shared body of the concurrency rules (account, title, group): count the heartbeat sessions in
 * scope heard playing at the same instant (see heardTogether), and when they exceed the limit,
 * name the newest for eviction. Earliest start keeps playing, also when the breach is found late
 * (a late heartbeat of an older session arrives after a newer one): the order is by session
 * start, never by arrival. A slot held by a silent session within its grace period is not a
 * second stream: sessions that play at once keep beating, so a real breach is seen at the older
 * session's next heartbeat.
 */
import type { Evidence, PlayerHeartbeat } from '../../core/schemas/generated.ts';
import { emptyEvidence, type RuleContext, type RuleOutput, type StateView, windowStart } from './kit.ts';
import {
  activeSessions,
  isActive,
  SESSIONS_NS,
  type SessionRow,
  type SessionTable,
  sessionEvidence,
} from './sessions/index.ts';

export interface ConcurrencyCheck {
  rule: string;
  limit: number;
  graceMs: number;
  windowMs: number;
  filter?: (row: SessionRow) => boolean;
  what: string;
  /** Subject key when not the account id (a concurrency group: `account|group`). */
  subjectKey?: string;
}

/** A session of the account with the span it was heard playing: start to stop or last heartbeat. */
type Heard = [sid: string, row: SessionRow, endMs: number];

/** The player a session belongs to: its device on its network (a restart is the same player). */
function playerOf(sid: string, r: SessionRow): string {
  return r.d === null ? `\u0000${sid}` : `${r.d}\u0000${r.n}`;
}

/**
 * The sessions heard playing at one instant of the last grace period, most of them (the latest
 * such instant on a tie), earliest start first; one per player (device on a network: a player
 * restarted after a crash, or two tabs of one browser, is one stream). A session is heard from
 * its start to its stop or last heartbeat: a TV switched off without a stop before the viewer
 * went on on the phone, a player restarted on another network or a page reloaded under a new
 * session id were not playing at the same time as what followed, though their slots last the
 * grace period. Ended sessions count for the instants they were heard, so a player that keeps
 * opening new sessions (with or without stops) is still seen beside the others. With no more
 * than `atMost` sessions heard in all, those are returned as they are (the caller's limit).
 */
export function heardTogether(
  table: SessionTable | undefined,
  nowMs: number,
  graceMs: number,
  filter?: (row: SessionRow) => boolean,
  atMost = 1,
): Array<[string, SessionRow]> {
  if (!table) return [];
  const fromMs = nowMs - graceMs;
  const heard: Heard[] = [];
  for (const sid in table.s) {
    const r = table.s[sid]!;
    const endMs = r.sp !== 0 ? r.sp : r.l;
    if (endMs >= fromMs && (!filter || filter(r))) heard.push([sid, r, endMs]);
  }
  // No more sessions heard than the caller allows (most accounts): no instant can hold more.
  if (heard.length <= atMost) return heard.map(([sid, r]) => [sid, r]);
  heard.sort((a, b) => a[1].st - b[1].st || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  // The most sessions heard at once is reached at some session's start (or the window's start).
  let bestAtMs = fromMs;
  let bestCount = 0;
  const players = new Set<string>();
  for (const [, c] of heard) {
    const atMs = Math.max(c.st, fromMs);
    players.clear();
    for (const [sid, r, endMs] of heard) if (r.st <= atMs && endMs >= atMs) players.add(playerOf(sid, r));
    if (players.size >= bestCount) {
      bestCount = players.size;
      bestAtMs = atMs;
    }
  }
  // One per player, its latest session (heard is in start order).
  const byPlayer = new Map<string, [string, SessionRow]>();
  for (const [sid, r, endMs] of heard) {
    if (r.st <= bestAtMs && endMs >= bestAtMs) byPlayer.set(playerOf(sid, r), [sid, r]);
  }
  return [...byPlayer.values()].sort((a, b) => a[1].st - b[1].st || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

export function concurrencyApply(
  check: ConcurrencyCheck,
  view: StateView,
  hb: PlayerHeartbeat,
  ctx: RuleContext,
  out: RuleOutput,
): void {
  if (hb.event === 'stop') return;
  const table = view.get<SessionTable>(SESSIONS_NS, hb.accountId);
  const nowMs = ctx.heartbeatNowMs;
  const together = heardTogether(table, nowMs, check.graceMs, check.filter, check.limit);
  if (together.length <= check.limit) return;
  // The newest session is evicted: the newest of those heard together, or, when that one has
  // ended since, the newest still playing that started after it (a player opening new sessions).
  const last = together[together.length - 1]!;
  const newest = isActive(last[1], nowMs, check.graceMs)
    ? last
    : activeSessions(table, nowMs, check.graceMs, check.filter)
        .filter(([, r]) => r.st > last[1].st)
        .at(-1);
  if (newest === undefined) return;
  const observed = together.length;
  const listed = together.some(([sid]) => sid === newest[0]) ? together : [...together, newest];
  const start = windowStart(hb.timestampMs, check.windowMs);
  const subjectKey = check.subjectKey ?? hb.accountId;
  if (!ctx.wouldFlag(check.rule, 'account', subjectKey, start, observed, check.limit, 'increase')) return;
  const evidence = (): Evidence => {
    const e = emptyEvidence();
    e.eventCount = observed;
    // Past the limit, those still playing are marked for eviction; the newest is the one named.
    e.sessions = sessionEvidence(listed, check.limit).map((s, i) => ({
      ...s,
      evict:
        s.sessionId === newest[0] ||
        (s.evict && i < observed && isActive(listed[i]![1], nowMs, check.graceMs)),
    }));
    const devices = new Map<string, { count: number; first: number; last: number }>();
    for (const [sid, r] of listed) {
      const d = r.d ?? sid;
      const e = devices.get(d);
      if (e) {
        e.count++;
        e.first = Math.min(e.first, r.st);
        e.last = Math.max(e.last, r.l);
      } else devices.set(d, { count: 1, first: r.st, last: r.l });
    }
    e.devices = [...devices.entries()]
      .map(([value, e]) => ({ value, count: e.count, firstSeenMs: e.first, lastSeenMs: e.last }))
      .sort((a, b) => a.firstSeenMs - b.firstSeenMs || (a.value < b.value ? -1 : 1));
    e.note = `${observed} sessions heard playing at once ${check.what} (limit ${check.limit}); newest ${newest[0]} named for eviction`;
    return e;
  };
  out.flags.push({
    rule: check.rule,
    subjectKind: 'account',
    subjectKey,
    tenant: hb.tenant,
    accountId: hb.accountId,
    tokenHash: hb.tokenHash,
    tokenExpiresAtMs: hb.tokenExpiresAtMs,
    evictSessionId: newest[0],
    threshold: check.limit,
    observed,
    windowStartMs: start,
    windowEndMs: start + check.windowMs,
    detectedAtMs: hb.timestampMs,
    triggerEventId: hb.id,
    evidence,
  });
}
