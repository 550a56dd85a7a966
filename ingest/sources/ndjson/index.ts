/**
 * Format: Fastly real-time log streaming and any NDJSON source, through a declared field mapping.
 * Fastly's log format is operator-defined (VCL), usually NDJSON such as
 * `{"timestamp":"…","client_ip":"…","geo_country":"…","url":"…","request_method":"…",
 *   "user_agent":"…","response_status":200}`; the mapping names, for each leechguard field, the
 * (dotted) JSON path that carries it. `url` may hold path + query; `headers.<name>` map headers.
 * https://docs.fastly.com/en/guides/custom-log-formats
 */
import { z } from 'zod';
import {
  asnOrNull,
  countryOrNull,
  floatOrNull,
  intOrNull,
  parseTimeMs,
  splitUrl,
  urlDecode,
} from '../fields.ts';
import { jsonItems, pick, text } from '../json-lines.ts';

type Path = string | readonly string[];

/** Absent, null, empty and `-` are "not there": the next path of a list is tried. */
function present(v: unknown): boolean {
  return v !== undefined && v !== null && v !== '' && v !== '-';
}

/**
 * A mapping compiled once: each top-level JSON name -> the fields it may fill, with its rank in
 * that field's list (lower wins); dotted paths are read with `pick`. A record is then resolved in
 * one pass over its own keys, however many alternative names the mapping lists.
 */
interface CompiledMapping {
  top: Map<string, Array<{ field: string; rank: number }>>;
  dotted: Array<{ field: string; rank: number; path: string }>;
}

const compiledMappings = new WeakMap<FieldMapping, CompiledMapping>();

function compileMapping(m: FieldMapping): CompiledMapping {
  let c = compiledMappings.get(m);
  if (c) return c;
  c = { top: new Map(), dotted: [] };
  for (const [field, paths] of Object.entries(m)) {
    if (field === 'headers' || paths === undefined) continue;
    const list = typeof paths === 'string' ? [paths] : (paths as readonly string[]);
    list.forEach((path, rank) => {
      if (path.includes('.')) c!.dotted.push({ field, rank, path });
      else {
        const hits = c!.top.get(path) ?? [];
        hits.push({ field, rank });
        c!.top.set(path, hits);
      }
    });
  }
  compiledMappings.set(m, c);
  return c;
}

/** Field -> value of one record: per field, the first of its paths present. */
function resolve(o: Record<string, unknown>, c: CompiledMapping): Record<string, unknown> {
  const vals: Record<string, unknown> = {};
  const ranks: Record<string, number> = {};
  for (const key in o) {
    const hits = c.top.get(key);
    if (hits === undefined) continue;
    const v = o[key];
    if (!present(v)) continue;
    for (const { field, rank } of hits) {
      const seen = ranks[field];
      if (seen === undefined || rank < seen) {
        ranks[field] = rank;
        vals[field] = v;
      }
    }
  }
  for (const { field, rank, path } of c.dotted) {
    const seen = ranks[field];
    if (seen !== undefined && seen < rank) continue;
    const v = pick(o, path);
    if (present(v)) {
      ranks[field] = rank;
      vals[field] = v;
    }
  }
  return vals;
}

function names(paths: Path): string {
  return typeof paths === 'string' ? paths : paths.join(' / ');
}

import { emptyRequest, type ParsedRequest, type ParseResult } from '../types.ts';

/** A JSON path, or several: the first one present in a record wins. */
const pathSchema = z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(8)]);

/** leechguard field -> JSON path(s). `timestamp` and (`url` or `path`) are required. */
export const fieldMappingSchema = z
  .object({
    timestamp: pathSchema.default('timestamp'),
    url: pathSchema.optional(),
    path: pathSchema.optional(),
    query: pathSchema.optional(),
    clientIp: pathSchema.optional(),
    method: pathSchema.optional(),
    host: pathSchema.optional(),
    status: pathSchema.optional(),
    bytes: pathSchema.optional(),
    userAgent: pathSchema.optional(),
    referer: pathSchema.optional(),
    cookie: pathSchema.optional(),
    country: pathSchema.optional(),
    asn: pathSchema.optional(),
    latitude: pathSchema.optional(),
    longitude: pathSchema.optional(),
    edgeLocation: pathSchema.optional(),
    cacheResult: pathSchema.optional(),
    accountId: pathSchema.optional(),
    sessionId: pathSchema.optional(),
    deviceId: pathSchema.optional(),
    contentId: pathSchema.optional(),
    /** Header name (lower-case) -> JSON path, e.g. { "cmcd-session": "cmcd_session" }. */
    headers: z.record(z.string(), z.string()).default({}),
  })
  .strict();
export type FieldMapping = z.infer<typeof fieldMappingSchema>;

/**
 * Fastly's commonly used JSON field names: those of the JSON format Fastly documents for its
 * logging endpoints (`client_ip`, `geo_country_code`, `request`, `host`, `url`, `request_referer`,
 * `request_user_agent`, `cache_status`, ...) and the other usual spellings (`request_method`,
 * `user_agent`, `response_status`, `geo_country`, ...). The first name present wins; a record may
 * carry only some of them (timestamp and url are required).
 */
