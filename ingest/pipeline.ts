/**
 * From parsed lines to Kafka-ready records: token identity (keyed hash, never the raw token),
 * enrichment (network prefix, country / ASN, centroid, datacenter flag, media facts, CMCD), the
 * deterministic id and the record key (account, else token hash). Bad lines become dead letters
 * whose raw text is redacted the same way. Pure given its context (hasher, geo resolver, clock
 * value passed in): the HTTP receiver, `ship --to kafka` and backtests all call it.
 */
import { hash } from 'node:crypto';
import type { ErrorCode } from '../core/errors.ts';
import { deterministicId } from '../core/ids.ts';
import { LIMITS } from '../core/limits.ts';
import type { AccountPlan, CdnRequest, DeadLetter, PlayerHeartbeat } from '../core/schemas/generated.ts';
import type { TokenHasher } from '../core/token-hash.ts';
import type { EnrichConfig } from './config.ts';
import type { ParsedHeartbeat } from './sources/heartbeats/index.ts';
import type { LineError, ParsedRequest, ParseResult } from './sources/types.ts';
import { countryCentroid } from './transforms/enrich/centroids.ts';
import { collectCmcd } from './transforms/enrich/cmcd.ts';
import { type GeoResolver, NO_GEO } from './transforms/enrich/geo.ts';
import { type CompiledMedia, compileMedia, mediaInfo } from './transforms/enrich/media.ts';
import { networkPrefix } from './transforms/enrich/network.ts';
import { identifyToken, redactLine, type TokenConfig } from './transforms/token/index.ts';

export interface Keyed<T> {
  key: string;
  value: T;
}

export interface PipelineContext {
  hasher: TokenHasher;
  geo: GeoResolver;
  media: CompiledMedia;
  ipv4PrefixBits: number;
  ipv6PrefixBits: number;
  datacenterAsns: ReadonlySet<number>;
  /** Dead-letter lines are cut to this many chars after redaction. */
  lineBytesMax: number;
}

/** Token hashes kept in memory: a viewer's token repeats on every segment request, HMAC is the cost. */
const TOKEN_HASH_CACHE_ENTRIES_MAX = 100_000;

/**
 * A TokenHasher that remembers recent results (bounded; cleared when full). Raw tokens stay in
 * process memory only, never on disk or in logs.
 */
export function cachingHasher(inner: TokenHasher, entriesMax = TOKEN_HASH_CACHE_ENTRIES_MAX): TokenHasher {
  let cache = new Map<string, { keyId: string; hash: string }>();
  const wrapped = Object.create(inner) as TokenHasher;
  wrapped.hash = (token: string) => {
    let h = cache.get(token);
    if (!h) {
      h = inner.hash(token);
      if (cache.size >= entriesMax) cache = new Map();
      cache.set(token, h);
    }
    return h;
  };
  return wrapped;
}

export function createPipelineContext(
  enrich: EnrichConfig,
  hasherRaw: TokenHasher,
  geo: GeoResolver = NO_GEO,
  lineBytesMax = 32 * 1024,
): PipelineContext {
  return {
    hasher: cachingHasher(hasherRaw),
    geo,
    media: compileMedia(enrich.media),
    ipv4PrefixBits: enrich.ipv4PrefixBits,
    ipv6PrefixBits: enrich.ipv6PrefixBits,
    datacenterAsns: new Set(enrich.datacenterAsns),
    lineBytesMax,
  };
}

/** Who sent a batch and how its tokens are read. */
export interface BatchSource {
  name: string;
  format: string;
  tenant: string;
  token: TokenConfig;
}

export interface BatchMeta {
  batchId: string;
  receivedAtMs: number;
}

export interface BatchOutput<T> {
  records: Array<Keyed<T>>;
  deadLetters: Array<Keyed<DeadLetter>>;
}

/** A batch id that is the same for the same bytes from the same source (replays dedupe). */
export function contentBatchId(source: string, body: string | Buffer): string {
  return deterministicId(source, hash('sha256', body, 'hex'));
}

