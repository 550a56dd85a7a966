import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { CAT } from '@eyevinn/cat';
import { compileWriter } from '../../../core/avro-writer.ts';
import { topicSchemas } from '../../../core/schemas/index.ts';
import { TokenHasher } from '../../../core/token-hash.ts';
import { TOPICS } from '../../../core/topics.ts';
import { enrichSection } from '../../../ingest/config.ts';
import { buildCdnRequests, buildHeartbeats, createPipelineContext } from '../../../ingest/pipeline.ts';
import { parseBatch, parseHeartbeats } from '../../../ingest/sources/index.ts';
import type { GeoResolver } from '../../../ingest/transforms/enrich/geo.ts';
import { tokenSection } from '../../../ingest/transforms/token/config.ts';

const hasher = new TokenHasher({ currentKeyId: 'k1', keys: { k1: 'y'.repeat(32) } });
const geo: GeoResolver = {
  country: (ip) => (ip.startsWith('203.') ? 'FR' : null),
  asn: (ip) => (ip.startsWith('203.') ? 16509 : null),
  position: () => null,
};
const ctx = createPipelineContext(enrichSection.parse({}), hasher, geo);
const source = { name: 'src', format: 'ndjson', tenant: 't1', token: tokenSection.parse({}) };
const meta = { batchId: 'b1', receivedAtMs: 1_763_668_900_000 };

