/**
 * Fastly real-time log streaming, JSON lines as operators commonly configure them (Fastly's log
 * format is operator-defined; ingest reads it through a field mapping): client_ip, geo_country,
 * url (path and query), request_method, user_agent, response_status, timestamp (ISO 8601 UTC),
 * plus host, response_body_size and cache_status.
 */
import type { SimRequest } from '../model.ts';

export function formatFastly(r: SimRequest): string {
  return `${JSON.stringify({
    timestamp: new Date(r.timestampMs).toISOString(),
    client_ip: r.clientIp,
    geo_country: r.country,
    host: r.host,
    url: r.query === '' ? r.path : `${r.path}?${r.query}`,
    request_method: r.method,
    user_agent: r.userAgent,
    response_status: r.status,
    response_body_size: r.bytes,
    cache_status: r.cacheResult === 'Miss' ? 'MISS' : 'HIT',
  })}\n`;
}
