/**
 * Format: Amazon CloudFront standard (access) logs, W3C extended log file format.
 * Tab-separated; `#Version` / `#Fields` header lines give the field order (honoured when present,
 * else the documented 33-field order); values are URL-encoded; `-` means empty; date and time UTC.
 * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logs-reference.html
 */
import { dash, decodedOrNull, splitLines, urlDecode } from '../fields.ts';
import { emptyRequest, type LineError, type ParsedRequest, type ParseResult } from '../types.ts';

/** The documented field order of the standard log (33 fields). */
export const CLOUDFRONT_STANDARD_FIELDS = [
  'date',
  'time',
  'x-edge-location',
  'sc-bytes',
  'c-ip',
  'cs-method',
  'cs(Host)',
  'cs-uri-stem',
  'sc-status',
  'cs(Referer)',
  'cs(User-Agent)',
  'cs-uri-query',
  'cs(Cookie)',
  'x-edge-result-type',
  'x-edge-request-id',
  'x-host-header',
  'cs-protocol',
  'cs-bytes',
  'time-taken',
  'x-forwarded-for',
  'ssl-protocol',
  'ssl-cipher',
  'x-edge-response-result-type',
  'cs-protocol-version',
  'fle-status',
  'fle-encrypted-fields',
  'c-port',
  'time-to-first-byte',
  'x-edge-detailed-result-type',
  'sc-content-type',
  'sc-content-len',
  'sc-range-start',
  'sc-range-end',
] as const;

export interface CloudFrontStandardOptions {
  /** Field order used until a `#Fields` line is seen (batches cut from the middle of a file). */
  fields?: readonly string[];
  lineBytesMax?: number;
}

interface Indexes {
  count: number;
  date: number;
  time: number;
  edge: number;
  scBytes: number;
  ip: number;
  method: number;
  csHost: number;
  stem: number;
  status: number;
  referer: number;
  ua: number;
  query: number;
  cookie: number;
  result: number;
  hostHeader: number;
}

function indexes(fields: readonly string[]): Indexes {
  const at = (name: string) => fields.indexOf(name);
  return {
    count: fields.length,
    date: at('date'),
    time: at('time'),
    edge: at('x-edge-location'),
    scBytes: at('sc-bytes'),
    ip: at('c-ip'),
    method: at('cs-method'),
    csHost: at('cs(Host)'),
    stem: at('cs-uri-stem'),
    status: at('sc-status'),
    referer: at('cs(Referer)'),
    ua: at('cs(User-Agent)'),
    query: at('cs-uri-query'),
    cookie: at('cs(Cookie)'),
    result: at('x-edge-result-type'),
    hostHeader: at('x-host-header'),
  };
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME_RE = /^(\d{2}):(\d{2}):(\d{2})$/;

function utcMs(date: string | undefined, time: string | undefined): number | undefined {
  const d = date ? DATE_RE.exec(date) : null;
  const t = time ? TIME_RE.exec(time) : null;
  if (!d || !t) return undefined;
  const ms = Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3]), Number(t[1]), Number(t[2]), Number(t[3]));
  return Number.isFinite(ms) && Number(t[1]) < 24 && Number(d[2]) >= 1 && Number(d[2]) <= 12 ? ms : undefined;
}

function intField(v: string | undefined): number | null | undefined {
  if (v === undefined || v === '-' || v === '') return null;
  return /^\d{1,15}$/.test(v) ? Number(v) : undefined;
}

/** Parses one batch of CloudFront standard log text. Never throws. */
export function parseCloudFrontStandard(
  text: string,
  options: CloudFrontStandardOptions = {},
): ParseResult<ParsedRequest> {
  const { lines, errors } = splitLines(text, options);
  const records: ParsedRequest[] = [];
  let ix = indexes(options.fields ?? CLOUDFRONT_STANDARD_FIELDS);
  for (const { offset, text: line } of lines) {
    if (line.charCodeAt(0) === 35 /* # */) {
      if (line.startsWith('#Fields:')) {
        const fields = line.slice('#Fields:'.length).trim().split(/\s+/);
        ix = indexes(fields);
        if (ix.date < 0 || ix.time < 0 || ix.stem < 0) {
          errors.push({
            offset,
            line,
            code: 'ING_ERR_LINE_MALFORMED',
            reason: '#Fields lacks date, time or cs-uri-stem',
          });
        }
      }
      continue;
    }
    const result = parseLine(line, offset, ix);
    if ('code' in result) errors.push(result);
    else records.push(result);
  }
  errors.sort((a, b) => a.offset - b.offset);
  return { records, errors };
}

function parseLine(line: string, offset: number, ix: Indexes): ParsedRequest | LineError {
  const f = line.split('\t');
  if (f.length !== ix.count) {
    return {
      offset,
      line,
      code: 'ING_ERR_FIELD_COUNT',
      reason: `expected ${ix.count} tab-separated fields, got ${f.length}`,
    };
  }
  const ts = utcMs(f[ix.date], f[ix.time]);
  if (ts === undefined) {
    return {
      offset,
      line,
      code: 'ING_ERR_TIMESTAMP_INVALID',
      reason: 'date / time is not YYYY-MM-DD HH:MM:SS',
    };
  }
  const req = emptyRequest(offset, line);
  req.timestampMs = ts;
  const stem = dash(f[ix.stem]);
  if (stem === null || stem.charCodeAt(0) !== 47 /* / */) {
    return { offset, line, code: 'ING_ERR_FIELD_INVALID', reason: 'cs-uri-stem is not a path' };
  }
  req.path = urlDecode(stem);
  const status = intField(f[ix.status]);
  const bytes = intField(f[ix.scBytes]);
  if (status === undefined)
    return { offset, line, code: 'ING_ERR_FIELD_INVALID', reason: 'sc-status is not a number' };
  if (bytes === undefined)
    return { offset, line, code: 'ING_ERR_FIELD_INVALID', reason: 'sc-bytes is not a number' };
  req.status = status;
  req.bytes = bytes;
  req.clientIp = dash(f[ix.ip]);
  req.method = dash(f[ix.method]);
  req.host = dash(f[ix.hostHeader]) ?? dash(f[ix.csHost]);
  // The query stays encoded: token extraction decodes each parameter itself.
  req.query = dash(f[ix.query]);
  req.referer = decodedOrNull(f[ix.referer]);
  req.userAgent = decodedOrNull(f[ix.ua]);
  req.cookie = decodedOrNull(f[ix.cookie]);
  req.edgeLocation = dash(f[ix.edge]);
  req.cacheResult = dash(f[ix.result]);
  return req;
}
