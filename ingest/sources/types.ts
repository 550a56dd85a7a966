/**
 * What every log-format parser yields: per line either a {@link ParsedRequest} (fields as the CDN
 * logged them, nothing looked up, nothing hashed) or a {@link LineError} naming an ING_ERR_* code.
 * Parsers are pure: text in, records + per-line errors out; they never throw on input.
 */
import type { ErrorCode } from '../../core/errors.ts';

/** A request as logged, before token identity and enrichment. Query strings are kept raw here. */
export interface ParsedRequest {
  /** Zero-based line number within the batch. */
  offset: number;
  /** The raw line (for the deterministic id and for redacted dead letters). */
  line: string;
  timestampMs: number;
  clientIp: string | null;
  method: string | null;
  host: string | null;
  /** URI path without the query string. */
  path: string;
  /** Raw query string without the leading `?` (may hold tokens; never stored as such). */
  query: string | null;
  status: number | null;
  bytes: number | null;
  userAgent: string | null;
  referer: string | null;
  /** Raw Cookie header (may hold tokens). */
  cookie: string | null;
  /** Request headers the log carries, lower-case names. */
  headers: Record<string, string>;
  edgeLocation: string | null;
  cacheResult: string | null;
  country: string | null;
  asn: number | null;
  latitude: number | null;
  longitude: number | null;
  /**
   * CMCD keys the log carries as separate fields (CloudFront real-time cmcd-*): CMCD key, value,
   * key, value ... (a flat list: built and read once per line, no object per line); null when none.
   */
  cmcdFields: string[] | null;
  accountId: string | null;
  sessionId: string | null;
  deviceId: string | null;
  contentId: string | null;
}

export interface LineError {
  offset: number;
  line: string;
  code: ErrorCode;
  reason: string;
}

export interface ParseResult<T> {
  records: T[];
  errors: LineError[];
}

/** A new request with every optional field empty. */
export function emptyRequest(offset: number, line: string): ParsedRequest {
  return {
    offset,
    line,
    timestampMs: 0,
    clientIp: null,
    method: null,
    host: null,
    path: '/',
    query: null,
    status: null,
    bytes: null,
    userAgent: null,
    referer: null,
    cookie: null,
    headers: {},
    edgeLocation: null,
    cacheResult: null,
    country: null,
    asn: null,
    latitude: null,
    longitude: null,
    cmcdFields: null,
    accountId: null,
    sessionId: null,
    deviceId: null,
    contentId: null,
  };
}
