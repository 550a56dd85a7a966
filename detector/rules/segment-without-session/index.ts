/**
 * segment-without-session: media fetched for an account with no heartbeat session at the time
 * ("no segment without a session"): the CDN x heartbeat join on account id, or on the CMCD `sid`
 * when the request names no account. Judged in heartbeat time: a segment is decided only once the
 * tenant's heartbeats have reached its time (plus the slack a player's start heartbeat may lag its
 * first segments), so heartbeats delivered minutes behind the CDN logs cover their segments
 * instead of leaving every viewer uncovered. Only a run of uncovered segments is flagged; a
 * covered one ends the run. The engine keeps the rule silent for a tenant that sends no
 * heartbeats; the rule itself stays silent for a content id with no heartbeats (apps that do not
 * report yet).
 */
import { z } from 'zod';
import {
  common,
  emptyEvidence,
  firstDelivery,
  type Rule,
  type SeenMap,
  type StateValue,
  seenEvidence,
  seenTouch,
  windowStart,
} from '../kit.ts';
import { accountOfSession, SESSIONS_NS, type SessionRow, type SessionTable } from '../sessions/index.ts';
import { contentHeartbeatMs } from '../signals/index.ts';

export const segmentWithoutSessionConfig = z
  .object({
    enabled: z.boolean().default(true),
    /** A session covers segments up to this long after its last heartbeat, ms. */
    graceMs: z.number().int().positive().default(90_000),
    /**
     * A session covers segments up to this long before its start heartbeat, ms: a player fetches
     * its manifest, init and first segments before it reports play.
     */
    startSlackMs: z.number().int().nonnegative().default(30_000),
    /** Uncovered segments tolerated in a run (a player starting before its first heartbeat). */
    // 5: a start-up burst is three segments, which whole-second log times may place before the
    // start heartbeat; 10 let a patched player run a minute of 6 s segments before its flag.
    maxUncoveredSegments: z.number().int().nonnegative().default(5),
    /** A request naming a CMCD sid is covered only by that session (else by any session of the account). */
    matchSessionId: z.boolean().default(true),
    /**
     * A content id is judged only when heartbeats of that content were seen this recently, ms: a
     * tenant whose TV app reports and whose web player does not yet must not have its web
     * viewers flagged. 0 judges every content id of a tenant that sends heartbeats.
     */
    contentHeartbeatsWithinMs: z
      .number()
      .int()
      .nonnegative()
      .default(30 * 60_000),
    /** Flags of one account are grouped per window of this size, ms. */
    windowMs: z
      .number()
      .int()
      .positive()
      .default(10 * 60_000),
  })
  .strict();
export type SegmentWithoutSessionConfig = z.infer<typeof segmentWithoutSessionConfig>;

/** Segments of one run waiting for the heartbeats to reach their time, at most (oldest dropped, counted). */
const PENDING_MAX = 256;

interface UncoveredRun extends StateValue {
  /** Uncovered segments decided in a row. */
  n: number;
  /** Times of segments not decided yet (heartbeats behind), oldest first, epoch ms. */
  p: number[];
  /** Fingerprints of the ids of the run's latest requests: a line delivered twice counts once. */
  h?: number[];
  net: SeenMap;
  dev: SeenMap;
}

/** Requests a run remembers to drop redeliveries (a batch re-sent after a lost answer). */
const RUN_IDS_MAX = 32;

/** True when the session was playing at `atMs` (from start minus the slack to last beat plus grace). */
function covers(row: SessionRow, atMs: number, config: SegmentWithoutSessionConfig): boolean {
  const end = row.sp !== 0 ? row.sp : row.l;
  return row.st - config.startSlackMs <= atMs && atMs <= end + config.graceMs;
}

/** True when the named session (or, without a sid, any session of the account) covers `atMs`. */
function covered(
  table: SessionTable | undefined,
  sid: string | null,
  atMs: number,
  config: SegmentWithoutSessionConfig,
): boolean {
  if (!table) return false;
  if (sid !== null) {
    const row = table.s[sid];
    return row !== undefined && covers(row, atMs, config);
  }
  for (const id in table.s) if (covers(table.s[id]!, atMs, config)) return true;
  return false;
}

