/**
 * Playback tokens as the CDN sees them in URLs:
 * - `token=<JWT>` (default): HS256 JWT with sub = account id, jti = token id, exp, iat;
 * - `hdnts=exp=..~acl=..~id=<token id>~data=<account id>~hmac=..` (Akamai EdgeAuth style);
 * - `CAT=<base64url CWT>` (CTA-5007 Common Access Token, MAC'd with HS256 by @eyevinn/cat):
 *   sub = account id, cti = token id (hex), exp, iat, catreplay.
 */
import { createHmac } from 'node:crypto';
import { CAT } from '@eyevinn/cat';

export type TokenKind = 'jwt' | 'edgeauth' | 'cat';

export interface IssuedToken {
  kind: TokenKind;
  /** The raw token value (only ever written to the simulated CDN logs and heartbeats). */
  value: string;
  /** Query parameter that carries it. */
  param: 'token' | 'hdnts' | 'CAT';
  tokenId: string;
  accountId: string;
  expiresAtMs: number;
  /** CAT only: 0 reuse allowed, 1 reuse forbidden. */
  catReplay: number | null;
}

function b64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

const JWT_HEADER = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));

export function issueJwt(
  key: string,
  accountId: string,
  tokenId: string,
  iatMs: number,
  expMs: number,
): IssuedToken {
  const payload = b64url(
    JSON.stringify({
      sub: accountId,
      jti: tokenId,
      iat: Math.floor(iatMs / 1000),
      exp: Math.floor(expMs / 1000),
    }),
  );
  const signature = createHmac('sha256', key).update(`${JWT_HEADER}.${payload}`).digest('base64url');
  return {
    kind: 'jwt',
    value: `${JWT_HEADER}.${payload}.${signature}`,
    param: 'token',
    tokenId,
    accountId,
    expiresAtMs: expMs,
    catReplay: null,
  };
}

export function issueEdgeAuth(
  key: string,
  accountId: string,
  tokenId: string,
  acl: string,
  expMs: number,
): IssuedToken {
  const body = `exp=${Math.floor(expMs / 1000)}~acl=${acl}~id=${tokenId}~data=${accountId}`;
  const hmac = createHmac('sha256', key).update(body).digest('hex');
  return {
    kind: 'edgeauth',
    value: `${body}~hmac=${hmac}`,
    param: 'hdnts',
    tokenId,
    accountId,
    expiresAtMs: expMs,
    catReplay: null,
  };
}

/** Makes Common Access Tokens MAC'd under one key id (deterministic for given claims). */
export class CatIssuer {
  private readonly cat: CAT;
  private readonly keyId: string;
  private readonly issuer: string;

  constructor(keyHex: string, keyId: string, issuer: string) {
    this.cat = new CAT({ keys: { [keyId]: Buffer.from(keyHex, 'hex') }, expectCwtTag: true });
    this.keyId = keyId;
    this.issuer = issuer;
  }

  /** tokenId must be hex (the CWT id claim, cti). */
  async issue(
    accountId: string,
    tokenId: string,
    iatMs: number,
    expMs: number,
    catReplay: 0 | 1,
  ): Promise<IssuedToken> {
    const value = await this.cat.generateFromJson(
      {
        iss: this.issuer,
        sub: accountId,
        iat: Math.floor(iatMs / 1000),
        exp: Math.floor(expMs / 1000),
        cti: tokenId,
        catreplay: catReplay,
      },
      { type: 'mac', alg: 'HS256', kid: this.keyId, generateCwtId: false },
    );
    if (!value) throw new Error('CAT generation returned nothing');
    return { kind: 'cat', value, param: 'CAT', tokenId, accountId, expiresAtMs: expMs, catReplay };
  }
}
