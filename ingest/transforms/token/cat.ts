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
  /** catnip entries as text: AS<n>, ip:<address>, cidr:<network>/<bits> (see catnipText). */
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

/** CBOR tags of RFC 9164: an IPv4 / IPv6 address or prefix. */
const TAG_IPV4 = 52;
const TAG_IPV6 = 54;

/** Address bytes (trailing zero bytes of a prefix may be left out) as text; null when malformed. */
function ipText(b: Buffer, v6: boolean): string | null {
  const size = v6 ? 16 : 4;
  if (b.length > size) return null;
  const full = Buffer.alloc(size);
  b.copy(full);
  if (!v6) return [...full].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(full.readUInt16BE(i).toString(16));
  return groups.join(':');
}

/**
 * One catnip entry as text: `AS<n>` for an ASN; `ip:<address>` or `cidr:<network>/<bits>` for
 * an RFC 9164 address (tag 52 / 54 on bytes), prefix ([bits, bytes]) or interface ([bytes, bits]:
 * the address with its prefix length); anything else `tag<n>:<hex or JSON>` as given (no rule can match it).
 */
function catnipEntry(e: unknown): string {
  if (typeof e === 'number' || typeof e === 'bigint') return `AS${e}`;
  if (!(e instanceof Tag)) return String(e);
  const v6 = e.tag === TAG_IPV6;
  if (v6 || e.tag === TAG_IPV4) {
    const address = bytes(e.value);
    if (address) {
      const text = address.length === (v6 ? 16 : 4) ? ipText(address, v6) : null;
      if (text) return `ip:${text}`;
    } else if (Array.isArray(e.value) && e.value.length === 2) {
      const [a, b] = e.value as [unknown, unknown];
      const bits = typeof a === 'number' ? a : b;
      const net = bytes(typeof a === 'number' ? b : a);
      const text = net ? ipText(net, v6) : null;
      if (
        typeof bits === 'number' &&
        Number.isInteger(bits) &&
        bits >= 0 &&
        bits <= (v6 ? 128 : 32) &&
        text
      ) {
        return `cidr:${text}/${bits}`;
      }
    }
  }
  return `tag${e.tag}:${asGiven(e.value)}`;
}

/** A CBOR value as text: byte strings as hex (bare, or as JSON strings inside arrays / maps). */
function asGiven(v: unknown): string {
  const b = bytes(v);
  if (b) return b.toString('hex');
  const plain = (x: unknown): unknown =>
    x instanceof Uint8Array
      ? Buffer.from(x).toString('hex')
      : typeof x === 'bigint'
        ? x.toString()
        : Array.isArray(x)
          ? x.map(plain)
          : x;
  return JSON.stringify(plain(v)) ?? String(v);
}

/** The catnip claim's entries as text (see catnipEntry); null when absent or not an array. */
export function catnipText(v: unknown): string[] | null {
  if (!Array.isArray(v)) return null;
  return v.map(catnipEntry);
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
