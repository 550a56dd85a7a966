/**
 * Properties of the pure input handlers, fuzzed with fast-check: the log / heartbeat / account
 * parsers, the token decoders (JWT, CAT, EdgeAuth), the dead-letter redactor, the CMCD parser and
 * gzip bodies. Each property states what must hold for any input (no throw, a coded error for what
 * cannot be read, no raw token left behind). `npm test` runs each a few hundred times
 * (test/unit/fuzz.test.ts); `npm run fuzz -- --runs N` runs them N times each (scripts/fuzz.ts).
 */
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { ERRORS, LeechguardError } from '../../core/errors.ts';
import { TokenHasher, tokenHashingSection } from '../../core/token-hash.ts';
import { parseAccountsCsv, parseAccountsJson } from '../../ingest/accounts/parse.ts';
import { LOG_FORMATS, parseBatch, parseHeartbeats } from '../../ingest/sources/index.ts';
import {
  cmcdFromQuery,
  emptyCmcd,
  parseCmcdObject,
  parseCmcdText,
} from '../../ingest/transforms/enrich/cmcd.ts';
import { decodeCat } from '../../ingest/transforms/token/cat.ts';
import { parseEdgeAuth, verifyEdgeAuth } from '../../ingest/transforms/token/edgeauth.ts';
import { defaultTokenConfig, identifyToken, redactLine } from '../../ingest/transforms/token/index.ts';
import { decodeJwt, looksLikeJwt } from '../../ingest/transforms/token/jwt.ts';
import { decodeBody } from '../../ingest/workers/job.ts';

/** A named property and how many runs `npm test` gives it (the fuzz script gives each --runs). */
export interface FuzzProperty {
  name: string;
  /** Synchronous (pure) or asynchronous (HTTP); hooks let the fuzz script time each case. */
  // biome-ignore lint/suspicious/noExplicitAny: properties of any arity and argument types
  property: fc.IPropertyWithHooks<any> | fc.IAsyncPropertyWithHooks<any>;
  unitRuns: number;
}

/** Lines that look like log or heartbeat lines: text, binary, tab-separated fields, JSON, known keys. */
const lineish = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc
    .array(
      fc.oneof(
        fc.constant('-'),
        fc.string({ maxLength: 20 }),
        fc.constant('%E0%A4%A'),
        fc.constant('2026-11-20'),
      ),
      {
        maxLength: 40,
      },
    )
    .map((f) => f.join('\t')),
  fc.json().map((j) => j.slice(0, 400)),
  fc
    .dictionary(
      fc.constantFrom(
        'reqTimeSec',
        'reqPath',
        'statusCode',
        'timestamp',
        'url',
        'sessionId',
        'contentId',
        'event',
        'cmcd',
        'bytes',
      ),
      fc.jsonValue(),
    )
    .map((o) => JSON.stringify(o)),
);
/** A batch of up to 20 `lineish` lines. */
export const batchText = fc.array(lineish, { maxLength: 20 }).map((ls) => ls.join('\n'));

function assertCoded(errors: ReadonlyArray<{ code: string }>, prefix: RegExp): void {
  for (const e of errors) {
    assert.ok(e.code in ERRORS, `unknown code ${e.code}`);
    assert.match(e.code, prefix);
  }
}

