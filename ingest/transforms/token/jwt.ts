/**
 * Format: JSON Web Token (RFC 7519) in compact JWS form, `header.payload.signature` base64url.
 * Claims read: sub (account), exp (s), jti (token id). Verified with node:crypto when keys are
 * configured (HS256/384/512 secrets, RS/PS/ES public keys); unverifiable claims are not trusted.
 */
import { createHmac, createPublicKey, type KeyObject, timingSafeEqual, verify } from 'node:crypto';

export interface JwtKeys {
  hmacSecrets: Readonly<Record<string, string>>;
  publicKeysPem: Readonly<Record<string, string>>;
}

export interface JwtResult {
  claims: Record<string, unknown>;
  /** True when a configured key verified the signature. */
  verified: boolean;
  /** True when keys are configured (then only verified claims may be used). */
  verificationRequired: boolean;
}

const JWT_RE = /^[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*$/;

export function looksLikeJwt(token: string): boolean {
  return token.length < 16_384 && JWT_RE.test(token);
}

function b64json(part: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const HMAC_ALGS: Record<string, string> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };
const SIG_ALGS: Record<string, { hash: string; pss?: boolean; ec?: boolean }> = {
  RS256: { hash: 'sha256' },
  RS384: { hash: 'sha384' },
  RS512: { hash: 'sha512' },
  PS256: { hash: 'sha256', pss: true },
  PS384: { hash: 'sha384', pss: true },
  PS512: { hash: 'sha512', pss: true },
  ES256: { hash: 'sha256', ec: true },
  ES384: { hash: 'sha384', ec: true },
  ES512: { hash: 'sha512', ec: true },
};

const keyCache = new Map<string, KeyObject>();
function publicKey(pem: string): KeyObject {
  let k = keyCache.get(pem);
  if (!k) {
    k = createPublicKey(pem);
    keyCache.set(pem, k);
  }
  return k;
}

/** Decodes (and when keys are configured, verifies) a JWT. null when it is not a JWT. */
export function decodeJwt(token: string, keys: JwtKeys): JwtResult | null {
  if (!looksLikeJwt(token)) return null;
  const [h, p, s] = token.split('.') as [string, string, string];
  const header = b64json(h);
  const claims = b64json(p);
  if (!header || !claims || typeof header.alg !== 'string') return null;
  const alg = header.alg;
  const kid = typeof header.kid === 'string' ? header.kid : '*';
  const hmacCount = Object.keys(keys.hmacSecrets).length;
  const pubCount = Object.keys(keys.publicKeysPem).length;
  const verificationRequired = hmacCount + pubCount > 0;
  if (!verificationRequired) return { claims, verified: false, verificationRequired };
  const signingInput = `${h}.${p}`;
  const sig = Buffer.from(s, 'base64url');
  let verified = false;
  try {
    const hmacHash = HMAC_ALGS[alg];
    if (hmacHash) {
      const secret = keys.hmacSecrets[kid] ?? keys.hmacSecrets['*'];
      if (secret !== undefined) {
        const mac = createHmac(hmacHash, secret).update(signingInput).digest();
        verified = mac.length === sig.length && timingSafeEqual(mac, sig);
      }
    } else {
      const spec = SIG_ALGS[alg];
      const pem = keys.publicKeysPem[kid] ?? keys.publicKeysPem['*'];
      if (spec && pem !== undefined) {
        const key = publicKey(pem);
        verified = verify(
          spec.hash,
          Buffer.from(signingInput),
          spec.ec
            ? { key, dsaEncoding: 'ieee-p1363' }
            : spec.pss
              ? { key, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: 32 }
              : key,
          sig,
        );
      }
    }
  } catch {
    verified = false;
  }
  return { claims, verified, verificationRequired };
}
