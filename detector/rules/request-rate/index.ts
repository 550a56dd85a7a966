/**
 * request-rate: a token pulling media faster than real-time playback needs. Per window, the
 * media duration fetched (segment durations of video segments) divided by the window length; a
 * player needs 1x, plus a start-up burst to fill its buffer.
 */
import { z } from 'zod';
import { common, emptyEvidence, idFingerprint, type Rule, type StateValue, windowStart } from '../kit.ts';

export const requestRateConfig = z
  .object({
    enabled: z.boolean().default(true),
    /**
     * Tumbling window the fetched media is summed over, ms. 60 s: a 6x bot crosses 3x within
     * ~30 s of a window (120 s let one run ~90 s when it started late in a window); a player's
     * start-up burst plus real time stays under 1.4x in a minute.
     */
    windowMs: z.number().int().positive().default(60_000),
    /** Most media time fetched per wall time (real time is 1; start-up buffering adds ~0.5). */
    maxRealtimeRatio: z.number().positive().default(3),
    /** Segment duration when the request does not carry one (CMCD d), ms. */
    defaultSegmentDurationMs: z.number().int().positive().default(6_000),
  })
  .strict();
export type RequestRateConfig = z.infer<typeof requestRateConfig>;

interface RateWindow extends StateValue {
  /** Window start, epoch ms. */
  w: number;
  /** Media fetched in the window, ms. */
  m: number;
  /** Segment requests counted. */
  n: number;
  first: number;
  last: number;
  /**
   * 32-bit fingerprints of the ids of the requests counted (at most entriesPerKeyMax): a
   * redelivered request is not counted twice. Numbers, not the ids: a small-integer array is
   * searched and stored at a fraction of the cost (a collision undercounts one request).
   */
  h?: number[];
}

/** Video (or muxed) media segments: audio and subtitles ride along and are not counted twice. */
function isVideoSegment(
  mediaType: string | null,
  ot: string | null | undefined,
  segment: number | null,
): boolean {
  if (mediaType !== null) return mediaType === 'video';
  if (ot) return ot === 'v' || ot === 'av';
  return segment !== null;
}

export const requestRate: Rule<RequestRateConfig> = {
  name: 'request-rate',
  configSchema: requestRateConfig,
  horizonMs: (c) => c.windowMs,
  apply(view, event, config, ctx, out) {
    if (event.kind !== 'request') return;
    const v = event.value;
    if (!isVideoSegment(v.mediaType, v.cmcd?.ot, v.segmentNumber)) return;
    const subject = v.tokenHash ?? v.accountId;
    if (subject === null) return;
    const c = common(event);
    const w = windowStart(c.atMs, config.windowMs);
    const stored = view.get<RateWindow>('request-rate', subject);
    // A window before this one is over; a late event of an older window is not counted.
    if (stored && stored.w > w) return;
    const prev = stored && stored.w === w ? stored : undefined;
    const fp = idFingerprint(c.id);
    if (prev?.h?.includes(fp)) return; // the same record delivered again (a retried batch)
    const segmentMs = v.segmentDurationMs ?? v.cmcd?.d ?? config.defaultSegmentDurationMs;
    // The window's value belongs to the store: updated in place (a copy per request was quadratic).
    let next: RateWindow;
    if (prev) {
      next = prev;
      next.m += segmentMs;
      next.n++;
      if (c.atMs < next.first) next.first = c.atMs;
      if (c.atMs > next.last) next.last = c.atMs;
      next.h ??= [];
      if (next.h.length < ctx.entriesPerKeyMax) next.h.push(fp);
      else out.overflow++;
    } else {
      next = { x: w + 2 * config.windowMs, w, m: segmentMs, n: 1, first: c.atMs, last: c.atMs, h: [fp] };
    }
    const mediaMs = next.m;
    out.changes.push({ ns: 'request-rate', key: subject, value: next });
    const ratio = Math.round((mediaMs / config.windowMs) * 100) / 100;
    if (ratio <= config.maxRealtimeRatio) return;
    const kind = v.tokenHash !== null ? 'token' : 'account';
    if (!ctx.wouldFlag('request-rate', kind, subject, w, ratio, config.maxRealtimeRatio, 'severity')) return;
    const evidence = emptyEvidence();
    evidence.eventCount = next.n;
    evidence.note = `${Math.round(mediaMs / 1000)} s of video fetched in a ${config.windowMs / 1000} s window (${ratio}x real time, max ${config.maxRealtimeRatio}x), ${new Date(next.first).toISOString()} to ${new Date(next.last).toISOString()}`;
    out.flags.push({
      rule: 'request-rate',
      subjectKind: kind,
      subjectKey: subject,
      tenant: c.tenant,
      accountId: c.accountId,
      tokenHash: c.tokenHash,
      tokenExpiresAtMs: c.tokenExpiresAtMs,
      evictSessionId: null,
      threshold: config.maxRealtimeRatio,
      observed: ratio,
      windowStartMs: w,
      windowEndMs: w + config.windowMs,
      detectedAtMs: c.atMs,
      triggerEventId: c.id,
      evidence,
      escalateOn: 'severity',
    });
  },
};
