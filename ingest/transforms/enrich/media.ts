/**
 * Segment number, media type and content id from a request URL, with configurable HLS / DASH
 * patterns (named groups `segment` and `content`), and media type from CMCD `ot` when present.
 */
import { z } from 'zod';

export const mediaSection = z
  .object({
    /** Tried in order; first match wins. Named groups: `segment` (digits), `content`. */
    /** Tried in order on the path; first match wins. Named groups: `segment` (digits), optional `content`. */
    segmentPatterns: z.array(z.string()).default([
      // HLS media playlists and DASH $Number$ templates: seg_00042.ts, 720p-42.m4s, chunk-stream0-00042.m4s
      // The lookbehind starts a match only where a run of digits starts: linear on a long run of
      // digits (without it every position of the run is tried, each scanning to its end).
      '(?<!\\d)(?<segment>\\d+)\\.(?:ts|m4s|aac|mp4|m4a|m4v|vtt|webvtt|cmfv|cmfa)$',
    ]),
    /**
     * Content id patterns (named group `content`), tried before the default reading: the directory
     * holding the file, or its parent when that directory names a rendition (720p, 3000k, audio, v1 ...).
     */
    contentPatterns: z.array(z.string()).default([]),
  })
  .strict();
export type MediaConfig = z.infer<typeof mediaSection>;

export interface MediaInfo {
  mediaType: string | null;
  segmentNumber: number | null;
  contentId: string | null;
}

// A Map, not an object literal: `ot` is player data, and `toString` is not a media type.
const OT_TYPES = new Map<string, string>([
  ['m', 'manifest'],
  ['a', 'audio'],
  ['v', 'video'],
  ['av', 'video'],
  ['i', 'init'],
  ['c', 'subtitle'],
  ['tt', 'subtitle'],
  ['k', 'other'],
  ['o', 'other'],
]);

export interface CompiledMedia {
  segment: RegExp[];
  content: RegExp[];
}

export function compileMedia(config: MediaConfig): CompiledMedia {
  return {
    segment: config.segmentPatterns.map((p) => new RegExp(p)),
    content: config.contentPatterns.map((p) => new RegExp(p)),
  };
}

function typeFromPath(path: string): string | null {
  const dot = path.lastIndexOf('.');
  const ext = dot === -1 ? '' : path.slice(dot + 1).toLowerCase();
  if (ext === 'm3u8' || ext === 'mpd') return 'manifest';
  if (ext === 'vtt' || ext === 'webvtt' || ext === 'ttml' || ext === 'srt') return 'subtitle';
  const lower = path.toLowerCase();
  if (/(?:^|[/_.-])init[^/]*$/.test(lower)) return 'init';
  if (ext === 'aac' || ext === 'm4a' || ext === 'cmfa' || /audio/.test(lower)) return 'audio';
  if (ext === 'ts' || ext === 'm4s' || ext === 'm4v' || ext === 'mp4' || ext === 'cmfv') return 'video';
  return dot === -1 ? null : 'other';
}

const RENDITION_DIR =
  /^(?:\d{3,4}p\d*|\d+k|\d+kbps|[av]\d+|video|audio|subtitles?|hd|sd|uhd|4k|stream_?\d*|rendition_?\d*|track_?\d*|\d+|[a-z]{2,3}(?:-[A-Z]{2})?)$/i;

/** The directory naming the content: the file's, or its parent's when that names a rendition. */
export function contentFromPath(path: string): string | null {
  const parts = path.split('/').filter((p) => p !== '');
  if (parts.length < 2) return null;
  let i = parts.length - 2;
  while (i > 0 && RENDITION_DIR.test(parts[i]!)) i--;
  return parts[i] ?? null;
}

/** Media facts of one request path; CMCD ot wins over the extension for the type. */
export function mediaInfo(path: string, media: CompiledMedia, cmcdOt: string | null = null): MediaInfo {
  let mediaType = (cmcdOt && OT_TYPES.get(cmcdOt)) || typeFromPath(path);
  let segmentNumber: number | null = null;
  let contentId: string | null = null;
  if (mediaType !== 'manifest' && mediaType !== 'init') {
    for (const re of media.segment) {
      const m = re.exec(path);
      if (m?.groups?.segment) {
        const n = Number(m.groups.segment);
        if (Number.isSafeInteger(n)) segmentNumber = n;
        contentId = m.groups.content ?? null;
        break;
      }
    }
  }
  if (contentId === null) {
    for (const re of media.content) {
      const m = re.exec(path);
      if (m?.groups?.content) {
        contentId = m.groups.content;
        break;
      }
    }
  }
  contentId ??= contentFromPath(path);
  if (mediaType === null && segmentNumber !== null) mediaType = 'video';
  return { mediaType, segmentNumber, contentId };
}
