/**
 * What viewers watch: live channels (HLS or DASH, segment duration 2–6 s) and one VOD title,
 * and the URL shapes a CDN sees for them:
 *   HLS  /live/<content>/master.m3u8, /live/<content>/<rendition>/index.m3u8,
 *        /live/<content>/<rendition>/seg_<n>.ts
 *   DASH /live/<content>/manifest.mpd, /live/<content>/<rendition>/init.mp4,
 *        /live/<content>/<rendition>/seg_<n>.m4s  (SegmentTemplate media="$RepresentationID$/seg_$Number$.m4s")
 *   VOD  the same under /vod/<content>/.
 */

export type StreamingFormat = 'hls' | 'dash';

export interface Rendition {
  id: string;
  bitrateKbps: number;
}

export interface Content {
  id: string;
  kind: 'live' | 'vod';
  format: StreamingFormat;
  segmentDurationMs: number;
  renditions: ReadonlyArray<Rendition>;
  /** Relative popularity among legitimate viewers. */
  weight: number;
}

const HLS_LADDER: ReadonlyArray<Rendition> = [
  { id: '1080p', bitrateKbps: 6000 },
  { id: '720p', bitrateKbps: 3500 },
  { id: '480p', bitrateKbps: 1500 },
  { id: '360p', bitrateKbps: 800 },
];
const DASH_LADDER: ReadonlyArray<Rendition> = [
  { id: 'v1080', bitrateKbps: 5800 },
  { id: 'v720', bitrateKbps: 3300 },
  { id: 'v480', bitrateKbps: 1400 },
];

export const CONTENTS: ReadonlyArray<Content> = [
  {
    id: 'ev-cup-final',
    kind: 'live',
    format: 'hls',
    segmentDurationMs: 4000,
    renditions: HLS_LADDER,
    weight: 35,
  },
  {
    id: 'ch-sports-1',
    kind: 'live',
    format: 'hls',
    segmentDurationMs: 6000,
    renditions: HLS_LADDER,
    weight: 20,
  },
  {
    id: 'ch-sports-2',
    kind: 'live',
    format: 'dash',
    segmentDurationMs: 2000,
    renditions: DASH_LADDER,
    weight: 8,
  },
  { id: 'ch-news', kind: 'live', format: 'hls', segmentDurationMs: 6000, renditions: HLS_LADDER, weight: 15 },
  {
    id: 'ch-kids',
    kind: 'live',
    format: 'dash',
    segmentDurationMs: 4000,
    renditions: DASH_LADDER,
    weight: 12,
  },
  {
    id: 'studio-a-live',
    kind: 'live',
    format: 'dash',
    segmentDurationMs: 6000,
    renditions: DASH_LADDER,
    weight: 10,
  },
  {
    id: 'studio-a-movie-1',
    kind: 'vod',
    format: 'hls',
    segmentDurationMs: 6000,
    renditions: HLS_LADDER,
    weight: 0,
  },
];

export const LIVE_CONTENTS = CONTENTS.filter((c) => c.kind === 'live');

export function contentById(id: string): Content {
  const c = CONTENTS.find((x) => x.id === id);
  if (!c) throw new Error(`unknown content ${id}`);
  return c;
}

/** Base path of a content: /live/<id> or /vod/<id>. */
export function contentBase(c: Content): string {
  return `/${c.kind}/${c.id}`;
}

export function manifestPath(c: Content): string {
  return c.format === 'hls' ? `${contentBase(c)}/master.m3u8` : `${contentBase(c)}/manifest.mpd`;
}

/** HLS media playlist, or DASH init segment, of a rendition. */
export function renditionEntryPath(c: Content, r: Rendition): string {
  return c.format === 'hls' ? `${contentBase(c)}/${r.id}/index.m3u8` : `${contentBase(c)}/${r.id}/init.mp4`;
}

export function segmentPath(c: Content, r: Rendition, n: number): string {
  return `${contentBase(c)}/${r.id}/seg_${n}.${c.format === 'hls' ? 'ts' : 'm4s'}`;
}

/** Live edge: the newest complete segment number at time t, for segments numbered from epochMs. */
export function liveEdge(c: Content, epochMs: number, tMs: number): number {
  return Math.floor((tMs - epochMs) / c.segmentDurationMs) - 1;
}
