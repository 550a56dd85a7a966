/**
 * CloudFront standard access log (W3C extended format, legacy / v2 "W3C" output): tab-separated,
 * `#Version: 1.0` and `#Fields:` header lines, the 33 fields below in this order, values
 * URL-encoded, `-` for empty. Date and time are UTC, time to the second; time-taken in seconds.
 */
import { CLOUDFRONT_STANDARD_FIELDS } from '../../ingest/sources/cloudfront-standard/index.ts';
import type { SimRequest } from '../model.ts';

// The field list is a fact of the format: one copy, the parser's (the simulator is a test tool, above
// the services; a unit test checks the list against DOMAIN.md's 33 fields).
export { CLOUDFRONT_STANDARD_FIELDS } from '../../ingest/sources/cloudfront-standard/index.ts';

/** The two header lines every CloudFront standard log file starts with. */
export function cloudFrontStandardHeader(): string {
  return `#Version: 1.0\n#Fields: ${CLOUDFRONT_STANDARD_FIELDS.join(' ')}\n`;
}

/** CloudFront's log encoding: spaces and other unsafe characters percent-encoded, the rest as sent. */
const encoded = new Map<string, string>();
/** Cache bound: user agents repeat, so a small memo saves the regex on the hot path. */
const ENCODE_MEMO_MAX = 1024;

export function cloudFrontEncode(value: string): string {
  const hit = encoded.get(value);
  if (hit !== undefined) return hit;
  const out = encodeRaw(value);
  if (encoded.size < ENCODE_MEMO_MAX) encoded.set(value, out);
  return out;
}

function encodeRaw(value: string): string {
  return value.replace(
    /[\s%"\\\t]/g,
    (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
}

/** The public host viewers use (the CNAME in front of the distribution). */
export const CLOUDFRONT_ALIAS_HOST = 'live.example-ott.com';

export function formatCloudFrontStandard(r: SimRequest): string {
  const iso = new Date(r.timestampMs).toISOString();
  const seconds = (ms: number) => (ms / 1000).toFixed(3);
  return `${[
    iso.slice(0, 10),
    iso.slice(11, 19),
    r.edgeLocation,
    r.bytes,
    r.clientIp,
    r.method,
    r.host,
    r.path,
    r.status,
    '-',
    cloudFrontEncode(r.userAgent),
    r.query === '' ? '-' : r.query,
    '-',
    r.cacheResult,
    r.requestId,
    CLOUDFRONT_ALIAS_HOST,
    'https',
    420,
    seconds(r.timeTakenMs),
    '-',
    'TLSv1.3',
    'TLS_AES_128_GCM_SHA256',
    r.cacheResult,
    'HTTP/2.0',
    '-',
    '-',
    r.clientPort,
    seconds(r.ttfbMs),
    r.cacheResult,
    r.contentType,
    r.bytes,
    '-',
    '-',
  ].join('\t')}\n`;
}