/** Dead letter for one bad line, its text redacted with the source's token settings. */
export function deadLetter(
  err: { offset: number; line: string; code: ErrorCode | string; reason: string },
  source: BatchSource,
  meta: BatchMeta,
  ctx: PipelineContext,
): Keyed<DeadLetter> {
  const redacted = redactLine(err.line.slice(0, ctx.lineBytesMax), source.token, ctx.hasher);
  return {
    key: source.name,
    value: {
      id: deterministicId(source.name, meta.batchId, err.offset),
      source: source.name,
      format: source.format,
      errorCode: err.code,
      reason: err.reason,
      redactedLine: redacted.slice(0, ctx.lineBytesMax),
      batchId: meta.batchId,
      offsetInBatch: err.offset,
      receivedAtMs: meta.receivedAtMs,
    },
  };
}

interface Geo {
  clientIp: string | null;
  networkPrefix: string | null;
  country: string | null;
  asn: number | null;
  latitude: number | null;
  longitude: number | null;
  geoAccuracyKm: number | null;
  datacenter: boolean;
}

/** Geo answers kept per client address: a viewer sends many requests from one address. */
const GEO_CACHE_ENTRIES_MAX = 100_000;
const geoCaches = new WeakMap<PipelineContext, Map<string, Geo>>();

function enrichGeo(
  ip: string | null,
  logged: { country: string | null; asn: number | null; latitude: number | null; longitude: number | null },
  ctx: PipelineContext,
): Geo {
  // Only lookups that depend on the address alone are cached (the log's own values win anyway).
  if (
    ip !== null &&
    logged.country === null &&
    logged.asn === null &&
    logged.latitude === null &&
    logged.longitude === null
  ) {
    let cache = geoCaches.get(ctx);
    if (!cache) {
      cache = new Map();
      geoCaches.set(ctx, cache);
    }
    let g = cache.get(ip);
    if (!g) {
      g = lookupGeo(ip, logged, ctx);
      if (cache.size >= GEO_CACHE_ENTRIES_MAX) cache.clear();
      cache.set(ip, g);
    }
    return g;
  }
  return lookupGeo(ip, logged, ctx);
}

function lookupGeo(
  ip: string | null,
  logged: { country: string | null; asn: number | null; latitude: number | null; longitude: number | null },
  ctx: PipelineContext,
): Geo {
  const country = logged.country ?? (ip ? ctx.geo.country(ip) : null);
  const asn = logged.asn ?? (ip ? ctx.geo.asn(ip) : null);
  let { latitude, longitude } = logged;
  let geoAccuracyKm: number | null = null;
  if (latitude === null || longitude === null) {
    // A City database's position counts only where it agrees with the country the log or the
    // database gave; else the country's extent is the uncertainty (geoAccuracyKm null).
    const pos = ip ? ctx.geo.position(ip) : null;
    if (pos && (logged.country === null || ctx.geo.country(ip as string) === logged.country)) {
      latitude = pos.latitude;
      longitude = pos.longitude;
      geoAccuracyKm = pos.accuracyKm;
    } else {
      const c = countryCentroid(country);
      latitude = c ? c[0] : null;
      longitude = c ? c[1] : null;
    }
  }
  return {
    clientIp: ip,
    networkPrefix: networkPrefix(ip, ctx.ipv4PrefixBits, ctx.ipv6PrefixBits),
    country,
    asn,
    latitude,
    longitude,
    geoAccuracyKm,
    datacenter: asn !== null && ctx.datacenterAsns.has(asn),
  };
}