function jwt(claims: Record<string, unknown>): string {
  const h = Buffer.from('{"alg":"HS256"}').toString('base64url');
  const p = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${h}.${p}.${createHmac('sha256', 'k'.repeat(16)).update(`${h}.${p}`).digest('base64url')}`;
}

describe('pipeline: parsed lines to records', () => {
  it('keys by the account from the token, hashes the token, fills geo, centroid and the datacenter flag', () => {
    const line = JSON.stringify({
      timestamp: 1763668800,
      url: `/live/ch1/720p/seg_5.ts?jwt=${jwt({ sub: 'acct-7', jti: 'j' })}`,
      clientIp: '203.0.113.9',
    });
    const out = buildCdnRequests(parseBatch('ndjson', line), source, meta, ctx);
    assert.equal(out.deadLetters.length, 0);
    const { key, value } = out.records[0]!;
    assert.equal(key, 'acct-7');
    assert.equal(value.accountId, 'acct-7');
    assert.equal(value.tokenKind, 'jwt');
    assert.equal(value.tenant, 't1');
    assert.equal(value.country, 'FR');
    assert.equal(value.asn, 16509);
    assert.equal(value.datacenter, true, 'AWS ASN is on the default datacenter list');
    assert.deepEqual([value.latitude, value.longitude], [46.23, 2.21]);
    assert.equal(value.segmentNumber, 5);
    assert.equal(value.contentId, 'ch1');
    assert.ok(!JSON.stringify(value).includes('jwt='), 'the path carries no query, the record no raw token');
  });

  it("carries a Common Access Token's claims: account, cti, catreplay and the catnip networks, and encodes them", async () => {
    const gen = new CAT({ keys: { k: Buffer.alloc(32, 7) } });
    const token = (await gen.generateFromJson(
      { sub: 'acct-cat', exp: 1900000000, cti: '0a0b', catreplay: 1, catnip: [13335, 16509] } as never,
      { type: 'mac', alg: 'HS256', kid: 'k', generateCwtId: false },
    ))!;
    const line = JSON.stringify({
      timestamp: 1763668800,
      url: `/v/seg_2.m4s?cat=${token}`,
      clientIp: '10.1.2.3',
    });
    const { value } = buildCdnRequests(parseBatch('ndjson', line), source, meta, ctx).records[0]!;
    assert.equal(value.tokenKind, 'cat');
    assert.deepEqual(
      [value.accountId, value.tokenId, value.catReplay, value.catNip],
      ['acct-cat', '0a0b', 1, ['AS13335', 'AS16509']],
    );
    const type = topicSchemas().get(TOPICS.requests.name)!.type;
    const buf = Buffer.alloc(8192);
    const bytes = buf.subarray(0, compileWriter(type)!(value, buf, 0));
    assert.deepEqual(bytes, type.toBuffer(value), 'the compiled writer writes the array as avsc does');
    assert.deepEqual((type.fromBuffer(bytes) as typeof value).catNip, ['AS13335', 'AS16509']);
  });

  it('keys by the token hash when the account is unknown, and gives the same id for the same line', () => {
    const line = JSON.stringify({
      timestamp: 1763668800,
      url: '/a/b/seg_1.ts?token=opaque',
      clientIp: '10.0.0.1',
    });
    const a = buildCdnRequests(parseBatch('ndjson', line), source, meta, ctx).records[0]!;
    const b = buildCdnRequests(parseBatch('ndjson', line), source, { ...meta, batchId: 'other' }, ctx)
      .records[0]!;
    assert.equal(a.key, a.value.tokenHash);
    assert.equal(a.value.id, b.value.id);
    assert.equal(a.value.country, null, 'no country from the log nor the resolver');
    assert.equal(a.value.latitude, null);
  });

  it('prefers what the log says over the geo database', () => {
    const line = JSON.stringify({
      timestamp: 1763668800,
      url: '/x.ts',
      clientIp: '203.0.113.9',
      country: 'DE',
      asn: 3320,
    });
    const r = buildCdnRequests(parseBatch('ndjson', line), source, meta, ctx).records[0]!.value;
    assert.deepEqual([r.country, r.asn, r.datacenter], ['DE', 3320, false]);
    assert.deepEqual([r.latitude, r.longitude], [51.17, 10.45], "the logged country's centroid");
  });

  it('mixes logged and looked-up geo per line, whatever the same address said before', () => {
    const lines = [
      { clientIp: '203.0.113.10' },
      { clientIp: '203.0.113.10', country: 'DE' },
      { clientIp: '203.0.113.10', asn: 3320 },
      { clientIp: '203.0.113.10', country: 'DE', asn: 3320 },
      { clientIp: '203.0.113.10' },
    ].map((l) => JSON.stringify({ timestamp: 1763668800, url: '/x.ts', ...l }));
    const out = buildCdnRequests(parseBatch('ndjson', lines.join('\n')), source, meta, ctx).records.map(
      (r) => r.value,
    );
    const geoOf = (r: (typeof out)[0]) => [
      r.networkPrefix,
      r.country,
      r.asn,
      r.datacenter,
      r.latitude,
      r.longitude,
    ];
    assert.deepEqual(geoOf(out[0]!), ['203.0.113.0/24', 'FR', 16509, true, 46.23, 2.21]);
    assert.deepEqual(geoOf(out[1]!), ['203.0.113.0/24', 'DE', 16509, true, 51.17, 10.45]);
    assert.deepEqual(geoOf(out[2]!), ['203.0.113.0/24', 'FR', 3320, false, 46.23, 2.21]);
    assert.deepEqual(geoOf(out[3]!), ['203.0.113.0/24', 'DE', 3320, false, 51.17, 10.45]);
    assert.deepEqual(geoOf(out[4]!), geoOf(out[0]!));
  });

  it('dead-letters with a deterministic id per (source, batch, offset) and the parse error code', () => {
    const out = buildCdnRequests(parseBatch('ndjson', 'garbage?token=raw-secret'), source, meta, ctx);
    const d = out.deadLetters[0]!;
    assert.equal(d.key, 'src');
    assert.equal(d.value.errorCode, 'ING_ERR_JSON_INVALID');
    assert.doesNotMatch(d.value.redactedLine, /raw-secret/);
    const again = buildCdnRequests(parseBatch('ndjson', 'garbage?token=raw-secret'), source, meta, ctx);
    assert.equal(again.deadLetters[0]!.value.id, d.value.id);
  });

  it('heartbeats from a trusted sender: account from the token when absent, receive time when no timestamp, dead letter when no account', () => {
    const lines = [
      JSON.stringify({ sessionId: 's', contentId: 'c', token: jwt({ sub: 'acct-t' }) }),
      JSON.stringify({ sessionId: 's2', contentId: 'c', token: 'opaque' }),
    ].join('\n');
    const out = buildHeartbeats(parseHeartbeats(lines), source, meta, ctx, {
      trusted: true,
      peerIp: '203.0.113.1',
    });
    assert.equal(out.records.length, 1);
    assert.equal(out.records[0]!.key, 'acct-t');
    assert.equal(out.records[0]!.value.timestampMs, meta.receivedAtMs);
    assert.equal(
      out.records[0]!.value.networkPrefix,
      '203.0.113.0/24',
      'peer address when the player sends none',
    );
    assert.equal(out.deadLetters[0]!.value.errorCode, 'ING_ERR_FIELD_MISSING');
  });

  describe('heartbeats sent with a (public) player key', () => {
    const player = { trusted: false, peerIp: '198.51.100.20' };
    const verifying = {
      ...source,
      token: tokenSection.parse({ jwt: { hmacSecrets: { '*': 'k'.repeat(16) } } }),
    };
    const forged = (token: string | undefined) =>
      JSON.stringify({
        event: 'start',
        sessionId: 's-forged',
        contentId: 'c',
        accountId: 'innocent-account',
        clientIp: '203.0.113.66',
        ...(token ? { token } : {}),
      });

    it('a body accountId without a token is not believed: dead letter ING_ERR_ACCOUNT_UNVERIFIED, no record keyed by it', () => {
      const out = buildHeartbeats(parseHeartbeats(forged(undefined)), verifying, meta, ctx, player);
      assert.equal(out.records.length, 0);
      assert.equal(out.deadLetters[0]!.value.errorCode, 'ING_ERR_ACCOUNT_UNVERIFIED');
    });

    it("an unverifiable token's account is not believed either", () => {
      const unsigned = jwt({ sub: 'innocent-account' });
      const out = buildHeartbeats(parseHeartbeats(forged(unsigned)), source, meta, ctx, player);
      assert.equal(out.records.length, 0, 'no key configured: the claims cannot be checked');
      const badSig = `${unsigned.slice(0, -4)}AAAA`;
      const out2 = buildHeartbeats(parseHeartbeats(forged(badSig)), verifying, meta, ctx, player);
      assert.equal(out2.records.length, 0, 'a signature that does not verify');
      assert.equal(out2.deadLetters[0]!.value.errorCode, 'ING_ERR_ACCOUNT_UNVERIFIED');
    });

    it("a verified token's account wins over the body's, and the address is the connection's, not the body's", () => {
      const out = buildHeartbeats(
        parseHeartbeats(forged(jwt({ sub: 'acct-real' }))),
        verifying,
        meta,
        ctx,
        player,
      );
      assert.equal(out.deadLetters.length, 0);
      assert.equal(out.records[0]!.key, 'acct-real');
      assert.equal(out.records[0]!.value.accountId, 'acct-real');
      assert.equal(
        out.records[0]!.value.networkPrefix,
        '198.51.100.0/24',
        'the socket peer, not 203.0.113.66',
      );
    });

    it('a device clock ahead of the receipt is shifted back, per session, keeping queued beats apart; one behind, or a few seconds ahead, is kept', () => {
      const beat = (sessionId: string, timestampMs: number, event = 'heartbeat') =>
        JSON.stringify({ sessionId, event, contentId: 'c', timestampMs, token: jwt({ sub: 'acct-real' }) });
      const r = meta.receivedAtMs;
      const lines = [
        // A clock 5 min ahead, three beats queued 30 s apart: the last one was sent at the receipt.
        beat('ahead', r + 240_000, 'start'),
        beat('ahead', r + 270_000),
        beat('ahead', r + 300_000),
        beat('behind', r - 180_000),
        beat('close', r + 5_000),
      ].join('\n');
      const out = buildHeartbeats(parseHeartbeats(lines), verifying, meta, ctx, player);
      assert.deepEqual(
        out.records.map((x) => x.value.timestampMs),
        [r - 60_000, r - 30_000, r, r - 180_000, r + 5_000],
      );
      assert.equal(new Set(out.records.map((x) => x.value.id)).size, 5, 'distinct beats keep distinct ids');
      // The same batch sent again a second later gives the same ids (dedupe), its times shifted alike.
      const again = buildHeartbeats(
        parseHeartbeats(lines),
        verifying,
        { ...meta, receivedAtMs: r + 1_000 },
        ctx,
        player,
      );
      assert.deepEqual(
        again.records.map((x) => x.value.id),
        out.records.map((x) => x.value.id),
      );
      // A trusted sender (a backend, the operator's files) is believed.
      const trusted = buildHeartbeats(parseHeartbeats(beat('ahead', r + 300_000)), verifying, meta, ctx, {
        trusted: true,
        peerIp: '10.0.0.5',
      });
      assert.equal(trusted.records[0]!.value.timestampMs, r + 300_000);
    });

    it('a trusted backend relay is believed for both', () => {
      const out = buildHeartbeats(parseHeartbeats(forged(undefined)), source, meta, ctx, {
        trusted: true,
        peerIp: '10.0.0.5',
      });
      assert.equal(out.records[0]!.key, 'innocent-account');
      assert.equal(out.records[0]!.value.networkPrefix, '203.0.113.0/24');
    });
  });
});
