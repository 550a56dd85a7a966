/**
 * Format: Akamai DataStream 2, JSON lines (one object per request; every value a string; empty
 * fields left out). Fields read: reqTimeSec, cliIP, reqMethod, reqHost, reqPath, queryStr,
 * statusCode, bytes/totalBytes, UA, referer, cookie, country, asn, cacheStatus, edgeIP, reqId.
 * UA, referer and cookie are URL-encoded.
 * https://techdocs.akamai.com/datastream2/docs/data-set-parameters
 */
import { asnOrNull, countryOrNull, intOrNull, parseTimeMs, splitUrl, urlDecode } from '../fields.ts';
import { jsonItems, text } from '../json-lines.ts';
import { emptyRequest, type LineError, type ParsedRequest, type ParseResult } from '../types.ts';

export interface AkamaiDs2Options {
  lineBytesMax?: number;
}

/** Parses one batch of DataStream 2 JSON lines. Never throws. */
export function parseAkamaiDs2(text_: string, options: AkamaiDs2Options = {}): ParseResult<ParsedRequest> {
  const { items, errors } = jsonItems(text_, options);
  const records: ParsedRequest[] = [];
  for (const { offset, line, value: o } of items) {
    const ts = parseTimeMs(o.reqTimeSec);
    if (ts === undefined) {
      errors.push({
        offset,
        line,
        code: 'ING_ERR_TIMESTAMP_INVALID',
        reason: 'reqTimeSec is missing or invalid',
      });
      continue;
    }
    const path = text(o.reqPath);
    if (path === null) {
      errors.push({ offset, line, code: 'ING_ERR_FIELD_MISSING', reason: 'reqPath is missing' });
      continue;
    }
    const req = emptyRequest(offset, line);
    req.timestampMs = ts;
    const url = splitUrl(path.startsWith('/') ? path : `/${path}`);
    req.path = urlDecode(url.path);
    req.query = text(o.queryStr) ?? url.query;
    const status = intOrNull(o.statusCode);
    const bytes = intOrNull(o.bytes ?? o.totalBytes);
    const badField = status === undefined ? 'statusCode' : bytes === undefined ? 'bytes' : null;
    if (badField) {
      errors.push(invalid(offset, line, badField));
      continue;
    }
    req.status = status ?? null;
    req.bytes = bytes ?? null;
    req.clientIp = text(o.cliIP);
    req.method = text(o.reqMethod);
    req.host = text(o.reqHost);
    const ua = text(o.UA);
    req.userAgent = ua === null ? null : urlDecode(ua);
    const referer = text(o.referer);
    req.referer = referer === null ? null : urlDecode(referer);
    const cookie = text(o.cookie);
    req.cookie = cookie === null ? null : urlDecode(cookie);
    req.country = countryOrNull(o.country);
    req.asn = asnOrNull(o.asn);
    req.edgeLocation = text(o.edgeIP);
    const cache = text(o.cacheStatus);
    req.cacheResult = cache === '1' ? 'Hit' : cache === '0' ? 'Miss' : cache;
    records.push(req);
  }
  errors.sort((a, b) => a.offset - b.offset);
  return { records, errors };
}

function invalid(offset: number, line: string, field: string): LineError {
  return { offset, line, code: 'ING_ERR_FIELD_INVALID', reason: `${field} is not a number` };
}