export const FASTLY_DEFAULT_MAPPING: FieldMapping = {
  timestamp: ['timestamp', 'time', 'time_start', 'start_time'],
  url: ['url', 'request_url', 'req_url', 'uri'],
  path: ['path', 'request_path', 'url_path'],
  query: ['query', 'request_query', 'query_string'],
  clientIp: ['client_ip', 'clientip', 'client_ip_address', 'ip', 'remote_addr'],
  method: ['request_method', 'method', 'request', 'req_method'],
  host: ['host', 'request_host', 'req_host'],
  status: ['response_status', 'status', 'status_code', 'resp_status'],
  bytes: [
    'response_body_size',
    'response_bytes',
    'resp_body_size',
    'body_bytes_sent',
    'bytes',
    'response_size',
  ],
  userAgent: ['request_user_agent', 'user_agent', 'useragent', 'ua'],
  referer: ['request_referer', 'referer', 'referrer'],
  cookie: ['request_cookie', 'cookie'],
  country: ['geo_country_code', 'country_code', 'geo_country', 'country'],
  asn: ['asn', 'geo_asn', 'client_asn', 'client_as_number'],
  latitude: ['geo_latitude', 'latitude'],
  longitude: ['geo_longitude', 'longitude'],
  edgeLocation: ['server_datacenter', 'pop', 'datacenter', 'server_region'],
  cacheResult: ['cache_status', 'fastly_cache_status', 'cache_state'],
  headers: {},
};

/** leechguard's own NDJSON field names (the generic `ndjson` format). */
export const NDJSON_DEFAULT_MAPPING: FieldMapping = {
  timestamp: 'timestamp',
  url: 'url',
  clientIp: 'clientIp',
  method: 'method',
  host: 'host',
  status: 'status',
  bytes: 'bytes',
  userAgent: 'userAgent',
  referer: 'referer',
  cookie: 'cookie',
  country: 'country',
  asn: 'asn',
  latitude: 'latitude',
  longitude: 'longitude',
  edgeLocation: 'edgeLocation',
  cacheResult: 'cacheResult',
  accountId: 'accountId',
  sessionId: 'sessionId',
  deviceId: 'deviceId',
  contentId: 'contentId',
  headers: {},
};

export interface NdjsonOptions {
  mapping?: FieldMapping;
  lineBytesMax?: number;
}

/** Parses NDJSON request logs through a field mapping. Never throws. */
export function parseMappedNdjson(input: string, options: NdjsonOptions = {}): ParseResult<ParsedRequest> {
  const m = options.mapping ?? NDJSON_DEFAULT_MAPPING;
  const { items, errors } = jsonItems(input, options);
  const records: ParsedRequest[] = [];
  const compiled = compileMapping(m);
  for (const { offset, line, value: o } of items) {
    const v = resolve(o, compiled);
    const ts = parseTimeMs(v.timestamp);
    if (ts === undefined) {
      errors.push({
        offset,
        line,
        code: 'ING_ERR_TIMESTAMP_INVALID',
        reason: `${names(m.timestamp)} is missing or invalid`,
      });
      continue;
    }
    const rawUrl = text(v.url) ?? text(v.path);
    if (rawUrl === null) {
      errors.push({
        offset,
        line,
        code: 'ING_ERR_FIELD_MISSING',
        reason: `${names(m.url ?? m.path ?? 'url')} is missing`,
      });
      continue;
    }
    const url = splitUrl(rawUrl);
    if (!url.path.startsWith('/')) {
      errors.push({
        offset,
        line,
        code: 'ING_ERR_FIELD_INVALID',
        reason: 'url is not a path or absolute URL',
      });
      continue;
    }
    const status = intOrNull(v.status);
    const bytes = intOrNull(v.bytes);
    const lat = floatOrNull(v.latitude);
    const lon = floatOrNull(v.longitude);
    const badField =
      status === undefined
        ? m.status
        : bytes === undefined
          ? m.bytes
          : lat === undefined
            ? m.latitude
            : lon === undefined
              ? m.longitude
              : null;
    if (badField) {
      errors.push({
        offset,
        line,
        code: 'ING_ERR_FIELD_INVALID',
        reason: `${names(badField)} is not a number`,
      });
      continue;
    }
    const req = emptyRequest(offset, line);
    req.timestampMs = ts;
    req.path = urlDecode(url.path);
    req.query = text(v.query) ?? url.query;
    req.host = text(v.host) ?? url.host;
    req.status = status ?? null;
    req.bytes = bytes ?? null;
    req.latitude = lat !== null && lat !== undefined && Math.abs(lat) <= 90 ? lat : null;
    req.longitude = lon !== null && lon !== undefined && Math.abs(lon) <= 180 ? lon : null;
    req.clientIp = text(v.clientIp);
    req.method = text(v.method);
    req.userAgent = text(v.userAgent);
    req.referer = text(v.referer);
    req.cookie = text(v.cookie);
    req.country = countryOrNull(v.country);
    req.asn = asnOrNull(v.asn);
    req.edgeLocation = text(v.edgeLocation);
    req.cacheResult = text(v.cacheResult);
    req.accountId = text(v.accountId);
    req.sessionId = text(v.sessionId);
    req.deviceId = text(v.deviceId);
    req.contentId = text(v.contentId);
    for (const [name, path] of Object.entries(m.headers)) {
      const h = text(pick(o, path));
      if (h !== null) req.headers[name.toLowerCase()] = h;
    }
    records.push(req);
  }
  errors.sort((a, b) => a.offset - b.offset);
  return { records, errors };
}
