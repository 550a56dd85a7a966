/**
 * Akamai DataStream 2 log line, JSON format: one object per line, every value a string as
 * DataStream sends them, empty fields left out. reqTimeSec is epoch seconds (with milliseconds),
 * reqPath excludes the query, queryStr is the query without '?', UA is URL-encoded, cacheStatus
 * 1 = served from cache.
 */
import type { SimRequest } from '../model.ts';

/** Content provider code of the simulated property. */
const CP_CODE = '1234567';

const uaMemo = new Map<string, string>();

/** Our values never need JSON escaping (no quotes, backslashes or controls); checked, not assumed. */
function needsEscape(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c) return true;
  }
  return false;
}

export function formatAkamaiDs2(r: SimRequest): string {
  const hit = r.cacheResult !== 'Miss';
  let ua = uaMemo.get(r.userAgent);
  if (ua === undefined) {
    ua = encodeURIComponent(r.userAgent);
    if (uaMemo.size < 1024) uaMemo.set(r.userAgent, ua);
  }
  const line =
    `{"version":"1","cp":"${CP_CODE}","reqId":"${r.requestId}","reqTimeSec":"${(r.timestampMs / 1000).toFixed(3)}",` +
    `"bytes":"${r.bytes}","cliIP":"${r.clientIp}","statusCode":"${r.status}","proto":"HTTPS","reqHost":"${r.host}",` +
    `"reqMethod":"${r.method}","reqPath":"${r.path}","reqPort":"443","rspContentLen":"${r.bytes}",` +
    `"rspContentType":"${r.contentType}","UA":"${ua}","country":"${r.country}","city":"${r.city.toUpperCase()}",` +
    `"cacheStatus":"${hit ? '1' : '0'}","cacheable":"1",` +
    `"breadcrumbs":"//BC/%5Ba=23.50.55.${r.asn % 250},c=${hit ? 'g' : 'o'},k=0,l=${Math.max(1, Math.round(r.timeTakenMs / 10))}%5D",` +
    `"turnAroundTimeMSec":"${r.ttfbMs}","transferTimeMSec":"${Math.max(0, r.timeTakenMs - r.ttfbMs)}"` +
    (r.query !== '' ? `,"queryStr":"${r.query}"}` : '}');
  if (needsEscape(r.path) || needsEscape(r.query) || needsEscape(r.host)) {
    return `${JSON.stringify(slowRecord(r, ua, hit))}\n`;
  }
  return `${line}\n`;
}

function slowRecord(r: SimRequest, ua: string, hit: boolean): Record<string, string> {
  const record: Record<string, string> = {
    version: '1',
    cp: CP_CODE,
    reqId: r.requestId,
    reqTimeSec: (r.timestampMs / 1000).toFixed(3),
    bytes: String(r.bytes),
    cliIP: r.clientIp,
    statusCode: String(r.status),
    proto: 'HTTPS',
    reqHost: r.host,
    reqMethod: r.method,
    reqPath: r.path,
    reqPort: '443',
    rspContentLen: String(r.bytes),
    rspContentType: r.contentType,
    UA: ua,
    country: r.country,
    city: r.city.toUpperCase(),
    cacheStatus: hit ? '1' : '0',
    cacheable: '1',
    breadcrumbs: `//BC/%5Ba=23.50.55.${r.asn % 250},c=${hit ? 'g' : 'o'},k=0,l=${Math.max(1, Math.round(r.timeTakenMs / 10))}%5D`,
    turnAroundTimeMSec: String(r.ttfbMs),
    transferTimeMSec: String(Math.max(0, r.timeTakenMs - r.ttfbMs)),
  };
  if (r.query !== '') record.queryStr = r.query;
  return record;
}