/** One parsed request as a CdnRequest record. */
export function toCdnRequest(
  p: ParsedRequest,
  source: BatchSource,
  meta: BatchMeta,
  ctx: PipelineContext,
): Keyed<CdnRequest> {
  const token = identifyToken(
    { query: p.query, headers: p.headers, cookie: p.cookie },
    source.token,
    ctx.hasher,
  );
  const geo = enrichGeo(p.clientIp, p, ctx);
  const cmcd = collectCmcd(p.query, p.headers, p.cmcdFields);
  const media = mediaInfo(p.path, ctx.media, cmcd?.ot ?? null);
  const id = deterministicId(source.name, p.line);
  const accountId = p.accountId ?? token?.accountId ?? null;
  const value: CdnRequest = {
    id,
    source: source.name,
    format: source.format,
    tenant: source.tenant,
    timestampMs: p.timestampMs,
    receivedAtMs: meta.receivedAtMs,
    accountId,
    tokenHash: token?.tokenHash ?? null,
    tokenKeyId: token?.tokenKeyId ?? null,
    tokenKind: token?.tokenKind ?? null,
    tokenId: token?.tokenId ?? null,
    tokenExpiresAtMs: token?.tokenExpiresAtMs ?? null,
    catReplay: token?.catReplay ?? null,
    catNip: token?.catNip ?? null,
    clientIp: geo.clientIp,
    networkPrefix: geo.networkPrefix,
    country: geo.country,
    asn: geo.asn,
    latitude: geo.latitude,
    longitude: geo.longitude,
    geoAccuracyKm: geo.geoAccuracyKm,
    datacenter: geo.datacenter,
    method: p.method,
    host: p.host,
    path: p.path,
    status: p.status,
    bytes: p.bytes,
    userAgent: p.userAgent,
    edgeLocation: p.edgeLocation,
    cacheResult: p.cacheResult,
    mediaType: media.mediaType,
    contentId: p.contentId ?? cmcd?.cid ?? media.contentId,
    segmentNumber: media.segmentNumber,
    segmentDurationMs: cmcd?.d ?? null,
    sessionId: p.sessionId ?? cmcd?.sid ?? null,
    deviceId: p.deviceId,
    cmcd,
  };
  return { key: accountId ?? value.tokenHash ?? value.networkPrefix ?? id, value };
}

/** A parsed batch of log lines as records + dead letters. */
export function buildCdnRequests(
  parsed: ParseResult<ParsedRequest>,
  source: BatchSource,
  meta: BatchMeta,
  ctx: PipelineContext,
): BatchOutput<CdnRequest> {
  const records: Array<Keyed<CdnRequest>> = [];
  const deadLetters: Array<Keyed<DeadLetter>> = [];
  for (const p of parsed.records) {
    if (p.path.length > LIMITS.ingestPathCharsMax) {
      // Checked before any pattern runs on it: the configured segment / content patterns are
      // operator regexes whose cost grows with the path.
      deadLetters.push(
        deadLetter(
          {
            ...p,
            code: 'ING_ERR_FIELD_INVALID',
            reason: `path is ${p.path.length} chars, limit ${LIMITS.ingestPathCharsMax}`,
          },
          source,
          meta,
          ctx,
        ),
      );
      continue;
    }
    try {
      records.push(toCdnRequest(p, source, meta, ctx));
    } catch (err) {
      // A programmer error on one odd line must not take down the batch: dead-letter it, loudly.
      deadLetters.push(
        deadLetter(
          { ...p, code: 'ING_ERR_LINE_MALFORMED', reason: `enrichment failed: ${(err as Error).message}` },
          source,
          meta,
          ctx,
        ),
      );
    }
  }
  for (const e of parsed.errors) deadLetters.push(deadLetter(e, source, meta, ctx));
  return { records, deadLetters };
}

/** Who handed ingest a batch of heartbeats, which decides what of its body is believed. */
export interface HeartbeatSender {
  /**
   * A backend key, a CDN source or operator tooling (ship, quality): the body's `accountId` and
   * `clientIp` are taken as given. A player key ships inside apps and is public, so for it the
   * account comes only from a verified token and the address only from the connection: anyone
   * could otherwise make an innocent account look shared.
   */
  trusted: boolean;
  /** The HTTP peer (the socket, or a configured trusted proxy's header); null off HTTP. */
  peerIp: string | null;
}

/** Files and tools run by the operator: the records say what they say. */
export const OPERATOR_SENDER: HeartbeatSender = Object.freeze({ trusted: true, peerIp: null });

/**
 * How far a player-key sender's clock runs ahead, per session of the batch, ms: the latest time a
 * session's beats carry past the receipt, when that is beyond the tolerance (a beat cannot arrive
 * before it was sent). Queued beats of one session keep their spacing once shifted back by it.
 * A clock behind is not corrected: it cannot be told from beats queued offline and sent late,
 * whose own times are the true ones.
 */
