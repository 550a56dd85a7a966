/**
 * Format: Akamai EdgeAuth (Token Auth 2.0) tokens, `hdnts` / `__token__`:
 * `[ip=<ip>~][st=<start>~]exp=<epoch s>~acl=<path>[~id=<session id>][~data=<payload>]~hmac=<hex>`
 * (`~` separated; `!` may separate ACL alternatives). With keys configured, the hmac is checked
 * the way Akamai's token generators compute it: HMAC (sha256, sha1 or md5) under the hex-decoded
 * key, over every field before `~hmac=`, then `~salt=<salt>` when a salt is set. A URL-bound token
 * (no `acl`: its hmac also covers the request URL, which is not part of the token) cannot be checked
 * here and counts as unverified.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface EdgeAuthClaims {
  expiresAtMs: number | null;
  id: string | null;
  acl: string | null;
  data: string | null;
}

export function parseEdgeAuth(token: string): EdgeAuthClaims | null {
  if (token.indexOf('=') === -1) return null;
  const out: EdgeAuthClaims = { expiresAtMs: null, id: null, acl: null, data: null };
  let seen = false;
  for (const part of token.split('~')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const k = part.slice(0, eq);
    const v = part.slice(eq + 1);
    if (k === 'exp' && /^\d{1,12}$/.test(v)) out.expiresAtMs = Number(v) * 1000;
    else if (k === 'id') out.id = v || null;
    else if (k === 'acl') out.acl = v || null;
    else if (k === 'data') out.data = v || null;
    else if (k !== 'hmac' && k !== 'st' && k !== 'ip' && k !== 'url') continue;
    seen = true;
  }
  return seen ? out : null;
}

export interface EdgeAuthKeys {
  /** Keys (hex, as Akamai issues them) by name; any one verifying is enough (key rotation). */
  keysHex: Readonly<Record<string, string>>;
  algorithm: 'sha256' | 'sha1' | 'md5';
  /** The generator's salt, or null. */
  salt: string | null;
}

const HMAC_FIELD = '~hmac=';

/** Whether the token's hmac is the one an ACL token generated under one of the keys carries. */
export function verifyEdgeAuth(token: string, keys: EdgeAuthKeys): boolean {
  const at = token.lastIndexOf(HMAC_FIELD);
  if (at <= 0) return false;
  const given = token.slice(at + HMAC_FIELD.length);
  if (given.length === 0 || given.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(given)) return false;
  const fields = token.slice(0, at);
  if (!/(?:^|~)acl=/.test(fields)) return false; // URL-bound: the hmac covers a URL we do not have
  const source = keys.salt === null ? fields : `${fields}~salt=${keys.salt}`;
  const presented = Buffer.from(given, 'hex');
  for (const keyHex of Object.values(keys.keysHex)) {
    const mac = createHmac(keys.algorithm, Buffer.from(keyHex, 'hex')).update(source).digest();
    if (mac.length === presented.length && timingSafeEqual(mac, presented)) return true;
  }
  return false;
}
