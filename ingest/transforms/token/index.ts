/**
 * Token identity: finds the playback token of a request (query parameter, header or cookie, in
 * the source's configured order), reads what it says (Akamai EdgeAuth id / exp, CloudFront signed
 * URL expiry, JWT sub / exp / jti, Common Access Token sub / exp / cti / catreplay / catnip) and
 * returns its keyed hash (core/token-hash.ts). The raw token never leaves this function; dead-letter
 * lines go through {@link redactLine}, which replaces tokens with the same keyed hash.
 */
import type { TokenHasher } from '../../../core/token-hash.ts';
import { decodeCat } from './cat.ts';
import type { TokenConfig, TokenLocation } from './config.ts';
import { parseEdgeAuth, verifyEdgeAuth } from './edgeauth.ts';
import { decodeJwt, looksLikeJwt } from './jwt.ts';

export type { TokenConfig } from './config.ts';
export { defaultTokenConfig, tokenSection } from './config.ts';

export interface TokenIdentity {
  tokenHash: string;
  tokenKeyId: string;
  /** query, header, cookie (opaque tokens), edgeauth, cloudfront-signed, jwt, cat. */
  tokenKind: string;
  tokenId: string | null;
  tokenExpiresAtMs: number | null;
  catReplay: number | null;
  accountId: string | null;
  /** CAT network binding entries, when the token has them. */
  catNip: string[] | null;
  /** False when keys are configured and the signature / MAC did not verify (claims then dropped). */
  verified: boolean | null;
}

/** Where a request's token may be. Query stays raw (URL-encoded); headers lower-case. */
export interface TokenCarrier {
  query: string | null;
  headers: Readonly<Record<string, string>>;
  cookie: string | null;
}

/** Raw (URL-decoded) value of a query parameter, or null. */
export function queryParam(query: string | null, name: string): string | null {
  if (!query) return null;
  let from = 0;
  while (from <= query.length) {
    const at = query.indexOf(name, from);
    if (at === -1) return null;
    const before = at === 0 ? '&' : query[at - 1];
    if ((before === '&' || before === ';') && query[at + name.length] === '=') {
      const start = at + name.length + 1;
      const end = query.indexOf('&', start);
      const raw = query.slice(start, end === -1 ? undefined : end);
      if (raw === '') return null;
      if (raw.indexOf('%') === -1 && raw.indexOf('+') === -1) return raw;
      try {
        return decodeURIComponent(raw.replace(/\+/g, '%20'));
      } catch {
        return raw;
      }
    }
    from = at + name.length;
  }
  return null;
}

function cookieValue(cookie: string | null, name: string): string | null {
  if (!cookie) return null;
  for (const part of cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      const v = part.slice(eq + 1).trim();
      return v === '' ? null : v;
    }
  }
  return null;
}

function locate(carrier: TokenCarrier, loc: TokenLocation): string | null {
  if (loc.in === 'query') return queryParam(carrier.query, loc.name);
  if (loc.in === 'cookie') return cookieValue(carrier.cookie, loc.name);
  const v = carrier.headers[loc.name.toLowerCase()];
  if (!v) return null;
  return /^bearer\s+/i.test(v) ? v.replace(/^bearer\s+/i, '').trim() || null : v;
}

/** CloudFront signed URL expiry from `Expires` or the custom `Policy`. */
function cloudFrontExpiry(carrier: TokenCarrier): number | null {
  const expires = queryParam(carrier.query, 'Expires') ?? cookieValue(carrier.cookie, 'CloudFront-Expires');
  if (expires && /^\d{1,12}$/.test(expires)) return Number(expires) * 1000;
  const policy = queryParam(carrier.query, 'Policy') ?? cookieValue(carrier.cookie, 'CloudFront-Policy');
  if (!policy) return null;
  try {
    // CloudFront's URL-safe base64: + -> -, = -> _, / -> ~.
    const json = Buffer.from(
      policy.replace(/-/g, '+').replace(/_/g, '=').replace(/~/g, '/'),
      'base64',
    ).toString('utf8');
    const parsed = JSON.parse(json) as {
      Statement?: Array<{ Condition?: { DateLessThan?: { 'AWS:EpochTime'?: number } } }>;
    };
    const t = parsed.Statement?.[0]?.Condition?.DateLessThan?.['AWS:EpochTime'];
    return typeof t === 'number' && Number.isFinite(t) ? t * 1000 : null;
  } catch {
    return null;
  }
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : null;
}