function clockAheadBySession(
  parsed: ParseResult<ParsedHeartbeat>,
  receivedAtMs: number,
  sender: HeartbeatSender,
): Map<string, number> | undefined {
  if (sender.trusted) return undefined;
  let ahead: Map<string, number> | undefined;
  for (const h of parsed.records) {
    const skewMs = (h.timestampMs ?? receivedAtMs) - receivedAtMs;
    if (skewMs > LIMITS.ingestPlayerClockAheadMaxMs && skewMs > (ahead?.get(h.sessionId) ?? 0)) {
      ahead ??= new Map();
      ahead.set(h.sessionId, skewMs);
    }
  }
  return ahead;
}

/** Parsed heartbeats as records + dead letters; what of each body is believed depends on `sender`. */
export function buildHeartbeats(
  parsed: ParseResult<ParsedHeartbeat>,
  source: BatchSource,
  meta: BatchMeta,
  ctx: PipelineContext,
  sender: HeartbeatSender = OPERATOR_SENDER,
): BatchOutput<PlayerHeartbeat> {
  const records: Array<Keyed<PlayerHeartbeat>> = [];
  const deadLetters: Array<Keyed<DeadLetter>> = [];
  const errors: LineError[] = [...parsed.errors];
  const ahead = clockAheadBySession(parsed, meta.receivedAtMs, sender);
  for (const h of parsed.records) {
    const token = h.token
      ? identifyToken({ query: null, headers: {}, cookie: null }, source.token, ctx.hasher, {
          token: h.token,
        })
      : null;
    const accountId = sender.trusted
      ? (h.accountId ?? token?.accountId ?? null)
      : token?.verified === true
        ? token.accountId
        : null;
    if (accountId === null && !sender.trusted && (h.accountId !== null || token?.accountId)) {
      errors.push({
        offset: h.offset,
        line: h.line,
        code: 'ING_ERR_ACCOUNT_UNVERIFIED',
        reason: 'a player key is public: the account must come from a token whose signature verifies',
      });
      continue;
    }
    if (accountId === null) {
      errors.push({
        offset: h.offset,
        line: h.line,
        code: 'ING_ERR_FIELD_MISSING',
        reason: 'accountId is missing (nor in the token)',
      });
      continue;
    }
    // The id is the beat's own (its time as sent), so a batch sent again dedupes; the time is
    // corrected for a clock ahead.
    const stampedMs = h.timestampMs ?? meta.receivedAtMs;
    const timestampMs = stampedMs - (ahead?.get(h.sessionId) ?? 0);
    const geo = enrichGeo(
      sender.trusted ? (h.clientIp ?? sender.peerIp) : sender.peerIp,
      { country: null, asn: null, latitude: null, longitude: null },
      ctx,
    );
    const value: PlayerHeartbeat = {
      id: deterministicId(source.name, h.sessionId, h.event, stampedMs),
      source: source.name,
      tenant: source.tenant,
      event: h.event,
      timestampMs,
      receivedAtMs: meta.receivedAtMs,
      accountId,
      sessionId: h.sessionId,
      deviceId: h.deviceId,
      contentId: h.contentId,
      tokenHash: token?.tokenHash ?? null,
      tokenKeyId: token?.tokenKeyId ?? null,
      tokenExpiresAtMs: token?.tokenExpiresAtMs ?? null,
      ...geo,
      playheadMs: h.playheadMs,
      bitrateKbps: h.bitrateKbps,
      cmcd: h.cmcd,
    };
    records.push({ key: accountId, value });
  }
  errors.sort((a, b) => a.offset - b.offset);
  for (const e of errors) deadLetters.push(deadLetter(e, source, meta, ctx));
  return { records, deadLetters };
}

/** Account plan input (HTTP / import): a plan, or `{ accountId, deleted: true }` for a tombstone. */
export interface AccountChange {
  key: string;
  /** null: tombstone (the account is deleted from the compacted topic). */
  value: AccountPlan | null;
}
