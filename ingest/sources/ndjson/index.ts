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

/** The value at the first of `paths` present (not null / empty) in `o`. */
function pickAny(o: Record<string, unknown>, paths: Path): unknown {
  if (typeof paths === 'string') return pick(o, paths);
  for (const p of paths) {
    const v = pick(o, p);
    if (v !== undefined && v !== null && v !== '' && v !== '-') return v;
  }
  return undefined;
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
  const get = (o: Record<string, unknown>, path: Path | undefined) =>
    path === undefined ? undefined : pickAny(o, path);
  for (const { offset, line, value: o } of items) {
    const ts = parseTimeMs(get(o, m.timestamp));
    if (ts === undefined) {
      errors.push({
        offset,
        line,
        code: 'ING_ERR_TIMESTAMP_INVALID',
        reason: `${names(m.timestamp)} is missing or invalid`,
      });
      continue;
    }
    const rawUrl = text(get(o, m.url)) ?? text(get(o, m.path));
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
    const status = intOrNull(get(o, m.status));
    const bytes = intOrNull(get(o, m.bytes));
    const lat = floatOrNull(get(o, m.latitude));
    const lon = floatOrNull(get(o, m.longitude));
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
    req.query = text(get(o, m.query)) ?? url.query;
    req.host = text(get(o, m.host)) ?? url.host;
    req.status = status ?? null;
    req.bytes = bytes ?? null;
    req.latitude = lat !== null && lat !== undefined && Math.abs(lat) <= 90 ? lat : null;
    req.longitude = lon !== null && lon !== undefined && Math.abs(lon) <= 180 ? lon : null;
    req.clientIp = text(get(o, m.clientIp));
    req.method = text(get(o, m.method));
    req.userAgent = text(get(o, m.userAgent));
    req.referer = text(get(o, m.referer));
    req.cookie = text(get(o, m.cookie));
    req.country = countryOrNull(get(o, m.country));
    req.asn = asnOrNull(get(o, m.asn));
    req.edgeLocation = text(get(o, m.edgeLocation));
    req.cacheResult = text(get(o, m.cacheResult));
    req.accountId = text(get(o, m.accountId));
    req.sessionId = text(get(o, m.sessionId));
    req.deviceId = text(get(o, m.deviceId));
    req.contentId = text(get(o, m.contentId));
    for (const [name, path] of Object.entries(m.headers)) {
      const v = text(pick(o, path));
      if (v !== null) req.headers[name.toLowerCase()] = v;
    }
    records.push(req);
  }
  errors.sort((a, b) => a.offset - b.offset);
  return { records, errors };
}
