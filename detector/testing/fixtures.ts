/** Typed record builders for tests, benchmarks and examples: every field present, overridable. */
import type { AccountPlan, CdnRequest, PlayerHeartbeat } from '../../core/schemas/generated.ts';

let seq = 0;

/** A CDN media-segment request with a token, account, network and country. */
export function request(over: Partial<CdnRequest> = {}): CdnRequest {
  seq++;
  return {
    id: `req-${seq}`,
    source: 'test',
    format: 'ndjson',
    tenant: 'acme',
    timestampMs: 1_700_000_000_000,
    receivedAtMs: 1_700_000_000_000,
    accountId: 'acct-1',
    tokenHash: 'tok-1',
    tokenKeyId: 'k1',
    tokenKind: 'query',
    tokenId: null,
    tokenExpiresAtMs: null,
    catReplay: null,
    catNip: null,
    clientIp: '192.0.2.10',
    networkPrefix: '192.0.2.0/24',
    country: 'NL',
    latitude: null,
    longitude: null,
    asn: 64500,
    datacenter: false,
    geoAccuracyKm: null,
    method: 'GET',
    host: 'cdn.example',
    path: '/live/ch1/seg-1.ts',
    status: 200,
    bytes: 100_000,
    userAgent: 'player',
    edgeLocation: 'AMS',
    cacheResult: 'Hit',
    mediaType: 'video',
    contentId: 'ch1',
    segmentNumber: 1,
    segmentDurationMs: 6_000,
    sessionId: null,
    deviceId: null,
    cmcd: null,
    ...over,
  };
}

/** A player heartbeat (event 'heartbeat' unless overridden). */
export function heartbeat(over: Partial<PlayerHeartbeat> = {}): PlayerHeartbeat {
  seq++;
  return {
    id: `hb-${seq}`,
    source: 'player',
    tenant: 'acme',
    event: 'heartbeat',
    timestampMs: 1_700_000_000_000,
    receivedAtMs: 1_700_000_000_000,
    accountId: 'acct-1',
    sessionId: 'sess-1',
    deviceId: 'dev-1',
    contentId: 'ch1',
    tokenHash: null,
    tokenKeyId: null,
    tokenExpiresAtMs: null,
    clientIp: '192.0.2.10',
    networkPrefix: '192.0.2.0/24',
    country: 'NL',
    latitude: null,
    longitude: null,
    asn: 64500,
    datacenter: false,
    geoAccuracyKm: null,
    playheadMs: null,
    bitrateKbps: 3000,
    cmcd: null,
    ...over,
  };
}

export function plan(over: Partial<AccountPlan> = {}): AccountPlan {
  return {
    accountId: 'acct-1',
    tenant: 'acme',
    planId: 'standard',
    streamLimit: 2,
    perTitleLimit: null,
    concurrencyGroups: [],
    updatedAtMs: 1_700_000_000_000,
    ...over,
  };
}
