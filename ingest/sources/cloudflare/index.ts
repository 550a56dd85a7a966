/**
 * Format: Cloudflare Logpush, `http_requests` dataset, NDJSON (one object per request, or a JSON
 * array). Fields read: EdgeStartTimestamp (RFC 3339 with or without fraction, Unix seconds, ms or
 * nanoseconds, as a number or a string: every `timestamp_format` a job offers), ClientIP,
 * ClientRequestMethod, ClientRequestHost, ClientRequestURI (path + query; ClientRequestPath when
 * absent), ClientRequestUserAgent, ClientRequestReferer, ClientCountry (lower-case ISO code),
 * ClientASN, EdgeResponseStatus, EdgeResponseBytes, EdgeColoCode, CacheCacheStatus, and the
 * optional RequestHeaders / Cookies objects of a job's custom fields. Absent fields are allowed.
 * https://developers.cloudflare.com/logs/reference/log-fields/zone/http_requests/
 * https://developers.cloudflare.com/logs/reference/log-output-options/
 */
import { asnOrNull, countryOrNull, intOrNull, parseTimeMs, splitUrl, urlDecode } from '../fields.ts';
import { isObject, jsonItems, text } from '../json-lines.ts';
import { emptyRequest, type LineError, type ParsedRequest, type ParseResult } from '../types.ts';

export interface CloudflareOptions {
  lineBytesMax?: number;
}

/** Parses one batch of Logpush http_requests records. Never throws. */
export function parseCloudflare(input: string, options: CloudflareOptions = {}): ParseResult<ParsedRequest> {
  const { items, errors } = jsonItems(input, options);
  const records: ParsedRequest[] = [];
  for (const { offset, line, value: o } of items) {
    const r = parseOne(o, offset, line);
    if ('code' in r) errors.push(r);
    else records.push(r);
  }
  errors.sort((a, b) => a.offset - b.offset);
  return { records, errors };
}

function parseOne(o: Record<string, unknown>, offset: number, line: string): ParsedRequest | LineError {
  const ts = parseTimeMs(o.EdgeStartTimestamp ?? o.EdgeEndTimestamp);
  if (ts === undefined) {
    return {
      offset,
      line,
      code: 'ING_ERR_TIMESTAMP_INVALID',
      reason: 'EdgeStartTimestamp is missing or not RFC 3339 / Unix seconds / ms / ns',
    };
  }
  const uri = text(o.ClientRequestURI) ?? text(o.ClientRequestPath);
  if (uri === null) {
    return { offset, line, code: 'ING_ERR_FIELD_MISSING', reason: 'ClientRequestURI is missing' };
  }
  const url = splitUrl(uri);
  if (!url.path.startsWith('/')) {
    return { offset, line, code: 'ING_ERR_FIELD_INVALID', reason: 'ClientRequestURI is not a path' };
  }
  const status = intOrNull(o.EdgeResponseStatus);
  const bytes = intOrNull(o.EdgeResponseBytes);
  const bad = status === undefined ? 'EdgeResponseStatus' : bytes === undefined ? 'EdgeResponseBytes' : null;
  if (bad) return { offset, line, code: 'ING_ERR_FIELD_INVALID', reason: `${bad} is not a number` };
  const req = emptyRequest(offset, line);
  req.timestampMs = ts;
  req.path = urlDecode(url.path);
  req.query = url.query;
  req.host = text(o.ClientRequestHost) ?? url.host;
  req.status = status ?? null;
  req.bytes = bytes ?? null;
  req.clientIp = text(o.ClientIP);
  req.method = text(o.ClientRequestMethod);
  req.userAgent = text(o.ClientRequestUserAgent);
  req.referer = text(o.ClientRequestReferer);
  req.country = countryOrNull(o.ClientCountry);
  req.asn = asnOrNull(o.ClientASN);
  req.edgeLocation = text(o.EdgeColoCode);
  req.cacheResult = text(o.CacheCacheStatus);
  if (isObject(o.RequestHeaders))
    for (const [k, v] of Object.entries(o.RequestHeaders)) {
      const s = text(v);
      if (s !== null) req.headers[k.toLowerCase()] = s;
    }
  if (isObject(o.Cookies)) {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(o.Cookies)) {
      const s = text(v);
      if (s !== null) parts.push(`${k}=${s}`);
    }
    if (parts.length > 0) req.cookie = parts.join('; ');
  }
  return req;
}