export const segmentWithoutSession: Rule<SegmentWithoutSessionConfig> = {
  name: 'segment-without-session',
  requires: ['heartbeats'],
  configSchema: segmentWithoutSessionConfig,
  horizonMs: (c) => Math.max(c.graceMs, c.windowMs),
  apply(view, event, config, ctx, out) {
    if (event.kind !== 'request') return;
    const v = event.value;
    if (v.segmentNumber === null && v.mediaType !== 'video' && v.mediaType !== 'audio') return;
    const account =
      v.accountId ?? (v.sessionId === null ? null : accountOfSession(view, v.sessionId, ctx.nowMs));
    if (account === null) return;
    const table = view.get<SessionTable>(SESSIONS_NS, account);
    const sid = config.matchSessionId ? v.sessionId : null;
    // One run per player (CMCD sid) when the request names one: another device of the household
    // playing within its session must not end a patched player's run of uncovered segments.
    const ns = 'segment-without-session';
    const key = sid !== null ? `${account}|${sid}` : account;
    const prev = view.get<UncoveredRun>(ns, key);
    // Most requests: a session covers this one, which also ends any run (nothing to keep).
    if (covered(table, sid, v.timestampMs, config)) {
      if (prev) out.changes.push({ ns, key, value: undefined });
      return;
    }
    // A content id whose players send no heartbeats (an app that does not report yet) is not judged.
    if (config.contentHeartbeatsWithinMs > 0 && v.contentId !== null) {
      const seen = contentHeartbeatMs(view, v.tenant, v.contentId);
      if (seen === null || seen < v.timestampMs - config.contentHeartbeatsWithinMs) {
        out.silenced++;
        return;
      }
    }
    const c = common(event);
    const run: UncoveredRun =
      prev && prev.x >= ctx.nowMs ? prev : { x: 0, n: 0, p: [], h: [], net: [], dev: [] };
    run.h ??= [];
    if (!firstDelivery(run.h, c.id, RUN_IDS_MAX)) return;
    // The segment waits until the heartbeats reach its time plus the start slack (kept in time order).
    const p = run.p;
    let at = p.length;
    while (at > 0 && p[at - 1]! > c.atMs) at--;
    p.splice(at, 0, c.atMs);
    // Decide what the heartbeats now allow, oldest first: a covered segment ends the run; one that
    // no session covered once heartbeats passed its time plus the slack is uncovered.
    const decidedBeforeMs = ctx.heartbeatNowMs - config.startSlackMs;
    let uncovered = 0;
    let k = 0;
    for (; k < p.length && p[k]! <= decidedBeforeMs; k++) {
      if (covered(table, sid, p[k]!, config)) {
        run.n = 0;
        uncovered = 0;
      } else {
        run.n++;
        uncovered++;
      }
    }
    if (k > 0) p.splice(0, k);
    if (p.length > PENDING_MAX) {
      out.overflow += p.length - PENDING_MAX;
      p.splice(0, p.length - PENDING_MAX);
    }
    if (run.n === 0 && p.length === 0) {
      if (prev) out.changes.push({ ns, key, value: undefined });
      return;
    }
    if (v.networkPrefix !== null && !seenTouch(run.net, v.networkPrefix, c.atMs, 0, ctx.entriesPerKeyMax))
      out.overflow++;
    const devValue = v.sessionId ?? v.deviceId;
    if (devValue !== null && !seenTouch(run.dev, devValue, c.atMs, 0, ctx.entriesPerKeyMax)) out.overflow++;
    run.x = Math.max(c.atMs, ctx.nowMs) + config.windowMs;
    out.changes.push({ ns, key, value: run });
    const n = run.n;
    if (uncovered === 0 || n <= config.maxUncoveredSegments) return;
    const start = windowStart(c.atMs, config.windowMs);
    if (!ctx.wouldFlag(ns, 'account', account, start, n, config.maxUncoveredSegments, 'severity')) return;
    const evidence = emptyEvidence();
    evidence.eventCount = n;
    evidence.networks = seenEvidence(run.net);
    evidence.devices = seenEvidence(run.dev);
    evidence.note = `${n} media segments fetched with no heartbeat session at their time${v.sessionId ? ` (sid ${v.sessionId})` : ''} (max ${config.maxUncoveredSegments})`;
    evidence.ruledOut = [
      'a tenant or content without heartbeats: heartbeats of this tenant and content were seen',
      `heartbeats delivered late: each segment was judged once the heartbeats reached its time + ${Math.round(config.startSlackMs / 1000)} s`,
      `a player starting before its first heartbeat: ${config.maxUncoveredSegments} uncovered segments tolerated`,
    ];
    out.flags.push({
      rule: ns,
      subjectKind: 'account',
      subjectKey: account,
      tenant: c.tenant,
      accountId: account,
      tokenHash: c.tokenHash,
      tokenExpiresAtMs: c.tokenExpiresAtMs,
      evictSessionId: null,
      threshold: config.maxUncoveredSegments,
      observed: n,
      windowStartMs: start,
      windowEndMs: start + config.windowMs,
      detectedAtMs: c.atMs,
      triggerEventId: c.id,
      evidence,
      escalateOn: 'severity',
    });
  },
};
