/**
 * segment-fanout: one (account, content, segment number) fetched by more devices or networks
 * than the household could have within a few segment durations: a live event being restreamed
 * to a crowd off one login. A household watching one live channel on two TVs is two devices on
 * one network; the device bound is at least the plan's stream limit.
 */
import { z } from 'zod';
import {
  common,
  emptyEvidence,
  type Rule,
  type SeenMap,
  type StateValue,
  seenCount,
  seenEvidence,
  seenSize,
  seenTouch,
  stateKey,
  windowStart,
} from '../kit.ts';

export const segmentFanoutConfig = z
  .object({
    enabled: z.boolean().default(true),
    /** How many segment durations the fetches of one segment are gathered over (2–3). */
    windowSegments: z.number().positive().default(3),
    /** Segment duration when the request does not carry one (CMCD d), ms. */
    defaultSegmentDurationMs: z.number().int().positive().default(6_000),
    /** Most devices fetching one segment of one account (raised to the plan's stream limit). */
    maxDevices: z.number().int().positive().default(3),
    /** Most networks fetching one segment of one account (home wifi + a phone on 4G). */
    maxNetworks: z.number().int().positive().default(2),
    /** Flags of one account+content are grouped per window of this size, ms. */
    flagWindowMs: z
      .number()
      .int()
      .positive()
      .default(10 * 60_000),
  })
  .strict();
export type SegmentFanoutConfig = z.infer<typeof segmentFanoutConfig>;

interface SegmentFetches extends StateValue {
  d: SeenMap;
  n: SeenMap;
}

export const segmentFanout: Rule<SegmentFanoutConfig> = {
  name: 'segment-fanout',
  configSchema: segmentFanoutConfig,
  horizonMs: (c) => Math.max(c.flagWindowMs, c.windowSegments * c.defaultSegmentDurationMs),
  apply(view, event, config, ctx, out) {
    if (event.kind !== 'request') return;
    const v = event.value;
    if (v.segmentNumber === null || v.contentId === null) return;
    const account = v.accountId ?? v.tokenHash;
    if (account === null) return;
    const device = v.deviceId ?? v.sessionId ?? v.clientIp;
    if (device === null) return;
    const c = common(event);
    const spanMs = config.windowSegments * (v.segmentDurationMs ?? config.defaultSegmentDurationMs);
    const subject = `${account}|${v.contentId}|${v.segmentNumber}`;
    const key = stateKey('segment-fanout', subject);
    const prev = view.get<SegmentFetches>(key);
    const fresh = prev && prev.x >= ctx.nowMs ? prev : undefined;
    // Fetches of one segment are gathered from the first fetch for `spanMs`; no sliding needed.
    const d = seenTouch(fresh?.d, device, c.atMs, 0, ctx.entriesPerKeyMax);
    const n =
      v.networkPrefix === null
        ? fresh?.n
        : seenTouch(fresh?.n, v.networkPrefix, c.atMs, 0, ctx.entriesPerKeyMax);
    if (!d || !n) {
      out.overflow++;
      return;
    }
    const firstMs = fresh ? Math.min(...Object.values(fresh.d).map((s) => s[1])) : c.atMs;
    out.changes.push({ key, value: { x: firstMs + spanMs, d, n } as SegmentFetches });
    const maxDevices = Math.max(config.maxDevices, ctx.plan.streamLimit);
    const devices = seenSize(d);
    const networks = seenSize(n);
    const overDevices = devices > maxDevices;
    const overNetworks = networks > config.maxNetworks;
    if (!overDevices && !overNetworks) return;
    const evidence = emptyEvidence();
    evidence.eventCount = seenCount(d);
    evidence.devices = seenEvidence(d);
    evidence.networks = seenEvidence(n);
    evidence.note = `segment ${v.segmentNumber} of ${v.contentId} fetched by ${devices} devices on ${networks} networks within ${spanMs / 1000} s (max ${maxDevices} devices, ${config.maxNetworks} networks)`;
    const start = windowStart(c.atMs, config.flagWindowMs);
    out.flags.push({
      rule: 'segment-fanout',
      subjectKind: 'segment',
      subjectKey: subject,
      idKey: `${account}|${v.contentId}`,
      tenant: c.tenant,
      accountId: c.accountId,
      tokenHash: c.tokenHash,
      tokenExpiresAtMs: c.tokenExpiresAtMs,
      evictSessionId: null,
      threshold: overDevices ? maxDevices : config.maxNetworks,
      observed: overDevices ? devices : networks,
      windowStartMs: start,
      windowEndMs: start + config.flagWindowMs,
      detectedAtMs: c.atMs,
      triggerEventId: c.id,
      evidence,
    });
  },
};
