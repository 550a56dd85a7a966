/**
 * request-rate: a token pulling media faster than real-time playback needs. Per window, the
 * media duration fetched (segment durations of video segments) divided by the window length; a
 * player needs 1x, plus a start-up burst to fill its buffer.
 */
import { z } from 'zod';
import { common, emptyEvidence, type Rule, type StateValue, windowStart } from '../kit.ts';

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
  /** Ids of the requests counted (at most entriesPerKeyMax): a redelivered request is not counted twice. */
  ids?: string[];
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
    const seen = prev?.ids ?? [];
    if (seen.includes(c.id)) return; // the same record delivered again (a retried batch)
    if (seen.length >= ctx.entriesPerKeyMax) out.overflow++;
    const mediaMs = (prev?.m ?? 0) + (v.segmentDurationMs ?? v.cmcd?.d ?? config.defaultSegmentDurationMs);
    const next: RateWindow = {
      x: w + 2 * config.windowMs,
      w,
      m: mediaMs,
      n: (prev?.n ?? 0) + 1,
      first: Math.min(prev?.first ?? c.atMs, c.atMs),
      last: Math.max(prev?.last ?? c.atMs, c.atMs),
      ids: seen.length < ctx.entriesPerKeyMax ? [...seen, c.id] : seen,
    };
    out.changes.push({ ns: 'request-rate', key: subject, value: next });
    const ratio = Math.round((mediaMs / config.windowMs) * 100) / 100;
    if (ratio <= config.maxRealtimeRatio) return;
    const kind = v.tokenHash !== null ? 'token' : 'account';
    if (!ctx.wouldFlag('request-rate', kind, subject, w, ratio, config.maxRealtimeRatio, 'severity')) return;
    const evidence = emptyEvidence();
    evidence.eventCount = next.n;
    evidence.note = `${Math.round(mediaMs / 1000)} s of video fetched in a ${config.windowMs / 1000} s window (${ratio}x real time, max ${config.maxRealtimeRatio}x); first ${next.first}, last ${next.last}`;
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
