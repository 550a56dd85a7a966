import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { CAT } from '@eyevinn/cat';
// Akamai's token generator for Node: the tokens the checks below must accept are made by it.
import EdgeAuth from 'akamai-edgeauth';
import { encode as cborEncode, Tag } from 'cbor-x';
import { TokenHasher } from '../../../core/token-hash.ts';
import { catnipText } from '../../../ingest/transforms/token/cat.ts';
import { tokenSection } from '../../../ingest/transforms/token/config.ts';
import { identifyToken, queryParam, redactLine } from '../../../ingest/transforms/token/index.ts';

const hasher = new TokenHasher({ currentKeyId: 'k1', keys: { k1: 'x'.repeat(32) } });
const defaults = tokenSection.parse({});
const carrier = (
  query: string | null,
  headers: Record<string, string> = {},
  cookie: string | null = null,
) => ({
  query,
  headers,
  cookie,
});

function jwt(claims: Record<string, unknown>, secret: string): string {
  const h = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
  const p = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const s = createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url');
  return `${h}.${p}.${s}`;
}

describe('token identity', () => {
  it('hashes an opaque query token with the current key and never returns it raw', () => {
    const id = identifyToken(carrier('a=1&token=abc%20def'), defaults, hasher)!;
    assert.equal(id.tokenKind, 'query');
    assert.equal(id.tokenKeyId, 'k1');
    assert.equal(id.tokenHash, hasher.hash('abc def').hash, 'hash of the URL-decoded value');
    assert.doesNotMatch(JSON.stringify(id), /abc/);
  });

  it('reads Akamai EdgeAuth hdnts: id and expiry', () => {
    const id = identifyToken(
      carrier('hdnts=exp%3D1763672400~acl%3D%2F*~id%3Dsess-77~hmac%3D0a1b'),
      defaults,
      hasher,
    )!;
    assert.equal(id.tokenKind, 'edgeauth');
    assert.equal(id.tokenId, 'sess-77');
    assert.equal(id.tokenExpiresAtMs, 1763672400000);
  });

  it('reads a token once and answers its repeats from the identity cache, per source settings', () => {
    const q = 'hdnts=exp%3D1763672400~acl%3D%2F*~id%3Dtok-5~data%3Dacct-5~hmac%3D0a1b';
    const first = identifyToken(carrier(q), defaults, hasher)!;
    const again = identifyToken(carrier(`x=1&${q}`), defaults, hasher)!;
    assert.equal(again, first, 'the same identity object');
    assert.ok(Object.isFrozen(first), 'shared identities cannot be changed by a caller');
    // Other settings for the same token: read again under those settings.
    const withData = tokenSection.parse({ edgeauth: { accountField: 'data' } });
    assert.equal(identifyToken(carrier(q), withData, hasher)!.accountId, 'acct-5');
    assert.equal(identifyToken(carrier(q), defaults, hasher)!.accountId, null);
    // Another hasher (key): another hash.
    const other = new TokenHasher({ currentKeyId: 'k2', keys: { k2: 'q'.repeat(32) } });
    assert.notEqual(identifyToken(carrier(q), defaults, other)!.tokenHash, first.tokenHash);
  });

  it('never caches a CloudFront signed identity: its expiry is in other parameters', () => {
    const a = identifyToken(
      carrier('Expires=1900000000&Signature=same~sig&Key-Pair-Id=K2'),
      defaults,
      hasher,
    )!;
    const b = identifyToken(
      carrier('Expires=1900000600&Signature=same~sig&Key-Pair-Id=K2'),
      defaults,
      hasher,
    )!;
    assert.equal(a.tokenHash, b.tokenHash);
    assert.equal(a.tokenExpiresAtMs, 1900000000000);
    assert.equal(b.tokenExpiresAtMs, 1900000600000);
  });

  it('takes the account from an EdgeAuth field only when edgeauth.accountField names it', () => {
    const q = 'hdnts=exp%3D1763672400~acl%3D%2F*~id%3Dtok-1~data%3Dacct-9~hmac%3D0a1b';
    assert.equal(identifyToken(carrier(q), defaults, hasher)!.accountId, null);
    const withData = tokenSection.parse({ edgeauth: { accountField: 'data' } });
    const id = identifyToken(carrier(q), withData, hasher)!;
    assert.equal(id.accountId, 'acct-9');
    assert.equal(id.tokenId, 'tok-1');
  });

  describe('EdgeAuth hmac, with edgeauth.keysHex set (tokens made by akamai-edgeauth)', () => {
    const current = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
    const retired = '00112233445566778899aabbccddeeff';
    const checked = tokenSection.parse({
      edgeauth: { accountField: 'data', keysHex: { current, retired } },
    });
    const made = (key: string, opts: Partial<ConstructorParameters<typeof EdgeAuth>[0]> = {}) =>
      new EdgeAuth({ key, endTime: 1_900_000_000, sessionId: 'tok-7', payload: 'acct-7', ...opts });
    const query = (token: string) => carrier(`x=1&hdnts=${encodeURIComponent(token)}`);

    it('uses the claims of an ACL token generated under a configured key, current or retired', () => {
      for (const key of [current, retired]) {
        const token = made(key, { startTime: 1_800_000_000, ip: '203.0.113.9' }).generateACLToken([
          '/live/*',
          '/vod/*',
        ]);
        const id = identifyToken(query(token), checked, hasher)!;
        assert.equal(id.verified, true, token);
        assert.equal(id.accountId, 'acct-7');
        assert.equal(id.tokenId, 'tok-7');
        assert.equal(id.tokenExpiresAtMs, 1_900_000_000_000);
      }
    });

    it('drops the claims of a forged token (another key, or a field changed after signing), keeps its hash', () => {
      const genuine = made(current).generateACLToken('/live/*');
      const forgedKey = made('ffeeddccbbaa99887766554433221100').generateACLToken('/live/*');
      const editedAccount = genuine.replace('data=acct-7', 'data=victim-1');
      for (const token of [forgedKey, editedAccount]) {
        const id = identifyToken(query(token), checked, hasher)!;
        assert.equal(id.tokenKind, 'edgeauth');
        assert.equal(id.verified, false, token);
        assert.equal(id.accountId, null, 'a forged token names no account');
        assert.equal(id.tokenId, null);
        assert.equal(id.tokenHash, hasher.hash(token).hash, 'the token is still identified by its hash');
      }
      // Without keys, the same forged token's claims are taken as they are (the documented default).
      const unchecked = tokenSection.parse({ edgeauth: { accountField: 'data' } });
      assert.equal(identifyToken(query(editedAccount), unchecked, hasher)!.accountId, 'victim-1');
      assert.equal(identifyToken(query(editedAccount), unchecked, hasher)!.verified, null);
    });

    it('follows the configured algorithm and salt', () => {
      const sha1Salted = tokenSection.parse({
        edgeauth: { accountField: 'data', keysHex: { current }, algorithm: 'sha1', salt: 'pepper' },
      });
      const token = made(current, { algorithm: 'sha1', salt: 'pepper' }).generateACLToken('/live/*');
      assert.equal(identifyToken(query(token), sha1Salted, hasher)!.accountId, 'acct-7');
      assert.equal(
        identifyToken(query(token), checked, hasher)!.verified,
        false,
        'sha256, no salt: no match',
      );
      const noSalt = made(current, { algorithm: 'sha1' }).generateACLToken('/live/*');
      assert.equal(identifyToken(query(noSalt), sha1Salted, hasher)!.verified, false, 'the salt is required');
    });

    it('counts a URL-bound token as unverified: its hmac covers a URL the token does not carry', () => {
      const token = made(current).generateURLToken('/live/seg-1.ts');
      const id = identifyToken(query(token), checked, hasher)!;
      assert.equal(id.verified, false);
      assert.equal(id.accountId, null);
    });

    it('rejects keys that are not hex bytes when the config is read', () => {
      assert.throws(() => tokenSection.parse({ edgeauth: { keysHex: { k: 'abc' } } }), /keysHex/);
      assert.throws(() => tokenSection.parse({ edgeauth: { keysHex: { k: 'zz' } } }), /keysHex/);
    });
  });

  it('finds an uppercase CAT= query parameter when a location names it (names are case-sensitive)', () => {
    const upper = tokenSection.parse({ locations: [{ in: 'query', name: 'CAT', kind: 'cat' }] });
    assert.equal(identifyToken(carrier('cat=zz'), upper, hasher), null);
    assert.equal(identifyToken(carrier('CAT=zz'), upper, hasher)!.tokenHash, hasher.hash('zz').hash);
  });

  it('reads a CloudFront signed URL: Signature is the token, Expires or the custom Policy its expiry', () => {
    const canned = identifyToken(
      carrier('Expires=1900000000&Signature=abc~x_y&Key-Pair-Id=K2'),
      defaults,
      hasher,
    )!;
    assert.equal(canned.tokenKind, 'cloudfront-signed');
    assert.equal(canned.tokenExpiresAtMs, 1900000000000);
    const policy = Buffer.from(
      JSON.stringify({
        Statement: [
          { Resource: 'https://d/*', Condition: { DateLessThan: { 'AWS:EpochTime': 1800000000 } } },
        ],
      }),
    )
      .toString('base64')
      .replace(/\+/g, '-')
      .replace(/=/g, '_')
      .replace(/\//g, '~');
    const custom = identifyToken(carrier(`Policy=${policy}&Signature=zz&Key-Pair-Id=K2`), defaults, hasher)!;
    assert.equal(custom.tokenExpiresAtMs, 1800000000000);
  });

  it('reads JWT sub / exp / jti from a Bearer header when no keys are configured', () => {
    const t = jwt({ sub: 'acct-9', exp: 1800000000, jti: 'j-1' }, 'whatever-secret-000');
    const id = identifyToken(carrier(null, { authorization: `Bearer ${t}` }), defaults, hasher)!;
    assert.deepEqual(
      [id.tokenKind, id.accountId, id.tokenId, id.tokenExpiresAtMs],
      ['jwt', 'acct-9', 'j-1', 1800000000000],
    );
    assert.equal(id.verified, null);
  });

  it('with keys configured, trusts JWT claims only when the signature verifies (HS256 and ES256)', () => {
    const secret = 'shared-secret-0123456789';
    const config = tokenSection.parse({ jwt: { hmacSecrets: { '*': secret } } });
    const good = identifyToken(carrier(`jwt=${jwt({ sub: 'a1' }, secret)}`), config, hasher)!;
    assert.equal(good.verified, true);
    assert.equal(good.accountId, 'a1');
    const forged = identifyToken(
      carrier(`jwt=${jwt({ sub: 'a1' }, 'another-secret-0000000')}`),
      config,
      hasher,
    )!;
    assert.equal(forged.verified, false);
    assert.equal(forged.accountId, null, 'claims of a forged token are dropped');
    assert.match(forged.tokenHash, /^[0-9a-f]{64}$/, 'the token is still identified by its hash');

    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const h = Buffer.from(JSON.stringify({ alg: 'ES256', kid: 'e1' })).toString('base64url');
    const p = Buffer.from(JSON.stringify({ sub: 'a2' })).toString('base64url');
    const s = sign('sha256', Buffer.from(`${h}.${p}`), {
      key: privateKey,
      dsaEncoding: 'ieee-p1363',
    }).toString('base64url');
    const es = tokenSection.parse({
      jwt: { publicKeysPem: { e1: publicKey.export({ type: 'spki', format: 'pem' }) } },
    });
    assert.equal(identifyToken(carrier(`jwt=${h}.${p}.${s}`), es, hasher)!.accountId, 'a2');
  });

  it('reads a Common Access Token made by @eyevinn/cat: sub, exp, cti, catreplay, catnip; verifies its MAC', async () => {
    const keyHex = '403697de87af64611c1d32a05dab0fe1fcb715a86ab435f1ec99192d79569388';
    const gen = new CAT({ keys: { Symmetric256: Buffer.from(keyHex, 'hex') } });
    const token = (await gen.generateFromJson(
      { iss: 'lg', sub: 'acct-cat', exp: 1900000000, cti: '0a0b0c', catreplay: 1, catnip: [13335] } as never,
      { type: 'mac', alg: 'HS256', kid: 'Symmetric256', generateCwtId: false },
    ))!;
    const config = tokenSection.parse({ cat: { macKeysHex: { Symmetric256: keyHex } } });
    const id = identifyToken(carrier(null, { 'cta-common-access-token': token }), config, hasher)!;
    assert.equal(id.tokenKind, 'cat');
    assert.equal(id.verified, true);
    assert.deepEqual(
      [id.accountId, id.tokenExpiresAtMs, id.tokenId, id.catReplay, id.catNip],
      ['acct-cat', 1900000000000, '0a0b0c', 1, ['AS13335']],
    );
    const wrongKey = tokenSection.parse({
      cat: { macKeysHex: { Symmetric256: keyHex.replace('40', '41') } },
    });
    const bad = identifyToken(carrier(`cat=${token}`), wrongKey, hasher)!;
    assert.equal(bad.verified, false);
    assert.equal(bad.accountId, null);
  });

  it('writes catnip entries as AS<n>, ip:<address> and cidr:<address>/<bits> (RFC 9164 tags 52 / 54)', () => {
    const v6 = Buffer.from('20010db8000000000000000000000001', 'hex');
    assert.deepEqual(
      catnipText([
        13335,
        new Tag(Buffer.from([192, 0, 2, 1]), 52),
        new Tag([24, Buffer.from([198, 51, 100])], 52), // prefix: trailing zero bytes left out
        new Tag([Buffer.from([192, 0, 2, 77]), 24], 52), // interface: address and prefix length
        new Tag(v6, 54),
        new Tag([48, Buffer.from('20010db81234', 'hex')], 54),
        new Tag([33, Buffer.from([10])], 52), // 33 bits: not an IPv4 prefix, kept as given
        new Tag(Buffer.from([1, 2, 3]), 52), // a 3-byte address: kept as given
      ]),
      [
        'AS13335',
        'ip:192.0.2.1',
        'cidr:198.51.100.0/24',
        'cidr:192.0.2.77/24',
        'ip:2001:db8:0:0:0:0:0:1',
        'cidr:2001:db8:1234:0:0:0:0:0/48',
        'tag52:[33,"0a"]',
        'tag52:010203',
      ],
    );
    assert.equal(catnipText(13335), null, 'not an array');
    // Integers past 2^53 arrive as BigInt: written out, never a thrown error (a dead-lettered line).
    assert.deepEqual(catnipText([2n ** 40n, new Tag([2n ** 64n - 1n], 99)]), [
      'AS1099511627776',
      'tag99:["18446744073709551615"]',
    ]);
    // Through a whole (unsigned) CAT: the claims ingest puts on the record.
    const claims = new Map<number, unknown>([
      [2, 'acct-nip'],
      [311, [64500, new Tag([22, Buffer.from([198, 51, 100])], 52)]],
    ]);
    const mac0 = new Tag(
      [cborEncode(new Map([[1, 5]])), new Map(), cborEncode(claims), Buffer.alloc(32)],
      17,
    );
    const token = Buffer.from(cborEncode(mac0)).toString('base64url');
    const id = identifyToken(carrier(`cat=${token}`), defaults, hasher)!;
    assert.deepEqual([id.accountId, id.catNip], ['acct-nip', ['AS64500', 'cidr:198.51.100.0/22']]);
  });

  it('follows the configured location order: a cookie token when the query has none', () => {
    const id = identifyToken(
      carrier('x=1', {}, 'a=b; hdnts=exp=1700000000~id=c1~hmac=ff'),
      defaults,
      hasher,
    )!;
    assert.equal(id.tokenKind, 'edgeauth');
    assert.equal(id.tokenId, 'c1');
  });

  it('returns null when the request carries no token', () => {
    assert.equal(identifyToken(carrier('a=1&b=2'), defaults, hasher), null);
  });

  it('queryParam does not match a parameter whose name merely ends with the wanted one', () => {
    assert.equal(queryParam('mytoken=1&token=2', 'token'), '2');
  });
});

describe('dead-letter redaction', () => {
  it('replaces query, JSON, header, Bearer and JWT-shaped tokens by their keyed hash', () => {
    const t = jwt({ sub: 'a' }, 'secret-secret-secret');
    const line = `GET /a.ts?token=raw1&hdnts=exp%3D1~hmac%3Draw2 {"token":"raw3"} Authorization: Bearer raw4 x=${t}`;
    const out = redactLine(line, defaults, hasher);
    for (const raw of ['raw1', 'raw2', 'raw3', 'raw4', t])
      assert.ok(!out.includes(raw), `${raw} leaked: ${out}`);
    assert.ok(
      out.includes(`token=lgh:k1:${hasher.hash('raw1').hash}`),
      'same hash as a parsed record would carry',
    );
  });
});
