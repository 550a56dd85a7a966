/**
 * Small field helpers shared by the parsers: line splitting with the length limit, `-` as empty,
 * tolerant URL-decoding, number and time parsing that report instead of throwing.
 */
import { LIMITS } from '../../core/limits.ts';
import type { LineError, ParsedRequest } from './types.ts';

export interface Line {
  offset: number;
  text: string;
}

export interface SplitOptions {
  lineBytesMax?: number;
}

/**
 * Splits a batch into lines (LF or CRLF), skipping blank ones. Lines over the limit become
 * ING_ERR_LINE_TOO_LONG errors (the line is cut to the limit for the dead letter).
 */
export function splitLines(text: string, options: SplitOptions = {}): { lines: Line[]; errors: LineError[] } {
  const max = options.lineBytesMax ?? LIMITS.ingestLineBytesMax;
  const lines: Line[] = [];
  const errors: LineError[] = [];
  let start = 0;
  let offset = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    let stop = end;
    if (stop > start && text.charCodeAt(stop - 1) === 13) stop -= 1;
    if (stop > start) {
      const s = text.slice(start, stop);
      // Length in chars is a cheap lower bound of bytes; only near the limit do we count bytes.
      if (s.length > max || (s.length * 3 > max && Buffer.byteLength(s) > max)) {
        errors.push({
          offset,
          line: s.slice(0, max),
          code: 'ING_ERR_LINE_TOO_LONG',
          reason: `line is ${Buffer.byteLength(s)} bytes, limit ${max}`,
        });
      } else if (s.trim().length > 0) {
        lines.push({ offset, text: s });
      }
    }
    offset += 1;
    start = end + 1;
  }
  return { lines, errors };
}

/** `-` (and empty) as null. */
export function dash(v: string | undefined): string | null {
  return v === undefined || v === '' || v === '-' ? null : v;
}

/** URL-decoding that keeps the raw text when it is not valid percent-encoding. */
export function urlDecode(v: string): string {
  if (v.indexOf('%') === -1 && v.indexOf('+') === -1) return v;
  try {
    return decodeURIComponent(v.replace(/\+/g, '%20'));
  } catch {
    return v;
  }
}

export function decodedOrNull(v: string | undefined): string | null {
  const d = dash(v);
  return d === null ? null : urlDecode(d);
}

/** Integer or null; `bad` gets the field name when the text is present but not an integer. */
export function intOrNull(v: unknown): number | null | undefined {
  if (v === undefined || v === null || v === '' || v === '-') return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isSafeInteger(n) ? n : undefined;
}

export function floatOrNull(v: unknown): number | null | undefined {
  if (v === undefined || v === null || v === '' || v === '-') return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : undefined;
}

const ZONELESS_ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?$/;

/** Plausible event-time bounds, ms: 2000-01-01 .. 2100-01-01. Outside: a unit mistake. */
const TIME_MS_MIN = 946_684_800_000;
const TIME_MS_MAX = 4_102_444_800_000;

/**
 * Event time from epoch seconds (with fraction), ms, µs or ns, or an ISO-8601 / RFC 3339 text.
 * Returns undefined when absent or implausible.
 */
export function parseTimeMs(v: unknown): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  let ms: number;
  if (typeof v === 'number' || (typeof v === 'string' && /^\d+(\.\d+)?$/.test(v))) {
    const n = Number(v);
    // Seconds have at most 10 integer digits until 2286; then ms (13), µs (16), ns (19 digits).
    ms =
      n < 1e11
        ? Math.round(n * 1000)
        : n < 1e14
          ? Math.round(n)
          : n < 1e17
            ? Math.round(n / 1e3)
            : Math.round(n / 1e6);
  } else if (typeof v === 'string') {
    // A time without a zone is UTC (as CDNs write it), never the machine's local time.
    ms = Date.parse(ZONELESS_ISO_RE.test(v) ? `${v}Z` : v);
  } else {
    return undefined;
  }
  return Number.isFinite(ms) && ms >= TIME_MS_MIN && ms <= TIME_MS_MAX ? ms : undefined;
}

/** Splits a URL or path into path and raw query. */
export function splitUrl(url: string): { path: string; query: string | null; host: string | null } {
  let rest = url;
  let host: string | null = null;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(rest);
  if (scheme) {
    host = scheme[1] ?? null;
    rest = rest.slice(scheme[0].length) || '/';
  }
  const q = rest.indexOf('?');
  const path = q === -1 ? rest : rest.slice(0, q);
  const query = q === -1 ? null : rest.slice(q + 1) || null;
  return { path: path || '/', query, host };
}

/** Country code normalised to upper-case ISO alpha-2, or null. */
export function countryOrNull(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const c = v.trim().toUpperCase();
  return /^[A-Z]{2}$/.test(c) ? c : null;
}

/** ASN from `13335`, `AS13335` or a number. */
export function asnOrNull(v: unknown): number | null {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : null;
  if (typeof v !== 'string') return null;
  const m = /^(?:AS)?(\d{1,10})$/i.exec(v.trim());
  return m ? Number(m[1]) : null;
}

/** Parses `a=b; c=d` cookie text into lower-cased names. */
export function parseCookies(cookie: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  if (!cookie) return out;
  for (const part of cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

/** Sets a numeric field or records why not; returns false when the value was invalid. */
export function setInt(
  req: ParsedRequest,
  key: 'status' | 'bytes' | 'asn',
  raw: unknown,
  field: string,
  bad: string[],
): void {
  const n = intOrNull(raw);
  if (n === undefined) bad.push(field);
  else req[key] = n;
}
