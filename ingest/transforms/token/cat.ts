/**
 * Format: Common Access Token, CTA-5007: a CBOR Web Token (RFC 8392, optional CWT tag 61) in a
 * COSE_Mac0 (tag 17) or COSE_Sign1 (tag 18) envelope, base64url in a query parameter or the
 * `CTA-Common-Access-Token` header. Claims by label (as @eyevinn/cat maps them): sub 2, exp 4,
 * cti 7, catreplay 308, catnip 311. Decoded synchronously with cbor-x (the CBOR library
 * @eyevinn/cat uses); a COSE_Mac0 HMAC-SHA256 tag is verified with node:crypto when keys are
 * configured (MAC_structure of RFC 9052 §6.3), and then only verified claims are trusted.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { claimsToLabels } from '@eyevinn/cat/lib/cat.js';
import { decode, encode, Tag } from 'cbor-x';

const CWT_TAG = 61;
const MAC0_TAG = 17;
const SIGN1_TAG = 18;
const COSE_HEADER_KID = 4;
const COSE_HEADER_ALG = 1;
/** COSE alg ids: 5 HMAC 256/256, 4 HMAC 256/64 (tag truncated to 8 bytes). */
const HMAC_256 = 5;
const HMAC_256_64 = 4;

const L_SUB = claimsToLabels.sub ?? 2;
const L_EXP = claimsToLabels.exp ?? 4;
const L_CTI = claimsToLabels.cti ?? 7;
const L_CATREPLAY = claimsToLabels.catreplay ?? 308;
const L_CATNIP = claimsToLabels.catnip ?? 311;

export interface CatClaims {
  sub: string | null;
  expiresAtMs: number | null;
  /** cti as hex. */
  cti: string | null;
  catreplay: number | null;
  /** catnip entries as text (ASN numbers, or IP / CIDR hex as given). */
  catnip: string[] | null;
}

export interface CatResult {
  claims: CatClaims;
  verified: boolean;
  verificationRequired: boolean;
}

function asMap(v: unknown): Map<unknown, unknown> | null {
  if (v instanceof Map) return v;
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array)) {
    return new Map(Object.entries(v).map(([k, val]) => [Number.isNaN(Number(k)) ? k : Number(k), val]));
  }
  return null;
}

function bytes(v: unknown): Buffer | null {
  return v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : null;
}

function catnipText(v: unknown): string[] | null {
  if (!Array.isArray(v)) return null;
  return v.map((e) => {
    if (typeof e === 'number') return `AS${e}`;
    if (e instanceof Tag) {
      const b = bytes(e.value);
      if (b) return `tag${e.tag}:${b.toString('hex')}`;
      return `tag${e.tag}:${JSON.stringify(e.value)}`;
    }
    return String(e);
  });
}

/** Decodes a base64url CAT; verifies a MAC0 tag when keys are configured. null when not a CAT. */
export function decodeCat(token: string, macKeysHex: Readonly<Record<string, string>>): CatResult | null {
  if (token.length > 16_384 || !/^[A-Za-z0-9_=-]+$/.test(token)) return null;
  let msg: unknown;
  try {
    msg = decode(Buffer.from(token, 'base64url'));
  } catch {
    return null;
  }
  if (msg instanceof Tag && msg.tag === CWT_TAG) msg = msg.value;
  let tag: number | null = null;
  if (msg instanceof Tag) {
    tag = msg.tag;
    msg = msg.value;
  }
  if (!Array.isArray(msg) || msg.length !== 4) return null;
  const [protectedBytes, unprotected, payloadBytes, macOrSig] = msg as unknown[];
  const prot = bytes(protectedBytes);
  // @eyevinn/cat (through cose-js) writes the payload as a text string of hex; RFC 8392 as bytes.
  const payload =
    bytes(payloadBytes) ??
    (typeof payloadBytes === 'string' && /^(?:[0-9a-f]{2})+$/i.test(payloadBytes)
      ? Buffer.from(payloadBytes, 'hex')
      : null);
  const macTag = bytes(macOrSig);
  if (!prot || !payload || !macTag) return null;
  let claimsMap: Map<unknown, unknown> | null;
  let protMap: Map<unknown, unknown> | null;
  try {
    claimsMap = asMap(decode(payload));
    protMap = prot.length > 0 ? asMap(decode(prot)) : new Map();
  } catch {
    return null;
  }
  if (!claimsMap || !protMap) return null;
  const sub = claimsMap.get(L_SUB);
  const exp = claimsMap.get(L_EXP);
  const cti = bytes(claimsMap.get(L_CTI));
  const replay = claimsMap.get(L_CATREPLAY);
  const claims: CatClaims = {
    sub: typeof sub === 'string' ? sub : null,
    expiresAtMs: typeof exp === 'number' && Number.isFinite(exp) ? Math.round(exp * 1000) : null,
    cti: cti ? cti.toString('hex') : null,
    catreplay: typeof replay === 'number' && Number.isInteger(replay) ? replay : null,
    catnip: catnipText(claimsMap.get(L_CATNIP)),
  };
  const verificationRequired = Object.keys(macKeysHex).length > 0;
  if (!verificationRequired) return { claims, verified: false, verificationRequired };
  let verified = false;
  if (tag !== SIGN1_TAG && (tag === MAC0_TAG || tag === null)) {
    const unprot = asMap(unprotected) ?? new Map();
    const kidRaw = unprot.get(COSE_HEADER_KID) ?? protMap.get(COSE_HEADER_KID);
    const kidBytes = bytes(kidRaw);
    const kid = kidBytes ? kidBytes.toString('utf8') : typeof kidRaw === 'string' ? kidRaw : '*';
    const keyHex = macKeysHex[kid] ?? macKeysHex['*'];
    const alg = protMap.get(COSE_HEADER_ALG) ?? unprot.get(COSE_HEADER_ALG);
    if (keyHex !== undefined && (alg === HMAC_256 || alg === HMAC_256_64)) {
      const toBeMaced = encode(['MAC0', prot, Buffer.alloc(0), payloadBytes]);
      let mac = createHmac('sha256', Buffer.from(keyHex, 'hex')).update(toBeMaced).digest();
      if (alg === HMAC_256_64) mac = mac.subarray(0, 8);
      verified = mac.length === macTag.length && timingSafeEqual(mac, macTag);
    }
  }
  return { claims, verified, verificationRequired };
}
