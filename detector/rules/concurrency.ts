/**
 * Shared body of the concurrency rules (account, title, group): count the active heartbeat
 * sessions in scope, and when they exceed the limit, name the newest for eviction.
 * Earliest start keeps playing, also when the breach is found late (a late heartbeat of an older
 * session arrives after a newer one): the order is by session start, never by arrival. Only
 * sessions heard from since the newest one started count: a slot held by a silent session within
 * its grace period is not a second stream (see playingTogether).
 */
import type { Evidence, PlayerHeartbeat } from '../../core/schemas/generated.ts';
import { emptyEvidence, type RuleContext, type RuleOutput, type StateView, windowStart } from './kit.ts';
import {
  activeSessions,
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
 * Drops a session when a later one started on the same device and network: a player restarted
 * after a crash or a forced quit, whose old session has not yet turned into a ghost (no stop, grace
 * not over). One device on one network plays one stream; the same device id from another network
 * still counts twice (a device id copied into players elsewhere).
 */
export function withoutRestarted(active: Array<[string, SessionRow]>): Array<[string, SessionRow]> {
  if (active.length < 2) return active;
  return active.filter(
    ([sid, r]) =>
      r.d === null ||
      !active.some(([other, o]) => other !== sid && o.d === r.d && o.n === r.n && o.st > r.st),
  );
}

/**
 * Drops the sessions not heard from since the newest one started: a player switched off without a
 * stop (a TV turned off, an app killed, a player restarted on another network, a page reloaded
 * under a new session id) before the viewer went on elsewhere was not playing at the same time,
 * though its slot lasts the grace period. Sessions that play at once keep beating, so a real
 * breach is seen at the older session's next heartbeat: one heartbeat interval later at most.
 */
export function playingTogether(active: Array<[string, SessionRow]>): Array<[string, SessionRow]> {
  if (active.length < 2) return active;
  // Earliest start first (activeSessions' order): the last row started last.
  const newestStartMs = active[active.length - 1]![1].st;
  return active.filter(([, r]) => r.l >= newestStartMs);
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
  const active = playingTogether(
    withoutRestarted(activeSessions(table, ctx.heartbeatNowMs, check.graceMs, check.filter)),
  );
  if (active.length <= check.limit) return;
  const newest = active[active.length - 1]!;
  const start = windowStart(hb.timestampMs, check.windowMs);
  const subjectKey = check.subjectKey ?? hb.accountId;
  if (!ctx.wouldFlag(check.rule, 'account', subjectKey, start, active.length, check.limit, 'increase'))
    return;
  const evidence = (): Evidence => {
    const e = emptyEvidence();
    e.eventCount = active.length;
    e.sessions = sessionEvidence(active, check.limit);
    const devices = new Map<string, { count: number; first: number; last: number }>();
    for (const [sid, r] of active) {
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
    e.note = `${active.length} concurrent sessions ${check.what} (limit ${check.limit}); newest ${newest[0]} named for eviction`;
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
    observed: active.length,
    windowStartMs: start,
    windowEndMs: start + check.windowMs,
    detectedAtMs: hb.timestampMs,
    triggerEventId: hb.id,
    evidence,
  });
}
