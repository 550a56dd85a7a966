/**
 * Format: CloudFront's named log fields, shared by the standard log (W3C `#Fields` header, legacy and
 * v2, plain or JSON) and the real-time log (positional, operator-configured order). A field list is
 * compiled once into small integer codes, so a line is a loop over its values with a switch; names
 * are read wherever they sit, unknown names are skipped, and the standard log's `cs(Host)` style and
 * the real-time log's `cs-host` style name the same thing.
 * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logs-reference.html
 * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/real-time-logs.html
 */
import { asnOrNull, countryOrNull, parseTimeMs, urlDecode } from '../fields.ts';
import { emptyRequest, type LineError, type ParsedRequest } from '../types.ts';

/** The cmcd-* field names (real-time logs, standard logging v2) and the CMCD key each carries. */
export const CLOUDFRONT_CMCD_FIELDS: Readonly<Record<string, string>> = {
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

const C_OTHER = 0;
const C_TIMESTAMP = 1;
const C_IP = 2;
const C_STATUS = 3;
const C_BYTES = 4;
const C_METHOD = 5;
const C_HOST = 6;
const C_HOST_HEADER = 7;
const C_STEM = 8;
const C_EDGE = 9;
const C_UA = 10;
const C_REFERER = 11;
const C_COOKIE = 12;
const C_QUERY = 13;
const C_RESULT = 14;
const C_COUNTRY = 15;
const C_ASN = 16;
const C_HEADERS = 17;
const C_DATE = 18;
const C_TIME = 19;
const C_CMCD = 100;

/** Field name -> code. Both spellings: W3C (`cs(User-Agent)`) and real-time (`cs-user-agent`). */
const CODES: Readonly<Record<string, number>> = {
  timestamp: C_TIMESTAMP,
  'timestamp(ms)': C_TIMESTAMP,
  date: C_DATE,
  time: C_TIME,
  'c-ip': C_IP,
  'sc-status': C_STATUS,
  'sc-bytes': C_BYTES,
  'cs-method': C_METHOD,
  'cs-host': C_HOST,
  'cs(Host)': C_HOST,
  'x-host-header': C_HOST_HEADER,
  'cs-uri-stem': C_STEM,
  'x-edge-location': C_EDGE,
  'cs-user-agent': C_UA,
  'cs(User-Agent)': C_UA,
  'cs-referer': C_REFERER,
  'cs(Referer)': C_REFERER,
  'cs-cookie': C_COOKIE,
  'cs(Cookie)': C_COOKIE,
  'cs-uri-query': C_QUERY,
  'x-edge-result-type': C_RESULT,
  'c-country': C_COUNTRY,
  asn: C_ASN,
  'cs-headers': C_HEADERS,
};

export interface CompiledFields {
  names: readonly string[];
  codes: Int32Array;
  cmcdKeys: Array<string | undefined>;
  /** Fields a line must reach to carry its time and path (index of the last of them + 1). */
  requiredCount: number;
  /** Whether the list names a time (timestamp, or date and time) and cs-uri-stem. */
  complete: boolean;
}

const byArray = new WeakMap<readonly string[], CompiledFields>();
/** Header-derived lists repeat per file and per JSON line: cached by their text, bounded. */
const byText = new Map<string, CompiledFields>();
const BY_TEXT_ENTRIES_MAX = 256;

function build(names: readonly string[]): CompiledFields {
  const codes = Int32Array.from(names, (n) => CODES[n] ?? (CLOUDFRONT_CMCD_FIELDS[n] ? C_CMCD : C_OTHER));
  const at = (code: number) => codes.indexOf(code);
  const ts = at(C_TIMESTAMP);
  const date = at(C_DATE);
  const time = at(C_TIME);
  const stem = at(C_STEM);
  const timeReach = ts >= 0 ? ts : Math.max(date, time);
  return {
    names,
    codes,
    cmcdKeys: names.map((n) => CLOUDFRONT_CMCD_FIELDS[n]),
    requiredCount: Math.max(timeReach, stem) + 1,
    complete: stem >= 0 && (ts >= 0 || (date >= 0 && time >= 0)),
  };
}

/** Compiles a field list (cached per array). */
export function compileFields(names: readonly string[]): CompiledFields {
  let c = byArray.get(names);
  if (!c) {
    c = build(names);
    byArray.set(names, c);
  }
  return c;
}

/** Compiles a field list known by its text (a `#Fields` line, a JSON record's keys). */
export function compileFieldsText(key: string, names: () => readonly string[]): CompiledFields {
  let c = byText.get(key);
  if (!c) {
    if (byText.size >= BY_TEXT_ENTRIES_MAX) byText.clear();
    c = build(names());
    byText.set(key, c);
  }
  return c;
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

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME_RE = /^(\d{2}):(\d{2}):(\d{2})(\.\d{1,3})?$/;

function utcMs(date: string | undefined, time: string | undefined): number | undefined {
  const d = date ? DATE_RE.exec(date) : null;
  const t = time ? TIME_RE.exec(time) : null;
  if (!d || !t) return undefined;
  const month = Number(d[2]);
  const hour = Number(t[1]);
  if (month < 1 || month > 12 || hour > 23) return undefined;
  const ms = Date.UTC(Number(d[1]), month - 1, Number(d[3]), hour, Number(t[2]), Number(t[3]));
  return Number.isFinite(ms) ? ms + (t[4] ? Math.round(Number(t[4]) * 1000) : 0) : undefined;
}

function invalid(offset: number, line: string, field: string, what: string): LineError {
  return { offset, line, code: 'ING_ERR_FIELD_INVALID', reason: `${field} ${what}` };
}

/**
 * Reads one line's values `f` by the compiled names. Values past the end of `f` are absent (a line
 * may omit trailing empty fields); values past the end of the list are ignored (fields CloudFront
 * added later). `-` and empty mean absent.
 */
export function readFields(
  f: readonly string[],
  offset: number,
  line: string,
  c: CompiledFields,
): ParsedRequest | LineError {
  const req = emptyRequest(offset, line);
  const { codes, cmcdKeys, names } = c;
  const n = Math.min(codes.length, f.length);
  let ts: number | undefined;
  let date: string | undefined;
  let time: string | undefined;
  let stem = false;
  for (let i = 0; i < n; i++) {
    const code = codes[i]!;
    if (code === C_OTHER) continue;
    const raw = f[i]!;
    if (raw === '-' || raw === '') continue;
    switch (code) {
      case C_TIMESTAMP:
        ts ??= parseTimeMs(raw);
        if (ts === undefined) return timestampError(offset, line, names[i]!);
        break;
      case C_DATE:
        date = raw;
        break;
      case C_TIME:
        time = raw;
        break;
      case C_IP:
        req.clientIp = raw;
        break;
      case C_STATUS:
        if (!/^\d{1,3}$/.test(raw)) return invalid(offset, line, names[i]!, 'is not a number');
        req.status = Number(raw);
        break;
      case C_BYTES:
        if (!/^\d{1,15}$/.test(raw)) return invalid(offset, line, names[i]!, 'is not a number');
        req.bytes = Number(raw);
        break;
      case C_METHOD:
        req.method = raw;
        break;
      case C_HOST:
        req.host ??= raw;
        break;
      case C_HOST_HEADER:
        // What the viewer asked for wins over the distribution's domain.
        req.host = raw;
        break;
      case C_STEM:
        if (raw.charCodeAt(0) !== 47 /* / */) return invalid(offset, line, names[i]!, 'is not a path');
        req.path = urlDecode(raw);
        stem = true;
        break;
      case C_EDGE:
        req.edgeLocation = raw;
        break;
      case C_UA:
        req.userAgent = urlDecode(raw);
        break;
      case C_REFERER:
        req.referer = urlDecode(raw);
        break;
      case C_COOKIE:
        req.cookie = urlDecode(raw);
        break;
      case C_QUERY:
        // The query stays encoded: token extraction decodes each parameter itself.
        req.query = raw;
        break;
      case C_RESULT:
        req.cacheResult = raw;
        break;
      case C_COUNTRY:
        req.country = countryOrNull(raw);
        break;
      case C_ASN:
        req.asn = asnOrNull(raw);
        break;
      case C_HEADERS:
        req.headers = { ...req.headers, ...parseHeaderBlock(raw) };
        break;
      default: {
        const key = cmcdKeys[i];
        if (key) {
          req.cmcdFields ??= [];
          req.cmcdFields.push(key, urlDecode(raw));
        }
      }
    }
  }
  if (ts === undefined) {
    if (date === undefined && time === undefined)
      return timestampError(offset, line, 'timestamp / date and time');
    ts = utcMs(date, time);
    if (ts === undefined)
      return {
        offset,
        line,
        code: 'ING_ERR_TIMESTAMP_INVALID',
        reason: 'date / time is not YYYY-MM-DD HH:MM:SS',
      };
  }
  if (!stem) return { offset, line, code: 'ING_ERR_FIELD_MISSING', reason: 'cs-uri-stem is missing' };
  req.timestampMs = ts;
  return req;
}

function timestampError(offset: number, line: string, field: string): LineError {
  return { offset, line, code: 'ING_ERR_TIMESTAMP_INVALID', reason: `${field} is missing or not a time` };
}