const base64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
const jsonPart = fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v)).toString('base64url'));
/** Strings shaped like a JWT: random or JSON parts, sometimes a known header. */
const jwtish = fc
  .tuple(
    fc.oneof(
      jsonPart,
      fc.constant(Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')),
      fc.base64String(),
    ),
    fc.oneof(
      jsonPart,
      fc
        .record({
          sub: fc.string(),
          exp: fc.oneof(fc.integer(), fc.string(), fc.double()),
          jti: fc.jsonValue(),
        })
        .map((c) => Buffer.from(JSON.stringify(c)).toString('base64url')),
    ),
    fc.uint8Array({ maxLength: 64 }).map(base64url),
  )
  .map((p) => p.join('.'));

const hasher = new TokenHasher(tokenHashingSection.parse({}));
const tokenConfig = defaultTokenConfig();
/** Token-ish values: no separator the redactor's query form stops at. */
const tokenValue = fc.stringMatching(/^[A-Za-z0-9_~*!-]{12,80}$/);

export const PURE_PROPERTIES: readonly FuzzProperty[] = [
  ...LOG_FORMATS.map(
    (format): FuzzProperty => ({
      name: `parser ${format}: never throws, every line it cannot read has an ING_ERR_* code`,
      unitRuns: 200,
      property: fc.property(batchText, (text) => {
        const r = parseBatch(format, text, { lineBytesMax: 2048 });
        assertCoded(r.errors, /^ING_ERR_/);
      }),
    }),
  ),
  {
    name: 'parser heartbeats: never throws, every bad line has an ING_ERR_* code',
    unitRuns: 200,
    property: fc.property(batchText, (text) =>
      assertCoded(parseHeartbeats(text, { lineBytesMax: 2048 }).errors, /^ING_ERR_/),
    ),
  },
  {
    name: 'parser account changes (JSON, CSV): never throw, every bad line has an ING_ERR_* code',
    unitRuns: 200,
    property: fc.property(batchText, (text) => {
      assertCoded(parseAccountsJson(text, 0).errors, /^ING_ERR_/);
      assertCoded(parseAccountsCsv(text, 0).errors, /^ING_ERR_/);
    }),
  },
  {
    name: 'JWT decoder: never throws; with a secret configured a forged token is never verified',
    unitRuns: 300,
    property: fc.property(fc.oneof(jwtish, fc.string({ maxLength: 200 })), (token) => {
      const open = decodeJwt(token, { hmacSecrets: {}, publicKeysPem: {} });
      if (open !== null) assert.equal(open.verified, false);
      const keyed = decodeJwt(token, { hmacSecrets: { '*': 'a-secret-of-sixteen+' }, publicKeysPem: {} });
      if (keyed !== null) assert.equal(keyed.verified, false, 'a random signature verified');
      if (!looksLikeJwt(token)) assert.equal(open, null);
    }),
  },
  {
    name: 'CAT decoder: never throws on random CBOR or text; with a key set nothing random verifies',
    unitRuns: 300,
    property: fc.property(
      fc.oneof(fc.uint8Array({ maxLength: 200 }).map(base64url), fc.string({ maxLength: 200 })),
      (token) => {
        decodeCat(token, {});
        const keyed = decodeCat(token, { '*': '00112233445566778899aabbccddeeff' });
        if (keyed !== null) assert.equal(keyed.verified, false);
      },
    ),
  },
  {
    name: 'EdgeAuth: parse and verify never throw; a random hmac never verifies',
    unitRuns: 300,
    property: fc.property(
      fc.oneof(
        fc.string({ maxLength: 200 }),
        fc
          .tuple(
            fc.integer(),
            fc.integer(),
            fc.string({ maxLength: 20 }),
            fc.stringMatching(/^[0-9a-f]{0,64}$/),
          )
          .map(([st, exp, acl, hmac]) => `st=${st}~exp=${exp}~acl=${acl}~hmac=${hmac}`),
      ),
      (token) => {
        parseEdgeAuth(token);
        const ok = verifyEdgeAuth(token, {
          keysHex: { current: '00112233445566778899aabbccddeeff' },
          algorithm: 'sha256',
          salt: null,
        });
        assert.equal(ok, false);
      },
    ),
  },
  {
    name: 'token identity: never throws on any query, header or cookie',
    unitRuns: 300,
    property: fc.property(
      fc.record({
        query: fc.oneof(fc.constant(null), fc.string({ maxLength: 200 })),
        token: fc.oneof(jwtish, fc.string({ maxLength: 100 })),
      }),
      ({ query, token }) => {
        identifyToken(
          {
            query: query === null ? null : `${query}&token=${token}`,
            headers: { authorization: `Bearer ${token}` },
            cookie: `hdnts=${token}`,
          },
          tokenConfig,
          hasher,
        );
      },
    ),
  },
  {
    name: 'redactor: a token in a query parameter or a JWT anywhere never survives into the line',
    unitRuns: 300,
    property: fc.property(
      fc.string({ maxLength: 60 }).filter((s) => !/[?&;\s"'{,=]/.test(s)),
      fc.constantFrom(...tokenConfig.redactNames),
      tokenValue,
      fc.string({ maxLength: 60 }),
      (before, name, value, after) => {
        const line = `GET /v/${before}?${name}=${value}&x=1 ${after}`;
        const out = redactLine(line, tokenConfig, hasher);
        assert.ok(!out.includes(`=${value}&`), `${name}=${value} survived`);
      },
    ),
  },
  {
    name: 'redactor: never throws and leaves a line without token names alone',
    unitRuns: 300,
    property: fc.property(fc.string({ maxLength: 300 }), (line) => {
      const out = redactLine(line, tokenConfig, hasher);
      if (!/eyJ|[Bb]earer|token|hdnts|Signature|Policy|jwt|cat|authorization/i.test(line))
        assert.equal(out, line);
    }),
  },
  {
    name: 'CMCD: never throws on text, query or object; a quoted sid reads back as written',
    unitRuns: 300,
    property: fc.property(
      fc.string({ maxLength: 200 }),
      fc.string({ minLength: 1, maxLength: 64 }).filter((s) => !/["\\]/.test(s)),
      fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue()),
      (text, sid, obj) => {
        parseCmcdText(text, emptyCmcd());
        cmcdFromQuery(text);
        parseCmcdObject(obj, emptyCmcd());
        const out = emptyCmcd();
        parseCmcdText(`br=3200,sid="${sid}",bs`, out);
        assert.equal(out.sid, sid);
      },
    ),
  },
  {
    name: 'gzip bodies: any text round-trips; random bytes and oversize bodies get a coded error',
    unitRuns: 200,
    property: fc.property(
      fc.string({ maxLength: 2_000 }),
      fc.uint8Array({ maxLength: 300 }),
      (text, junk) => {
        assert.equal(decodeBody(gzipSync(text), 'gzip', 1 << 20), text);
        const bytes = Buffer.byteLength(text);
        if (bytes > 0) {
          assert.throws(
            () => decodeBody(gzipSync(text), 'gzip', bytes - 1),
            (e: unknown) => e instanceof LeechguardError && e.code === 'LG_ERR_BODY_TOO_LARGE',
          );
        }
        try {
          decodeBody(junk, 'gzip', 1 << 20);
        } catch (e) {
          assert.ok(e instanceof LeechguardError, `not a coded error: ${String(e)}`);
          assert.ok(['LG_ERR_UNSUPPORTED_MEDIA_TYPE', 'LG_ERR_BODY_TOO_LARGE'].includes(e.code));
        }
      },
    ),
  },
];
