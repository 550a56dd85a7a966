/**
 * Raw tokens never reach a dead letter: for generated tokens in every position a log line can hold
 * one (query, cookie, header, JSON field at any depth, JSON escaped inside a JSON string, a path
 * segment, a percent-encoded referrer), the redacted line no longer contains the token.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { TokenHasher } from '../../../core/token-hash.ts';
import { tokenSection } from '../../../ingest/transforms/token/config.ts';
import { redactLine } from '../../../ingest/transforms/token/index.ts';

const hasher = new TokenHasher({ currentKeyId: 'k1', keys: { k1: 'r'.repeat(32) } });
const config = tokenSection.parse({});

/** URL-unreserved characters: what signed-URL and opaque tokens are made of. */
const token = fc.stringMatching(/^[A-Za-z0-9._~-]{16,64}$/);
const name = fc.constantFrom('token', 'hdnts', '__token__', 'jwt', 'cat', 'access_token', 'Signature');

/** A position for the token, as a function building the line around it. */
const positions: Array<[string, (n: string, t: string) => string]> = [
  ['query', (n, t) => `GET /live/ch1/seg_1.ts?a=1&${n}=${t}&b=2 HTTP/1.1`],
  ['first query parameter', (n, t) => `/live/ch1/seg_1.ts?${n}=${t}`],
  ['cookie', (n, t) => `cookie: theme=dark; ${n}=${t}; lang=en`],
  ['header block', (n, t) => `x: 1\n${n}: ${t}`],
  ['JSON field', (n, t) => JSON.stringify({ url: '/a.ts', [n]: t })],
  ['nested JSON field', (n, t) => JSON.stringify({ req: { q: { [n]: t } }, ok: 1 })],
  ['nested query string field', (n, t) => JSON.stringify({ req: { query: `x=1&${n}=${t}` } })],
  ['JSON escaped in a JSON string', (n, t) => JSON.stringify({ raw: JSON.stringify({ [n]: t }) })],
  ['path segment', (n, t) => `/media/${n}=${t}/ch1/seg_1.ts`],
  ['path segment, encoded =', (n, t) => `/media/${n}%3D${t}/seg_1.ts`],
  [
    'percent-encoded referrer',
    (n, t) => `referer=${encodeURIComponent(`https://site.example/watch?${n}=${t}&x=1`)}`,
  ],
  ['percent-encoded referrer, last', (n, t) => `ref=https%3A%2F%2Fs.example%2Fw%3Fx%3D1%26${n}%3D${t}`],
  ['bearer credential', (_n, t) => `authorization: Bearer ${t}`],
];

describe('redaction of raw tokens in dead letters', () => {
  for (const [where, build] of positions) {
    it(`removes a token in a ${where}`, () => {
      fc.assert(
        fc.property(name, token, (n, t) => {
          const out = redactLine(build(n, t), config, hasher);
          assert.ok(!out.includes(t), `${out} still holds ${t}`);
          assert.match(out, /lgh:k1:[0-9a-f]{64}/);
        }),
        { numRuns: 200 },
      );
    });
  }

  it('hashes a token the same wherever it stands, so a dead letter matches the records', () => {
    fc.assert(
      fc.property(token, (t) => {
        const hashes = [
          redactLine(`/a.ts?token=${t}`, config, hasher),
          redactLine(`/m/token=${t}/a.ts`, config, hasher),
          redactLine(`r=x%3Ftoken%3D${t}`, config, hasher),
        ].map((l) => /lgh:k1:([0-9a-f]{64})/.exec(l)![1]);
        assert.equal(new Set(hashes).size, 1);
      }),
      { numRuns: 100 },
    );
  });
});
