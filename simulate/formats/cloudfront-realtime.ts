/**
 * CloudFront real-time log record (Kinesis Data Streams delivery): tab-separated, positional,
 * the fields in the order the real-time log configuration lists them (the parser takes the same
 * list as configuration), `-` for empty. `timestamp` is epoch seconds with milliseconds. The 18
 * `cmcd-*` fields carry the player's CMCD keys (strings without their quotes).
 */
import type { SimRequest } from '../model.ts';
import { CLOUDFRONT_ALIAS_HOST, cloudFrontEncode } from './cloudfront-standard.ts';

/** The 18 CMCD fields of CloudFront real-time logs, with the CMCD key each carries. */
export const CLOUDFRONT_REALTIME_CMCD_FIELDS = [
  ['cmcd-encoded-bitrate', 'br'],
  ['cmcd-buffer-length', 'bl'],
  ['cmcd-buffer-starvation', 'bs'],
  ['cmcd-content-id', 'cid'],
  ['cmcd-object-duration', 'd'],
  ['cmcd-deadline', 'dl'],
  ['cmcd-measured-throughput', 'mtp'],
  ['cmcd-next-object-request', 'nor'],
  ['cmcd-next-range-request', 'nrr'],
  ['cmcd-object-type', 'ot'],
  ['cmcd-playback-rate', 'pr'],
  ['cmcd-requested-maximum-throughput', 'rtp'],
  ['cmcd-streaming-format', 'sf'],
  ['cmcd-session-id', 'sid'],
  ['cmcd-stream-type', 'st'],
  ['cmcd-startup', 'su'],
  ['cmcd-top-bitrate', 'tb'],
  ['cmcd-version', 'v'],
] as const;

/** The field list the simulator's real-time log configuration declares (written beside the log). */
export const CLOUDFRONT_REALTIME_FIELDS: ReadonlyArray<string> = [
  'timestamp',
  'c-ip',
  'c-port',
  'time-to-first-byte',
  'sc-status',
  'sc-bytes',
  'cs-method',
  'cs-protocol',
  'cs-host',
  'cs-uri-stem',
  'cs-uri-query',
  'cs-user-agent',
  'x-edge-location',
  'x-edge-request-id',
  'x-host-header',
  'time-taken',
  'x-edge-result-type',
  'sc-content-type',
  'c-country',
  'asn',
  ...CLOUDFRONT_REALTIME_CMCD_FIELDS.map(([f]) => f),
];

type Getter = (r: SimRequest) => string | number;

const cmcdGetter =
  (key: string): Getter =>
  (r) => {
    const v = r.cmcd?.[key as keyof NonNullable<SimRequest['cmcd']>];
    if (v === undefined || v === null) return '-';
    if (typeof v === 'boolean') return v ? 'true' : '-';
    return v;
  };

const GETTERS: Record<string, Getter> = {
  timestamp: (r) => (r.timestampMs / 1000).toFixed(3),
  'c-ip': (r) => r.clientIp,
  'c-port': (r) => r.clientPort,
  'time-to-first-byte': (r) => (r.ttfbMs / 1000).toFixed(3),
  'sc-status': (r) => r.status,
  'sc-bytes': (r) => r.bytes,
  'cs-method': (r) => r.method,
  'cs-protocol': () => 'https',
  'cs-host': (r) => r.host,
  'cs-uri-stem': (r) => r.path,
  'cs-uri-query': (r) => (r.query === '' ? '-' : r.query),
  'cs-user-agent': (r) => cloudFrontEncode(r.userAgent),
  'x-edge-location': (r) => r.edgeLocation,
  'x-edge-request-id': (r) => r.requestId,
  'x-host-header': () => CLOUDFRONT_ALIAS_HOST,
  'time-taken': (r) => (r.timeTakenMs / 1000).toFixed(3),
  'x-edge-result-type': (r) => r.cacheResult,
  'sc-content-type': (r) => r.contentType,
  'sc-content-len': (r) => r.bytes,
  'c-country': (r) => r.country,
  asn: (r) => r.asn,
  ...Object.fromEntries(CLOUDFRONT_REALTIME_CMCD_FIELDS.map(([f, k]) => [f, cmcdGetter(k)])),
};

/** A formatter for a given field list (unknown fields are written as `-`). */
export function cloudFrontRealtimeFormatter(fields: ReadonlyArray<string> = CLOUDFRONT_REALTIME_FIELDS) {
  const getters = fields.map((f) => GETTERS[f] ?? (() => '-'));
  return (r: SimRequest): string => {
    let line = '';
    for (let i = 0; i < getters.length; i++) line += (i === 0 ? '' : '\t') + (getters[i] as Getter)(r);
    return `${line}\n`;
  };
}
