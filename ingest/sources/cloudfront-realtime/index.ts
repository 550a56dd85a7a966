/**
 * Format: Amazon CloudFront real-time logs (delivered through Kinesis Data Streams).
 * Tab-separated, positional, no header: the field order is the one the operator selected in the
 * real-time log configuration, so it is given here as configuration. `timestamp` is epoch seconds
 * with milliseconds; `-` means empty; cs-headers is URL-encoded `Name:value` lines; 18 cmcd-* fields.
 * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/real-time-logs.html
 */
import { asnOrNull, countryOrNull, decodedOrNull, parseTimeMs, splitLines, urlDecode } from '../fields.ts';
import { emptyRequest, type LineError, type ParsedRequest, type ParseResult } from '../types.ts';

/** The cmcd-* field names of the real-time log and the CMCD key each carries. */
export const REALTIME_CMCD_FIELDS: Readonly<Record<string, string>> = {
  'cmcd-encoded-bitrate': 'br',
  'cmcd-buffer-length': 'bl',
  'cmcd-buffer-starvation': 'bs',
  'cmcd-content-id': 'cid',
  'cmcd-object-duration': 'd',
  'cmcd-deadline': 'dl',
  'cmcd-measured-throughput': 'mtp',
  'cmcd-next-object-request': 'nor',
  'cmcd-next-range-request': 'nrr',
  'cmcd-object-type': 'ot',
  'cmcd-playback-rate': 'pr',
  'cmcd-requested-maximum-throughput': 'rtp',
  'cmcd-streaming-format': 'sf',
  'cmcd-session-id': 'sid',
  'cmcd-stream-type': 'st',
  'cmcd-startup': 'su',
  'cmcd-top-bitrate': 'tb',
  'cmcd-version': 'v',
};

/** A field order useful for video (every field leechguard reads); operators give their own. */
export const CLOUDFRONT_REALTIME_DEFAULT_FIELDS = [
  'timestamp',
  'c-ip',
  'sc-status',
  'sc-bytes',
  'cs-method',
  'cs-protocol',
  'cs-host',
  'cs-uri-stem',
  'x-edge-location',
  'x-edge-request-id',
  'cs-user-agent',
  'cs-cookie',
  'cs-uri-query',
  'x-edge-result-type',
  'c-country',
  'cs-headers',
  'asn',
  ...Object.keys(REALTIME_CMCD_FIELDS),
] as const;

export interface CloudFrontRealtimeOptions {
  /** Field order of the operator's real-time log configuration. */
  fields?: readonly string[];
  lineBytesMax?: number;
}

/** Parses `Name:value` lines (URL-encoded as a whole) into lower-case header names. */
export function parseHeaderBlock(encoded: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  if (!encoded) return out;
  for (const h of urlDecode(encoded).split(/\r?\n/)) {
    const colon = h.indexOf(':');
    if (colon > 0) out[h.slice(0, colon).trim().toLowerCase()] = h.slice(colon + 1).trim();
  }
  return out;
}

// Field codes: the field list is compiled once, so a line is a switch on small ints.
const F_OTHER = 0;
const F_CMCD = 100;
const FIELD_CODES: Readonly<Record<string, number>> = {
  timestamp: 1,
  'c-ip': 2,
  'sc-status': 3,
  'sc-bytes': 4,
  'cs-method': 5,
  'cs-host': 6,
  'x-host-header': 7,
  'cs-uri-stem': 8,
  'x-edge-location': 9,
  'cs-user-agent': 10,
  'cs-referer': 11,
  'cs-cookie': 12,
  'cs-uri-query': 13,
  'x-edge-result-type': 14,
  'c-country': 15,
  asn: 16,
  'cs-headers': 17,
};

interface Compiled {
  codes: Int32Array;
  cmcdKeys: Array<string | undefined>;
}

const compiledCache = new WeakMap<readonly string[], Compiled>();

