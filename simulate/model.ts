/** The simulator's event model: what happened, before it is written in any CDN's log format. */
import type { AccountPlan } from '../core/schemas/generated.ts';

/** CDN log formats the simulator writes (names match ingest's `/v1/logs/:format`). */
export const CDN_FORMATS = ['cloudfront-standard', 'cloudfront-realtime', 'akamai-ds2', 'fastly'] as const;
export type CdnFormat = (typeof CDN_FORMATS)[number];

/** CMCD (CTA-5004) keys a simulated player sends. */
export interface SimCmcd {
  br?: number;
  bl?: number;
  cid?: string;
  d?: number;
  mtp?: number;
  nor?: string;
  ot?: string;
  pr?: number;
  sf?: string;
  sid?: string;
  st?: string;
  su?: boolean;
  tb?: number;
  v?: number;
}

/** One request as the CDN served it. */
export interface SimRequest {
  timestampMs: number;
  cdn: CdnFormat;
  requestId: string;
  clientIp: string;
  clientPort: number;
  country: string;
  city: string;
  asn: number;
  method: 'GET';
  host: string;
  path: string;
  /** Query string without '?', already URL-encoded as sent. */
  query: string;
  status: number;
  bytes: number;
  contentType: string;
  userAgent: string;
  edgeLocation: string;
  cacheResult: 'Hit' | 'Miss' | 'RefreshHit';
  timeTakenMs: number;
  ttfbMs: number;
  cmcd: SimCmcd | null;
  /** Ground truth, never written to the logs. */
  accountId: string;
  /** Tenant whose CDN logs carry the request (ground truth: the log source says it, not the line). */
  tenant: string;
}

export type HeartbeatEventKind = 'start' | 'heartbeat' | 'stop';

/** A player heartbeat as a player posts it to `/v1/heartbeats` (raw token: ingest hashes it). */
export interface SimHeartbeat {
  event: HeartbeatEventKind;
  timestampMs: number;
  tenant: string;
  accountId: string;
  sessionId: string;
  deviceId: string;
  contentId: string;
  token: string;
  clientIp: string;
  playheadMs: number;
  bitrateKbps: number;
  cmcd: SimCmcd;
}

export type SimEvent =
  | { type: 'account'; timestampMs: number; plan: AccountPlan }
  | { type: 'request'; timestampMs: number; request: SimRequest }
  | { type: 'heartbeat'; timestampMs: number; heartbeat: SimHeartbeat };

export const LEGIT_CLASSES = [
  'household',
  'commuter',
  'cgnat',
  'traveller',
  'vpn',
  'family-abroad',
  'ipv6-privacy',
  'mobile-carrier',
  'shared-network',
  'vpn-switcher',
  'border-household',
  'roaming-traveller',
  'satellite-home',
  'in-flight',
  'flight-traveller',
  'corporate-vpn',
  'screen-switcher',
] as const;
export type LegitClass = (typeof LEGIT_CLASSES)[number];
/**
 * The legitimate classes built from published material on real viewers' addresses
 * (legit-classes.ts, docs/simulate.md "Legitimate population: classes and sources"); the others
 * were written beside the detector's rules.
 */
export const MATERIAL_LEGIT_CLASSES: ReadonlySet<LegitClass> = new Set<LegitClass>([
  'ipv6-privacy',
  'mobile-carrier',
  'shared-network',
  'vpn-switcher',
  'border-household',
  'roaming-traveller',
  'satellite-home',
  'in-flight',
  'flight-traveller',
  'corporate-vpn',
  'screen-switcher',
]);
export const ABUSE_CLASSES = [
  'token-resale',
  'restream',
  'credential-sharing',
  'bot',
  'no-session',
  'cat-replay',
] as const;
export type AbuseClass = (typeof ABUSE_CLASSES)[number];
export type ViewerClass = LegitClass | AbuseClass;

/** Detector rules (names as in the Anomaly schema). */
export const RULES = [
  'token-network-spread',
  'geo-spread',
  'impossible-travel',
  'account-concurrency',
  'title-concurrency',
  'group-concurrency',
  'cmcd-concurrency',
  'segment-fanout',
  'request-rate',
  'segment-without-session',
  'datacenter-source',
  'cat-replay',
  'cat-network-binding',
] as const;

/** Ground truth of one account. */
export interface TruthAccount {
  accountId: string;
  /** Tenant the account belongs to (deployment shapes put some accounts in a CDN-logs-only tenant). */
  tenant: string;
  label: 'legit' | 'abuser';
  class: ViewerClass;
  /** Rules expected to flag this account (empty for legitimate ones). */
  expectedRules: string[];
  /** Event time the abuse begins (first request or session past what the plan allows), epoch ms. */
  abuseStartMs: number | null;
  planId: string;
  streamLimit: number;
  /** HMAC-SHA256 hashes (under tokenKeyId) of every token the account's traffic carries. */
  tokenHashes: string[];
  /** What the class implies, measured on the plan: peak concurrent sessions, distinct /24s, countries, clients. */
  facts: {
    sessions: number;
    peakConcurrentSessions: number;
    networks: number;
    countries: number;
    clients: number;
    /** Fastest segment pace relative to real time (1 = real time). */
    paceMax: number;
    heartbeats: boolean;
  };
}

/** The truth file: every account's label, class and expected rules. */
export interface Truth {
  version: 1;
  seed: string;
  startMs: number;
  endMs: number;
  viewers: number;
  abusers: number;
  tokenKeyId: string;
  classCounts: Record<string, number>;
  /** Deployment shape: which tenants send heartbeats, and how late heartbeats arrive (absent in older truth files). */
  deployment?: {
    heartbeats: 'all' | 'some' | 'none';
    heartbeatDelayMs: number;
    tenants: Record<string, { heartbeats: boolean; accounts: number }>;
  };
  accounts: TruthAccount[];
}
