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

/**
 * A session of the account with the span it was heard playing in scope: from its start (or, for
 * a title / group check, the start of its current content) to its stop or last heartbeat.
 */
type Heard = [sid: string, row: SessionRow, startMs: number, endMs: number];

/** Start of the session's span in scope: a title / group check counts from its current content. */
function spanStartMs(r: SessionRow, scoped: boolean): number {
  return scoped && r.cs !== undefined ? Math.max(r.st, r.cs) : r.st;
}

const byStart = (a: Heard, b: Heard): number => a[2] - b[2] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

/** The player a session belongs to: its device on its network (a restart is the same player). */
function playerOf(sid: string, r: SessionRow): string {
  return r.d === null ? `\u0000${sid}` : `${r.d}\u0000${r.n}`;
}

/** One session per player, the last of each in `sessions`' order (start order: its latest). */
function onePerPlayer<T extends readonly [string, SessionRow, ...unknown[]]>(sessions: Iterable<T>): T[] {
  const byPlayer = new Map<string, T>();
  for (const entry of sessions) byPlayer.set(playerOf(entry[0], entry[1]), entry);
  return [...byPlayer.values()];
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
    if (endMs >= fromMs && (!filter || filter(r))) heard.push([sid, r, spanStartMs(r, !!filter), endMs]);
  }
  // No more sessions heard than the caller allows (most accounts): no instant can hold more.
  if (heard.length <= atMost) return heard.sort(byStart).map(([sid, r]) => [sid, r]);
  heard.sort(byStart);
  // The most sessions heard at once is reached at some session's start (or the window's start).
  let bestAtMs = fromMs;
  let bestCount = 0;
  const players = new Set<string>();
  for (const [, , cStartMs] of heard) {
    const atMs = Math.max(cStartMs, fromMs);
    players.clear();
    for (const [sid, r, startMs, endMs] of heard) {
      if (startMs <= atMs && endMs >= atMs) players.add(playerOf(sid, r));
    }
    if (players.size >= bestCount) {
      bestCount = players.size;
      bestAtMs = atMs;
    }
  }
  // One per player, its latest session (heard is in start order).
  return onePerPlayer(heard.filter((h) => h[2] <= bestAtMs && h[3] >= bestAtMs))
    .sort(byStart)
    .map(([sid, r]) => [sid, r]);
}

/** Players (device on a network) with a session still playing (within its grace period). */
function playersPlaying(
  table: SessionTable | undefined,
  nowMs: number,
  graceMs: number,
  filter?: (row: SessionRow) => boolean,
): Array<[string, SessionRow]> {
  return onePerPlayer(activeSessions(table, nowMs, graceMs, filter));
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
  // A breach that is over (a hand-over done, a guest gone) evicts nobody: more players than the
  // limit must still be playing, so an eviction never leaves the account short of its plan.
  const playing = playersPlaying(table, nowMs, check.graceMs, check.filter);
  if (playing.length <= check.limit) return;
  // The newest session is evicted: the newest of those heard together, or, when that one has
  // ended since, the newest still playing that started after it (a player opening new sessions).
  const last = together[together.length - 1]!;
  const scoped = check.filter !== undefined;
  const newest = isActive(last[1], nowMs, check.graceMs)
    ? last
    : playing
        .filter(([, r]) => spanStartMs(r, scoped) > spanStartMs(last[1], scoped))
        .sort((a, b) => spanStartMs(a[1], scoped) - spanStartMs(b[1], scoped))
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
