import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LIMITS } from '../../../core/limits.ts';
import { TokenHasher } from '../../../core/token-hash.ts';
import { enrichSection } from '../../../ingest/config.ts';
import { buildCdnRequests, buildHeartbeats, createPipelineContext } from '../../../ingest/pipeline.ts';
import { parseBatch, parseHeartbeats } from '../../../ingest/sources/index.ts';
import { compileMedia, mediaInfo, mediaSection } from '../../../ingest/transforms/enrich/media.ts';
import { tokenSection } from '../../../ingest/transforms/token/config.ts';
import { redactLine } from '../../../ingest/transforms/token/index.ts';

const hasher = new TokenHasher({ currentKeyId: 'k1', keys: { k1: 'y'.repeat(32) } });
const geo = { country: () => null, asn: () => null, position: () => null };
const ctx = createPipelineContext(enrichSection.parse({}), hasher, geo);
const source = { name: 'src', format: 'ndjson', tenant: 't1', token: tokenSection.parse({}) };
const meta = { batchId: 'b1', receivedAtMs: 1_763_668_900_000 };
const MiB = 1024 * 1024;

describe('bounded parsing: every field capped before the work it costs', () => {
  it('a 1 MB element of a JSON-array body is dead-lettered ING_ERR_LINE_TOO_LONG like an NDJSON line', () => {
    const small = { timestamp: 1763668800, url: '/a/seg_1.ts', clientIp: '192.0.2.1' };
    const huge = { timestamp: 1763668800, url: `/a/${'eyJ'.repeat(MiB / 3)}`, clientIp: '192.0.2.1' };
    const out = buildCdnRequests(parseBatch('ndjson', JSON.stringify([small, huge])), source, meta, ctx);
    assert.equal(out.records.length, 1);
    assert.equal(out.deadLetters.length, 1);
    assert.equal(out.deadLetters[0]!.value.errorCode, 'ING_ERR_LINE_TOO_LONG');
    assert.equal(out.deadLetters[0]!.value.offsetInBatch, 1);
    assert.ok(out.deadLetters[0]!.value.redactedLine.length <= LIMITS.ingestLineBytesMax + 200);
  });

  it('a 1 MB heartbeat inside a JSON array is dead-lettered too', () => {
    const huge = { sessionId: 's', contentId: 'c', accountId: 'a', deviceId: 'x'.repeat(MiB) };
    const out = buildHeartbeats(parseHeartbeats(JSON.stringify([huge])), source, meta, ctx);
    assert.equal(out.records.length, 0);
    assert.equal(out.deadLetters[0]!.value.errorCode, 'ING_ERR_LINE_TOO_LONG');
  });

  it('a 1 MB NDJSON line of digits and `eyJ` runs is dead-lettered, its kept part redacted', () => {
    const line = JSON.stringify({
      timestamp: 1763668800,
      url: `/a/${'1'.repeat(MiB / 2)}`,
      t: 'eyJ'.repeat(MiB / 6),
    });
    const out = buildCdnRequests(parseBatch('ndjson', line), source, meta, ctx);
    assert.equal(out.deadLetters[0]!.value.errorCode, 'ING_ERR_LINE_TOO_LONG');
  });

  it('a path longer than the path cap is dead-lettered ING_ERR_FIELD_INVALID before any pattern runs on it', () => {
    const path = `/live/${'1'.repeat(LIMITS.ingestPathCharsMax)}`;
    const line = JSON.stringify({ timestamp: 1763668800, url: path, clientIp: '192.0.2.1' });
    const out = buildCdnRequests(parseBatch('ndjson', line), source, meta, ctx);
    assert.equal(out.records.length, 0);
    assert.equal(out.deadLetters[0]!.value.errorCode, 'ING_ERR_FIELD_INVALID');
    assert.match(out.deadLetters[0]!.value.reason, /path is \d+ chars, limit 8192/);
  });

  // Linear time comes from where a match may start: only at the start of a run of digits (segment
  // pattern) or of base64url characters (JWT redaction). These pin that property: inside a run,
  // no match begins, so a long run is scanned once instead of once per position.
  it('the default segment pattern matches a whole run of digits, never a suffix of one', () => {
    const media = compileMedia(mediaSection.parse({}));
    assert.equal(mediaInfo('/c/720p/seg_00042.ts', media).segmentNumber, 42);
    const re = media.segment[0]!;
    const m = re.exec('/c/123456.ts');
    assert.equal(m?.index, 3, 'the match starts where the run starts');
    assert.equal(re.exec(`/c/${'9'.repeat(5000)}x`), null);
  });

  it('the JWT redaction starts only at the start of a token-character run', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';
    const config = tokenSection.parse({});
    assert.match(redactLine(`/p/${jwt}/x`, config, hasher), /^\/p\/lgh:k1:[0-9a-f]{64}\/x$/);
    assert.match(redactLine(`a ${jwt}`, config, hasher), /^a lgh:k1:/);
    const inside = `abc${jwt}`;
    assert.equal(redactLine(inside, config, hasher), inside, 'an eyJ inside a run does not start a match');
  });
});
