/** What the HTTP fuzzing sends to each service: its routes, keys and the field names it reads. */
import type { HttpTarget } from './http.ts';

/** Keys of test/integration/ingest/support.ts ingestTestConfig, every role it has. */
const INGEST_KEYS = [
  'backend-key-0123456789',
  'analyst-key-0123456789',
  'cf-std-key-0123456789',
  'cf-rt-key-0123456789',
  'akamai-key-0123456789',
  'fastly-key-0123456789',
  'ndjson-key-0123456789',
  'player-key-0123456789',
];

/** Every role but operator (random policy changes would reach a topic other tests share). */
export const ENFORCER_FUZZ_KEYS = [
  { name: 'alice', key: 'analyst-fuzz-key-0123456789', roles: ['analyst'] },
  { name: 'edge', key: 'edge-fuzz-key-0123456789', roles: ['edge'] },
  { name: 'backend', key: 'backend-fuzz-key-0123456789', roles: ['backend'] },
];

const COMMON_ROUTES = ['GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /openapi.json'];

export function ingestFuzzTarget(url: string): HttpTarget {
  return {
    url,
    routes: [
      ...COMMON_ROUTES,
      'POST /v1/logs/:format',
      'POST /v1/logs/ndjson',
      'POST /v1/logs/cloudfront-standard',
      'POST /v1/logs/akamai-ds2',
      'POST /v1/heartbeats',
      'POST /v1/accounts',
    ],
    keys: INGEST_KEYS,
    fields: [
      'timestamp',
      'url',
      'clientIp',
      'status',
      'bytes',
      'sessionId',
      'accountId',
      'event',
      'token',
      'cmcd',
      'plan',
      'deviceId',
    ],
  };
}

export function enforcerFuzzTarget(url: string): HttpTarget {
  return {
    url,
    routes: [
      ...COMMON_ROUTES,
      'GET /v1/decision',
      'POST /v1/sessions',
      'GET /v1/sessions',
      'PUT /v1/sessions/:id',
      'DELETE /v1/sessions/:id',
      'GET /v1/reviews',
      'GET /v1/reviews/:id',
      'POST /v1/reviews/:id/decision',
      'GET /v1/revocations',
      'GET /v1/revocations/:id',
      'POST /v1/revocations/:id/lift',
      'GET /v1/policies',
      'GET /v1/policies/changes',
      'PUT /v1/policies/rules/:rule',
      'GET /v1/would-have',
      'GET /v1/would-have/:rule/:day',
      'GET /ui/',
    ],
    keys: ENFORCER_FUZZ_KEYS.map((k) => k.key),
    fields: [
      'token',
      'tokenHash',
      'sessionId',
      'accountId',
      'deviceId',
      'contentId',
      'tenant',
      'terminateSessionId',
      'status',
      'rule',
      'limit',
      'decision',
      'reason',
      'policy',
    ],
  };
}
