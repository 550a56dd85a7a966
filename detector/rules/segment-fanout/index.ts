/**
 * segment-fanout: one (account, content, segment number) fetched by more devices or networks
 * than the household could have within a few segment durations: a live event being restreamed
 * to a crowd off one login. A household watching one live channel on two TVs is two devices on
 * one network; the device bound is at least the plan's stream limit.
 */
import { z } from 'zod';
import type { Evidence } from '../../../core/schemas/generated.ts';
import {
  emptyEvidence,
  type Rule,
  type SeenMap,
  type StateValue,
  seenCount,
  seenEvidence,
  seenSize,
  seenTouch,
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

/** Fetches of one segment, gathered from its first fetch for `spanMs`. */
interface SegmentFetches {
  /** Content id. */
  c: string;
  /** Segment number. */
  s: number;
  /** First fetch, epoch ms. */
  f: number;
  /** End of the gathering span, epoch ms. */
  e: number;
  /** Devices. */
  d: SeenMap;
  /** Networks. */
  n: SeenMap;
}

/** Per account (all its contents): the recent segments still inside their span (a handful). */
interface RecentSegments extends StateValue {
  segs: SegmentFetches[];
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
    const atMs = v.timestampMs;
    const spanMs = config.windowSegments * (v.segmentDurationMs ?? config.defaultSegmentDurationMs);
    // Stored under the account itself: the key the other rules of this event already looked up.
    const key = account;
    const contentId = v.contentId;
    const recent = view.get<RecentSegments>('segment-fanout', key) ?? { x: 0, segs: [] };
    // Segments past their span leave; the one fetched now is found or added (bounded).
    let seg: SegmentFetches | undefined;
    let w = 0;
    let x = 0;
    const segs = recent.segs;
    const count = segs.length;
    for (let r = 0; r < count; r++) {
      const item = segs[r]!;
      if (item.e < ctx.nowMs) continue;
      if (w !== r) segs[w] = item;
      w++;
      if (item.s === v.segmentNumber && item.c === contentId) seg = item;
      if (item.e > x) x = item.e;
    }
    if (w < count) segs.length = w;
    out.changes.push({ ns: 'segment-fanout', key, value: recent });
    if (!seg) {
      if (w >= ctx.entriesPerKeyMax) {
        out.overflow++;
        recent.x = x;
        return;
      }
      seg = { c: contentId, s: v.segmentNumber, f: atMs, e: atMs + spanMs, d: [], n: [] };
      segs.push(seg);
      if (seg.e > x) x = seg.e;
    }
    recent.x = x;
    const d = seenTouch(seg.d, device, atMs, 0, ctx.entriesPerKeyMax);
    const n =
      v.networkPrefix === null ? seg.n : seenTouch(seg.n, v.networkPrefix, atMs, 0, ctx.entriesPerKeyMax);
    if (!d || !n) {
      out.overflow++;
      return;
    }
    const subject = `${account}|${contentId}|${v.segmentNumber}`;
    const maxDevices = Math.max(config.maxDevices, ctx.plan.streamLimit);
    const devices = seenSize(d);
    const networks = seenSize(n);
    const overDevices = devices > maxDevices;
    const overNetworks = networks > config.maxNetworks;
    if (!overDevices && !overNetworks) return;
    const start = windowStart(atMs, config.flagWindowMs);
    const idKey = `${account}|${contentId}`;
    const threshold = overDevices ? maxDevices : config.maxNetworks;
    const observed = overDevices ? devices : networks;
    if (!ctx.wouldFlag('segment-fanout', 'segment', idKey, start, observed, threshold, 'increase')) return;
    const evidence = (): Evidence => {
      const e = emptyEvidence();
      e.eventCount = seenCount(d);
      e.devices = seenEvidence(d);
      e.networks = seenEvidence(n);
      e.note = `segment ${v.segmentNumber} of ${v.contentId} fetched by ${devices} devices on ${networks} networks within ${spanMs / 1000} s (max ${maxDevices} devices, ${config.maxNetworks} networks)`;
      return e;
    };
    out.flags.push({
      rule: 'segment-fanout',
      subjectKind: 'segment',
      subjectKey: subject,
      idKey,
      tenant: v.tenant,
      accountId: v.accountId,
      tokenHash: v.tokenHash,
      tokenExpiresAtMs: v.tokenExpiresAtMs,
      evictSessionId: null,
      threshold,
      observed,
      windowStartMs: start,
      windowEndMs: start + config.flagWindowMs,
      detectedAtMs: atMs,
      triggerEventId: v.id,
      evidence,
    });
  },
};
