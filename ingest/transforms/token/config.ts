/** Token extraction settings of one source (part of ingest/config.ts). */
import { z } from 'zod';

export const TOKEN_KINDS = ['auto', 'opaque', 'edgeauth', 'cloudfront-signed', 'jwt', 'cat'] as const;

export const tokenLocationSchema = z
  .object({
    in: z.enum(['query', 'header', 'cookie']),
    /** Parameter, header (case-insensitive) or cookie name. */
    name: z.string().min(1),
    /** How to read it; `auto` recognises EdgeAuth, JWT and CAT by name and shape. */
    kind: z.enum(TOKEN_KINDS).default('auto'),
  })
  .strict();

export const tokenSection = z
  .object({
    /** Where the token is looked for, first found wins. */
    locations: z.array(tokenLocationSchema).default([
      { in: 'query', name: 'hdnts', kind: 'edgeauth' },
      { in: 'query', name: '__token__', kind: 'edgeauth' },
      { in: 'query', name: 'Signature', kind: 'cloudfront-signed' },
      { in: 'query', name: 'cat', kind: 'cat' },
      { in: 'header', name: 'cta-common-access-token', kind: 'cat' },
      { in: 'query', name: 'token', kind: 'auto' },
      { in: 'query', name: 'jwt', kind: 'jwt' },
      { in: 'header', name: 'authorization', kind: 'auto' },
      { in: 'cookie', name: 'hdnts', kind: 'edgeauth' },
      { in: 'cookie', name: '__token__', kind: 'edgeauth' },
      { in: 'cookie', name: 'CloudFront-Signature', kind: 'cloudfront-signed' },
    ]),
    jwt: z
      .object({
        /** HS256/384/512 secrets by key id (`*` for tokens without kid). When any key is set, only verified claims are used. */
        hmacSecrets: z.record(z.string(), z.string().min(16)).default({}),
        /** RS/ES/PS public keys (PEM) by key id. */
        publicKeysPem: z.record(z.string(), z.string()).default({}),
        /** Claim naming the account. */
        accountClaim: z.string().default('sub'),
      })
      .strict()
      .default({ hmacSecrets: {}, publicKeysPem: {}, accountClaim: 'sub' }),
    edgeauth: z
      .object({
        /**
         * EdgeAuth field holding the account id (e.g. `data`, when the token issuer puts it there);
         * null: EdgeAuth tokens name no account. Set `keysHex` too: the edge logs the requests it
         * refused as well, and an unchecked forged token would name any account it likes.
         */
        accountField: z.enum(['data', 'id']).nullable().default(null),
        /**
         * The EdgeAuth keys (hex) by name, current and retired. When any key is set, only claims of
         * tokens whose hmac verifies are used (URL-bound tokens cannot be checked: unverified).
         */
        keysHex: z.record(z.string(), z.string().regex(/^(?:[0-9a-fA-F]{2})+$/)).default({}),
        /** The token generator's HMAC algorithm. */
        algorithm: z.enum(['sha256', 'sha1', 'md5']).default('sha256'),
        /** The token generator's salt, when it uses one. */
        salt: z.string().min(1).nullable().default(null),
      })
      .strict()
      .default({ accountField: null, keysHex: {}, algorithm: 'sha256', salt: null }),
    cat: z
      .object({
        /** COSE MAC keys (hex) by key id (`*` for any). When any key is set, only verified claims are used. */
        macKeysHex: z.record(z.string(), z.string().regex(/^[0-9a-fA-F]+$/)).default({}),
      })
      .strict()
      .default({ macKeysHex: {} }),
    /** Extra query parameter / JSON field names whose values are redacted in dead letters. */
    redactNames: z
      .array(z.string())
      .default(['token', 'hdnts', '__token__', 'Signature', 'Policy', 'jwt', 'cat', 'access_token']),
  })
  .strict();

export type TokenConfig = z.infer<typeof tokenSection>;
export type TokenLocation = z.infer<typeof tokenLocationSchema>;

/** The defaults, parsed. */
export function defaultTokenConfig(): TokenConfig {
  return tokenSection.parse({});
}