function compile(fields: readonly string[]): Compiled {
  let c = compiledCache.get(fields);
  if (!c) {
    c = {
      codes: Int32Array.from(fields, (f) => FIELD_CODES[f] ?? (REALTIME_CMCD_FIELDS[f] ? F_CMCD : F_OTHER)),
      cmcdKeys: fields.map((f) => REALTIME_CMCD_FIELDS[f]),
    };
    compiledCache.set(fields, c);
  }
  return c;
}

/** Parses one batch of CloudFront real-time log text with the configured field order. Never throws. */
export function parseCloudFrontRealtime(
  text: string,
  options: CloudFrontRealtimeOptions = {},
): ParseResult<ParsedRequest> {
  const fields = options.fields ?? CLOUDFRONT_REALTIME_DEFAULT_FIELDS;
  const { lines, errors } = splitLines(text, options);
  const records: ParsedRequest[] = [];
  const compiled = compile(fields);
  for (const { offset, text: line } of lines) {
    const result = parseLine(line, offset, compiled);
    if ('code' in result) errors.push(result);
    else records.push(result);
  }
  errors.sort((a, b) => a.offset - b.offset);
  return { records, errors };
}

function parseLine(line: string, offset: number, compiled: Compiled): ParsedRequest | LineError {
  const f = line.split('\t');
  const { codes, cmcdKeys } = compiled;
  if (f.length !== codes.length) {
    return {
      offset,
      line,
      code: 'ING_ERR_FIELD_COUNT',
      reason: `expected ${codes.length} tab-separated fields, got ${f.length}`,
    };
  }
  const req = emptyRequest(offset, line);
  let ts: number | undefined;
  for (let i = 0; i < codes.length; i++) {
    const code = codes[i]!;
    if (code === F_OTHER) continue;
    const raw = f[i]!;
    if (raw === '-' || raw === '') continue;
    switch (code) {
      case 1:
        ts = parseTimeMs(raw);
        break;
      case 2:
        req.clientIp = raw;
        break;
      case 3:
        if (!/^\d{1,3}$/.test(raw)) return bad(offset, line, 'sc-status');
        req.status = Number(raw);
        break;
      case 4:
        if (!/^\d{1,15}$/.test(raw)) return bad(offset, line, 'sc-bytes');
        req.bytes = Number(raw);
        break;
      case 5:
        req.method = raw;
        break;
      case 6:
        req.host ??= raw;
        break;
      case 7:
        req.host = raw;
        break;
      case 8:
        req.path = urlDecode(raw);
        break;
      case 9:
        req.edgeLocation = raw;
        break;
      case 10:
        req.userAgent = urlDecode(raw);
        break;
      case 11:
        req.referer = urlDecode(raw);
        break;
      case 12:
        req.cookie = urlDecode(raw);
        break;
      case 13:
        req.query = raw;
        break;
      case 14:
        req.cacheResult = raw;
        break;
      case 15:
        req.country = countryOrNull(raw);
        break;
      case 16:
        req.asn = asnOrNull(raw);
        break;
      case 17:
        req.headers = { ...req.headers, ...parseHeaderBlock(raw) };
        break;
      default: {
        const key = cmcdKeys[i];
        if (key) {
          req.cmcdFields ??= [];
          req.cmcdFields.push(key, decodedOrNull(raw) ?? '');
        }
      }
    }
  }
  if (ts === undefined) {
    return {
      offset,
      line,
      code: 'ING_ERR_TIMESTAMP_INVALID',
      reason: 'timestamp is missing or not epoch seconds',
    };
  }
  if (req.path.charCodeAt(0) !== 47) return bad(offset, line, 'cs-uri-stem');
  req.timestampMs = ts;
  return req;
}

function bad(offset: number, line: string, field: string): LineError {
  return { offset, line, code: 'ING_ERR_FIELD_INVALID', reason: `${field} is invalid` };
}
