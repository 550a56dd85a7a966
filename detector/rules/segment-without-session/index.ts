/**
 * segment-without-session: media fetched for an account with no active, counted heartbeat
 * session ("no segment without a session"): the CDN x heartbeat join on account id, or on the
 * CMCD `sid` when the request names no account. A player's first segments may precede its start
 * heartbeat, so only a run of uncovered segments is flagged; a covered segment ends the run.
 */
import { z } from 'zod';
import {
  common,
  emptyEvidence,
  type Rule,
  type SeenMap,
  type StateValue,
  seenEvidence,
  seenTouch,
  windowStart,
} from '../kit.ts';
import {
  accountOfSession,
  activeSessions,
  isActive,
  SESSIONS_NS,
  type SessionTable,
} from '../sessions/index.ts';

export const segmentWithoutSessionConfig = z
  .object({
    enabled: z.boolean().default(true),
    /** A session without a heartbeat for this long no longer covers segments, ms. */
    graceMs: z.number().int().positive().default(90_000),
    /** Uncovered segments tolerated in a run (a player starting before its first heartbeat). */
    // 5: a start-up burst is three segments, which whole-second log times may place before the
    // start heartbeat; 10 let a patched player run a minute of 6 s segments before its flag.
    maxUncoveredSegments: z.number().int().nonnegative().default(5),
    /** A request naming a CMCD sid is covered only by that session (else by any active session). */
    matchSessionId: z.boolean().default(true),
    /** Flags of one account are grouped per window of this size, ms. */
    windowMs: z
      .number()
      .int()
      .positive()
      .default(10 * 60_000),
  })
  .strict();
export type SegmentWithoutSessionConfig = z.infer<typeof segmentWithoutSessionConfig>;

interface UncoveredRun extends StateValue {
  n: number;
  net: SeenMap;
  dev: SeenMap;
}

export const segmentWithoutSession: Rule<SegmentWithoutSessionConfig> = {
  name: 'segment-without-session',
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
    let covered: boolean;
    if (v.sessionId !== null && config.matchSessionId) {
      const row = table?.s[v.sessionId];
      covered = row !== undefined && isActive(row, ctx.nowMs, config.graceMs);
    } else {
      covered = activeSessions(table, ctx.nowMs, config.graceMs).length > 0;
    }
    const ns = 'segment-without-session';
    // One run per player (CMCD sid) when the request names one: another device of the household
    // playing within its session must not end a patched player's run of uncovered segments.
    const key = v.sessionId !== null && config.matchSessionId ? `${account}|${v.sessionId}` : account;
    const prev = view.get<UncoveredRun>(ns, key);
    if (covered) {
      if (prev) out.changes.push({ ns, key, value: undefined });
      return;
    }
    const c = common(event);
    const run = prev && prev.x >= ctx.nowMs ? prev : undefined;
    const net =
      v.networkPrefix === null
        ? run?.net
        : seenTouch(run?.net, v.networkPrefix, c.atMs, 0, ctx.entriesPerKeyMax);
    const devValue = v.sessionId ?? v.deviceId;
    const dev = devValue === null ? run?.dev : seenTouch(run?.dev, devValue, c.atMs, 0, ctx.entriesPerKeyMax);
    if (net === undefined && v.networkPrefix !== null) out.overflow++;
    if (dev === undefined && devValue !== null) out.overflow++;
    const n = (run?.n ?? 0) + 1;
    out.changes.push({
      ns,
      key,
      value: {
        x: Math.max(c.atMs, ctx.nowMs) + config.windowMs,
        n,
        net: net ?? run?.net ?? [],
        dev: dev ?? run?.dev ?? [],
      } as UncoveredRun,
    });
    if (n <= config.maxUncoveredSegments) return;
    const start = windowStart(c.atMs, config.windowMs);
    if (
      !ctx.wouldFlag(
        'segment-without-session',
        'account',
        account,
        start,
        n,
        config.maxUncoveredSegments,
        'severity',
      )
    ) {
      return;
    }
    const evidence = emptyEvidence();
    evidence.eventCount = n;
    evidence.networks = seenEvidence(net);
    evidence.devices = seenEvidence(dev);
    evidence.note = `${n} media segments fetched with no active heartbeat session${v.sessionId ? ` (sid ${v.sessionId})` : ''} (max ${config.maxUncoveredSegments})`;
    out.flags.push({
      rule: 'segment-without-session',
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
