import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { Endpoints } from '../../../core/endpoints.ts';
import type {
  AccountPlan,
  CdnRequest,
  DeadLetter,
  PlayerHeartbeat,
} from '../../../core/schemas/generated.ts';
import { TOPICS } from '../../../core/topics.ts';
import { type IngestHandle, startIngest } from '../../../ingest/service.ts';
import { testEndpoints } from '../../support/stack.ts';
import { endOffsets, ingestTestConfig, readSince } from './support.ts';

const FIX = join(import.meta.dirname, '..', '..', 'fixtures', 'ingest');
const fixture = (p: string) => readFileSync(join(FIX, p), 'utf8');

let endpoints: Endpoints;
let ingest: IngestHandle;

async function post(
  path: string,
  key: string | null,
  body: string | Buffer,
  headers: Record<string, string> = {},
) {
  const res = await fetch(`${ingest.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain', ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
    body,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

describe('ingest over HTTP into Kafka (real stack)', () => {
  before(async () => {
    endpoints = await testEndpoints();
    ingest = await startIngest(ingestTestConfig(endpoints));
  });
  after(async () => {
    await ingest?.close();
  });

  const cases: Array<[string, string, string, number]> = [
    ['cloudfront-standard', 'cf-std-key-0123456789', 'cloudfront-standard/aws-docs-sample.log', 5],
    ['cloudfront-realtime', 'cf-rt-key-0123456789', 'cloudfront-realtime/video-sample.tsv', 2],
    ['akamai-ds2', 'akamai-key-0123456789', 'akamai-ds2/akamai-docs-sample.ndjson', 2],
    ['fastly', 'fastly-key-0123456789', 'fastly/sample.ndjson', 2],
    ['cloudflare', 'cloudflare-key-0123456789', 'cloudflare/elastic-integrations-http-requests.ndjson', 3],
  ];
  for (const [format, key, file, expected] of cases) {
    it(`${format}: every line is acked on ${TOPICS.requests.name} as a typed CdnRequest before the answer`, async () => {
      const from = await endOffsets(endpoints, TOPICS.requests.name);
      const text = fixture(file);
      const res = await post(`/v1/logs/${format}`, key, gzipSync(text), { 'content-encoding': 'gzip' });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.accepted, expected);
      assert.equal(res.body.deadLettered, 0);
      const got = await readSince<CdnRequest>(
        endpoints,
        TOPICS.requests.name,
        from,
        (r) => r.value?.format === format && r.value.source !== undefined,
        (k) => k.length >= expected,
      );
      assert.equal(got.length, expected);
      for (const r of got) {
        assert.equal(r.value!.format, format);
        assert.equal(typeof r.value!.timestampMs, 'number');
        assert.equal(
          r.key,
          r.value!.accountId ?? r.value!.tokenHash ?? r.value!.networkPrefix ?? r.value!.id,
        );
      }
      if (format === 'cloudfront-realtime') {
        const seg = got.find((r) => r.value!.segmentNumber === 42)!.value!;
        assert.equal(seg.tokenKind, 'edgeauth');
        assert.equal(seg.tokenId, 'tok-9');
        assert.equal(seg.sessionId, '6e2fb550-c457-11e9-bb97-0800200c9a66');
        assert.equal(seg.networkPrefix, '203.0.113.0/24');
        assert.equal(seg.country, 'DE');
        assert.doesNotMatch(JSON.stringify(got), /hmac=abcdef0123/, 'no raw token on Kafka');
      }
    });
  }

  it('heartbeats with a player key cannot name their account: the public key is not believed', async () => {
    const res = await post('/v1/heartbeats', 'player-key-0123456789', fixture('heartbeats/sample.ndjson'));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.accepted, 0);
    assert.deepEqual(
      (res.body.errors as Array<{ code: string }>).map((e) => e.code),
      ['ING_ERR_ACCOUNT_UNVERIFIED', 'ING_ERR_ACCOUNT_UNVERIFIED', 'ING_ERR_ACCOUNT_UNVERIFIED'],
    );
  });

  it('heartbeats relayed by a backend land on player.heartbeats.v1 keyed by account, token hashed', async () => {
    const from = await endOffsets(endpoints, TOPICS.heartbeats.name);
    const res = await post('/v1/heartbeats', 'backend-key-0123456789', fixture('heartbeats/sample.ndjson'));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.accepted, 3);
    const got = await readSince<PlayerHeartbeat>(
      endpoints,
      TOPICS.heartbeats.name,
      from,
      (r) => r.value?.sessionId === 's-1' && r.value.source === 'backend',
      (k) => k.length >= 3,
    );
    assert.deepEqual(got.map((r) => r.value!.event).sort(), ['heartbeat', 'start', 'stop']);
    assert.ok(got.every((r) => r.key === 'acct-1'));
    const start = got.find((r) => r.value!.event === 'start')!.value!;
    assert.match(start.tokenHash!, /^[0-9a-f]{64}$/);
    assert.equal(start.networkPrefix, '203.0.113.0/24');
  });

  it('bad lines land on the dead-letter topic with their code, raw tokens redacted', async () => {
    const from = await endOffsets(endpoints, TOPICS.deadLetters.name);
    const marker = `bad-${Date.now()}`;
    const body = `{"reqTimeSec":"nope","reqPath":"/x?hdnts=exp%3D1~hmac%3Dsecretsecret","m":"${marker}"}\n{"reqTimeSec":"1763668800","reqPath":"/ok.ts"}\n`;
    const res = await post('/v1/logs/akamai-ds2', 'akamai-key-0123456789', body);
    assert.equal(res.status, 200);
    assert.equal(res.body.accepted, 1);
    assert.equal(res.body.deadLettered, 1);
    const got = await readSince<DeadLetter>(
      endpoints,
      TOPICS.deadLetters.name,
      from,
      (r) => r.value?.redactedLine.includes(marker) ?? false,
      (k) => k.length >= 1,
    );
    assert.equal(got.length, 1);
    assert.equal(got[0]!.value!.errorCode, 'ING_ERR_TIMESTAMP_INVALID');
    assert.equal(got[0]!.value!.offsetInBatch, 0);
    assert.doesNotMatch(got[0]!.value!.redactedLine, /secretsecret/);
    assert.match(got[0]!.value!.redactedLine, /lgh:k1:[0-9a-f]{64}/);
  });

  it('account plans are upserted on the compacted topic and a deletion is a tombstone', async () => {
    const from = await endOffsets(endpoints, TOPICS.accounts.name);
    const id = `acct-it-${Date.now()}`;
    const body = [
      JSON.stringify({ accountId: id, planId: 'premium', streamLimit: 4, perTitleLimit: 2 }),
      JSON.stringify({ accountId: `${id}-gone`, deleted: true }),
      JSON.stringify({ accountId: `${id}-bad`, planId: 'x', streamLimit: -1 }),
    ].join('\n');
    const res = await post('/v1/accounts', 'backend-key-0123456789', body);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.accepted, 2);
    assert.equal(res.body.deadLettered, 1);
    const got = await readSince<AccountPlan>(
      endpoints,
      TOPICS.accounts.name,
      from,
      (r) => r.key?.startsWith(id) ?? false,
      (k) => k.length >= 2,
    );
    const plan = got.find((r) => r.key === id)!;
    assert.equal(plan.value!.streamLimit, 4);
    const tomb = got.find((r) => r.key === `${id}-gone`)!;
    assert.equal(tomb.value, null);
  });

  it('answers 401 without a key, 403 for a key without the role or for another format, 404 for an unknown format', async () => {
    assert.equal((await post('/v1/logs/akamai-ds2', null, '{}')).status, 401);
    assert.equal((await post('/v1/logs/akamai-ds2', 'nope-nope-nope-nope', '{}')).status, 401);
    assert.equal((await post('/v1/logs/akamai-ds2', 'analyst-key-0123456789', '{}')).status, 403);
    const mismatch = await post('/v1/logs/fastly', 'akamai-key-0123456789', '{}');
    assert.equal(mismatch.status, 403);
    assert.equal(mismatch.body.code, 'ING_ERR_SOURCE_FORMAT_MISMATCH');
    assert.equal((await post('/v1/accounts', 'akamai-key-0123456789', '{}')).status, 403);
    const unknown = await post('/v1/logs/w3c-foo', 'akamai-key-0123456789', '{}');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.code, 'ING_ERR_FORMAT_UNKNOWN');
  });
});
