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
import { emptyRequest, type ParsedRequest, type ParseResult } from '../types.ts';

/** leechguard field -> JSON path. `timestamp` and (`url` or `path`) are required. */
export const fieldMappingSchema = z
  .object({
    timestamp: z.string().default('timestamp'),
    url: z.string().optional(),
    path: z.string().optional(),
    query: z.string().optional(),
    clientIp: z.string().optional(),
    method: z.string().optional(),
    host: z.string().optional(),
    status: z.string().optional(),
    bytes: z.string().optional(),
    userAgent: z.string().optional(),
    referer: z.string().optional(),
    cookie: z.string().optional(),
    country: z.string().optional(),
    asn: z.string().optional(),
    latitude: z.string().optional(),
    longitude: z.string().optional(),
    edgeLocation: z.string().optional(),
    cacheResult: z.string().optional(),
    accountId: z.string().optional(),
    sessionId: z.string().optional(),
    deviceId: z.string().optional(),
    contentId: z.string().optional(),
    /** Header name (lower-case) -> JSON path, e.g. { "cmcd-session": "cmcd_session" }. */
    headers: z.record(z.string(), z.string()).default({}),
  })
  .strict();
export type FieldMapping = z.infer<typeof fieldMappingSchema>;

/** Fastly's commonly documented NDJSON field names. */
export const FASTLY_DEFAULT_MAPPING: FieldMapping = {
  timestamp: 'timestamp',
  url: 'url',
  clientIp: 'client_ip',
  method: 'request_method',
  host: 'host',
  status: 'response_status',
  bytes: 'response_body_size',
  userAgent: 'user_agent',
  referer: 'request_referer',
  country: 'geo_country',
  asn: 'asn',
  latitude: 'geo_latitude',
  longitude: 'geo_longitude',
  edgeLocation: 'server_datacenter',
  cacheResult: 'cache_status',
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
  const get = (o: Record<string, unknown>, path: string | undefined) => (path ? pick(o, path) : undefined);
  for (const { offset, line, value: o } of items) {
    const ts = parseTimeMs(get(o, m.timestamp));
    if (ts === undefined) {
      errors.push({
        offset,
        line,
        code: 'ING_ERR_TIMESTAMP_INVALID',
        reason: `${m.timestamp} is missing or invalid`,
      });
      continue;
    }
    const rawUrl = text(get(o, m.url)) ?? text(get(o, m.path));
    if (rawUrl === null) {
      errors.push({
        offset,
        line,
        code: 'ING_ERR_FIELD_MISSING',
        reason: `${m.url ?? m.path ?? 'url'} is missing`,
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
      errors.push({ offset, line, code: 'ING_ERR_FIELD_INVALID', reason: `${badField} is not a number` });
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