/**
 * The token identity of a request, or null when it carries no token. Pure apart from hashing.
 * `raw` is the token as presented (heartbeats pass it directly).
 */
export function identifyToken(
  carrier: TokenCarrier,
  config: TokenConfig,
  hasher: TokenHasher,
  raw: { token: string; kind?: TokenLocation['kind'] } | null = null,
): TokenIdentity | null {
  let token: string | null = raw?.token ?? null;
  let loc: TokenLocation | null = raw ? rawLocation(raw.kind ?? 'auto') : null;
  if (token === null) {
    for (const l of config.locations) {
      const v = locate(carrier, l);
      if (v !== null) {
        token = v;
        loc = l;
        break;
      }
    }
  }
  if (token === null || loc === null) return null;
  // A CloudFront signed URL's expiry is in other query parameters; every other identity depends
  // on the token and its location alone, so it is computed once per token.
  if (loc.kind === 'cloudfront-signed') return readIdentity(token, loc, carrier, config, hasher);
  const cache = identityCache(hasher, config, loc);
  let id = cache.get(token);
  if (id === undefined) {
    id = Object.freeze(readIdentity(token, loc, carrier, config, hasher));
    if (cache.size >= IDENTITY_CACHE_ENTRIES_MAX) cache.clear();
    cache.set(token, id);
  }
  return id;
}

/** Identities of recent tokens, per hasher and source settings: a viewer's token repeats on every segment. */
const IDENTITY_CACHE_ENTRIES_MAX = 100_000;
/**
 * hasher -> source settings -> token location -> token -> identity. The location level is keyed by
 * the configured location object itself, so a lookup builds no composite key string per line. The
 * bound applies per location: a source finds its tokens in one or two of them in practice, so
 * 100k–200k identities per source, at most 11x that with every default location in use.
 */
const identityCaches = new WeakMap<
  TokenHasher,
  WeakMap<TokenConfig, WeakMap<TokenLocation, Map<string, TokenIdentity>>>
>();

function identityCache(
  hasher: TokenHasher,
  config: TokenConfig,
  loc: TokenLocation,
): Map<string, TokenIdentity> {
  let byConfig = identityCaches.get(hasher);
  if (!byConfig) {
    byConfig = new WeakMap();
    identityCaches.set(hasher, byConfig);
  }
  let byLocation = byConfig.get(config);
  if (!byLocation) {
    byLocation = new WeakMap();
    byConfig.set(config, byLocation);
  }
  let cache = byLocation.get(loc);
  if (!cache) {
    cache = new Map();
    byLocation.set(loc, cache);
  }
  return cache;
}

/** The location of a token handed over as such (heartbeats): one constant object per kind, so it caches. */
const rawLocations = new Map<TokenLocation['kind'], TokenLocation>();
function rawLocation(kind: TokenLocation['kind']): TokenLocation {
  let loc = rawLocations.get(kind);
  if (!loc) {
    loc = Object.freeze({ in: 'query', name: 'token', kind }) as TokenLocation;
    rawLocations.set(kind, loc);
  }
  return loc;
}

function readIdentity(
  token: string,
  loc: TokenLocation,
  carrier: TokenCarrier,
  config: TokenConfig,
  hasher: TokenHasher,
): TokenIdentity {
  const { keyId, hash } = hasher.hash(token);
  const id: TokenIdentity = {
    tokenHash: hash,
    tokenKeyId: keyId,
    tokenKind: loc.in,
    tokenId: null,
    tokenExpiresAtMs: null,
    catReplay: null,
    accountId: null,
    catNip: null,
    verified: null,
  };
  const name = loc.name.toLowerCase();
  let kind = loc.kind;
  if (kind === 'auto') {
    if (name === 'hdnts' || name === '__token__') kind = 'edgeauth';
    else if (looksLikeJwt(token)) kind = 'jwt';
    else if (/(?:^|~)exp=\d+/.test(token) && /(?:^|~)hmac=/.test(token)) kind = 'edgeauth';
    else kind = 'opaque';
  }
  switch (kind) {
    case 'edgeauth': {
      const c = parseEdgeAuth(token);
      if (c) {
        id.tokenKind = 'edgeauth';
        const verificationRequired = Object.keys(config.edgeauth.keysHex).length > 0;
        id.verified = verificationRequired ? verifyEdgeAuth(token, config.edgeauth) : null;
        if (verificationRequired && !id.verified) break;
        id.tokenId = c.id;
        id.tokenExpiresAtMs = c.expiresAtMs;
        const field = config.edgeauth.accountField;
        if (field) id.accountId = c[field];
      }
      break;
    }
    case 'cloudfront-signed':
      id.tokenKind = 'cloudfront-signed';
      id.tokenExpiresAtMs = cloudFrontExpiry(carrier);
      break;
    case 'jwt': {
      const j = decodeJwt(token, config.jwt);
      if (!j) break;
      id.tokenKind = 'jwt';
      id.verified = j.verificationRequired ? j.verified : null;
      if (j.verificationRequired && !j.verified) break;
      const exp = num(j.claims.exp);
      id.tokenExpiresAtMs = exp === null ? null : Math.round(exp * 1000);
      id.tokenId = str(j.claims.jti);
      id.accountId = str(j.claims[config.jwt.accountClaim]);
      break;
    }
    case 'cat': {
      const c = decodeCat(token, config.cat.macKeysHex);
      if (!c) break;
      id.tokenKind = 'cat';
      id.verified = c.verificationRequired ? c.verified : null;
      if (c.verificationRequired && !c.verified) break;
      id.tokenId = c.claims.cti;
      id.tokenExpiresAtMs = c.claims.expiresAtMs;
      id.catReplay = c.claims.catreplay;
      id.accountId = c.claims.sub;
      id.catNip = c.claims.catnip;
      break;
    }
    case 'opaque':
      break;
  }
  return id;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const redactorCache = new WeakMap<TokenConfig, RegExp>();
/** Capture groups of the redactor: a (prefix, value) pair per alternative. */
const REDACTOR_GROUPS = 16;

function redactor(config: TokenConfig): RegExp {
  let re = redactorCache.get(config);
  if (re) return re;
  const names = new Set<string>(config.redactNames);
  for (const l of config.locations) names.add(l.name);
  const alt = [...names].map(escapeRe).join('|');
  // name=value in queries / cookies, "name":"value" in JSON, Name: value in header blocks,
  // Bearer credentials, anything shaped like a JWT; then the same inside a path segment
  // (/hdnts=…/), percent-encoded (a referrer's %3Ftoken%3D…%26) and in JSON escaped inside a
  // JSON string (a nested log field). Each alternative is one (prefix, value) group pair.
  re = new RegExp(
    `((?:^|[?&;\\s"'{,])(?:${alt})=)([^&;\\s"',}]+)` +
      `|("(?:${alt})"\\s*:\\s*")((?:[^"\\\\]|\\\\.)*)` +
      `|((?:^|\\s)(?:${alt}):\\s*(?:[Bb]earer\\s+)?)([^\\s]+)` +
      `|([Bb]earer(?:\\s|%20)+)([A-Za-z0-9._~+/=-]+)` +
      // A JWT starts only where a run of base64url characters starts: without the lookbehind,
      // `eyJeyJeyJ…` is tried at every `eyJ`, each attempt scanning the rest (quadratic).
      `|()((?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,}\\.[A-Za-z0-9_-]{2,}\\.[A-Za-z0-9_-]*)` +
      `|(/(?:${alt})(?:=|%3D))([^/?#&;\\s"',}]+)` +
      `|((?:%3F|%26|%3B|%2F|%20|%22)(?:${alt})%3D)((?:[^&;\\s"',}%]|%(?!26|3B|2F|20|22)[0-9A-F]{2})+)` +
      `|(\\\\"(?:${alt})\\\\"\\s*:\\s*\\\\")([^"\\\\]+)`,
    'gi',
  );
  redactorCache.set(config, re);
  return re;
}

/** The line with every token-like value replaced by `lgh:<keyId>:<keyed hash>`. */
export function redactLine(line: string, config: TokenConfig, hasher: TokenHasher): string {
  return line.replace(redactor(config), (...m: unknown[]) => {
    for (let i = 1; i <= REDACTOR_GROUPS; i += 2) {
      const prefix = m[i];
      const value = m[i + 1];
      if (typeof value === 'string' && typeof prefix === 'string') {
        // Hash the decoded value, so a dead letter's hash equals the one a parsed record carries.
        let decoded = value;
        try {
          decoded = decodeURIComponent(value);
        } catch {}
        const h = hasher.hash(decoded);
        return `${prefix}lgh:${h.keyId}:${h.hash}`;
      }
    }
    return String(m[0]);
  });
}
