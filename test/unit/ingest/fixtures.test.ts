/**
 * Public real-world samples per format (test/fixtures/ingest/README.md names the source and licence
 * of each): every valid line becomes a record with the right fields, every invalid one a dead
 * letter with its specific code.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TokenHasher } from '../../../core/token-hash.ts';
import { enrichSection } from '../../../ingest/config.ts';
import { buildCdnRequests, createPipelineContext } from '../../../ingest/pipeline.ts';
import { CLOUDFRONT_REALTIME_VIDEO_FIELDS } from '../../../ingest/sources/cloudfront-realtime/index.ts';
import {
  type LogFormat,
  type ParsedRequest,
  parseBatch,
  parseHeartbeats,
} from '../../../ingest/sources/index.ts';
import { NDJSON_DEFAULT_MAPPING } from '../../../ingest/sources/ndjson/index.ts';
import { cmcdPairs } from '../../../ingest/transforms/enrich/cmcd.ts';
import { tokenSection } from '../../../ingest/transforms/token/config.ts';

const FIX = join(import.meta.dirname, '..', '..', 'fixtures', 'ingest');
const fixture = (p: string) => readFileSync(join(FIX, p), 'utf8');

function parse(format: LogFormat, file: string, options: { fields?: readonly string[] } = {}) {
  return parseBatch(format, fixture(file), options);
}

function pick(r: ParsedRequest) {
  return {
    timestampMs: r.timestampMs,
    clientIp: r.clientIp,
    path: r.path,
    status: r.status,
    bytes: r.bytes,
    host: r.host,
  };
}

describe('CloudFront standard: public samples', () => {
  it("a line ending in a tab (one field more than #Fields, as AWS's example lines end) is a record", () => {
    const { records, errors } = parse(
      'cloudfront-standard',
      'cloudfront-standard/claygregory-web-2019-12.log',
    );
    assert.deepEqual(errors, []);
    assert.equal(records.length, 3);
    assert.ok(records[2]!.line.endsWith('\t'), 'the sample line really ends with a tab');
    assert.deepEqual(pick(records[2]!), {
      timestampMs: Date.UTC(2019, 11, 4, 21, 2, 31),
      clientIp: '192.0.2.100',
      path: '/index.html',
      status: 200,
      bytes: 392,
      host: 'd111111abcdef8.cloudfront.net',
    });
  });

  it('a tab-separated #Fields header and the 24-field layout of older logs are read by name', () => {
    const { records, errors } = parse(
      'cloudfront-standard',
      'cloudfront-standard/claygregory-web-24-fields.log',
    );
    assert.deepEqual(errors, []);
    assert.deepEqual(pick(records[1]!), {
      timestampMs: Date.UTC(2014, 4, 23, 1, 13, 12),
      clientIp: '192.0.2.202',
      path: '/soundtrack/happy.mp3',
      status: 304,
      bytes: 2390282,
      host: 'd111111abcdef8.cloudfront.net',
    });
    assert.equal(records[1]!.query, 'a=b&c=d');
    assert.equal(records[1]!.cookie, 'zip=50158');
  });

  it('IPv6 clients, status 000, x-forwarded-for lists and a line with fewer trailing fields than #Fields', () => {
    const { records, errors } = parse('cloudfront-standard', 'cloudfront-standard/elastic-integrations.log');
    assert.deepEqual(errors, []);
    assert.equal(records.length, 4);
    assert.equal(records[0]!.clientIp, '2a02:cf40:add:4002:91f2:a9b2:e09a:6fc6');
    assert.equal(records[1]!.status, 0);
    assert.equal(records[1]!.method, 'POST');
    const short = records[3]!;
    assert.equal(short.line.split('\t').length, 31, 'the sample line really has 31 of 33 fields');
    assert.deepEqual(pick(short), {
      timestampMs: Date.UTC(2024, 6, 13, 15, 29, 45),
      clientIp: '127.0.0.1',
      path: '/en(test)',
      status: 404,
      bytes: 198083,
      host: 'domain.tld',
    });
    assert.equal(short.cookie, 'cookie');
  });

  it("AWS's documented sample lines", () => {
    const { records, errors } = parse('cloudfront-standard', 'cloudfront-standard/aws-docs-sample.log');
    assert.deepEqual(errors, []);
    assert.equal(records.length, 5);
    assert.equal(records[3]!.status, 502);
  });

  it('v2 JSON output: field names as keys, read the same way; a record without cs-uri-stem is FIELD_MISSING', () => {
    const w3c = fixture('cloudfront-standard/aws-docs-sample.log').split('\n');
    const names = w3c[1]!.slice('#Fields: '.length).split(' ');
    const json = JSON.stringify(Object.fromEntries(names.map((n, i) => [n, w3c[2]!.split('\t')[i]])));
    const noStem = JSON.stringify({ date: '2019-12-04', time: '21:02:31', 'c-ip': '192.0.2.100' });
    const { records, errors } = parseBatch('cloudfront-standard', `${json}\n${noStem}\n`);
    assert.deepEqual(pick(records[0]!), {
      timestampMs: Date.UTC(2019, 11, 4, 21, 2, 31),
      clientIp: '192.0.2.100',
      path: '/index.html',
      status: 200,
      bytes: 392,
      host: 'd111111abcdef8.cloudfront.net',
    });
    assert.deepEqual(
      errors.map((e) => [e.offset, e.code]),
      [[1, 'ING_ERR_FIELD_MISSING']],
    );
  });

  it('a line too short to reach its time and cs-uri-stem is FIELD_COUNT, naming the header', () => {
    const text = `${fixture('cloudfront-standard/elastic-integrations.log').split('\n').slice(0, 2).join('\n')}\n2024-07-13\t15:29:45\tEWR53-C1\n`;
    const { records, errors } = parseBatch('cloudfront-standard', text);
    assert.equal(records.length, 0);
    assert.equal(errors[0]!.code, 'ING_ERR_FIELD_COUNT');
    assert.match(errors[0]!.reason, /#Fields header \(33 fields\)/);
  });
});

describe('CloudFront real-time: public samples', () => {
  const check = (r: ParsedRequest) => {
    assert.equal(r.timestampMs, 1607374321541);
    assert.equal(r.clientIp, '127.0.0.1');
    assert.equal(r.status, 200);
    assert.equal(r.bytes, 485);
    assert.equal(r.country, 'US');
    assert.equal(r.host, 'test.cloudfront.net');
    assert.match(r.path, /^\/i\?stm=1607374321563/);
    assert.equal(r.headers.dnt, '1', 'cs-headers decoded into headers');
    assert.match(r.userAgent!, /^Mozilla\/5\.0 \(Macintosh;/);
  };

  it('a record with all 40 fields of 2020 is read by the documented order without configuration', () => {
    const { records, errors } = parse(
      'cloudfront-realtime',
      'cloudfront-realtime/claygregory-kinesis-40-fields-no-header.tsv',
    );
    assert.deepEqual(errors, []);
    check(records[0]!);
  });

  it('a #Fields line ahead of the records sets the order', () => {
    const { records, errors } = parse(
      'cloudfront-realtime',
      'cloudfront-realtime/claygregory-kinesis-40-fields.tsv',
    );
    assert.deepEqual(errors, []);
    check(records[0]!);
  });

  it('a configured subset is read by field names', () => {
    const { records, errors } = parse('cloudfront-realtime', 'cloudfront-realtime/video-sample.tsv', {
      fields: CLOUDFRONT_REALTIME_VIDEO_FIELDS,
    });
    assert.deepEqual(errors, []);
    assert.equal(records.length, 2);
    assert.deepEqual(
      records.map((r) => [r.status, r.path, r.country]),
      [
        [200, '/live/match-42/720p/segment_00042.ts', 'DE'],
        [206, '/vod/movie-7/audio/en/seg_3.aac', 'GB'],
      ],
    );
  });

  it('the same record against a configured list of another length is FIELD_COUNT naming both counts and the key', () => {
    const { errors } = parse(
      'cloudfront-realtime',
      'cloudfront-realtime/claygregory-kinesis-40-fields-no-header.tsv',
      {
        fields: ['timestamp', 'c-ip', 'cs-uri-stem'],
      },
    );
    assert.equal(errors[0]!.code, 'ING_ERR_FIELD_COUNT');
    assert.match(errors[0]!.reason, /expected 3 .*found 40.*sources\[\]\.fields/);
  });

  it('without configuration, a count that is no documented full selection is FIELD_COUNT', () => {
    const rec = fixture('cloudfront-realtime/claygregory-kinesis-40-fields-no-header.tsv').trim();
    const { errors } = parseBatch('cloudfront-realtime', rec.split('\t').slice(0, 39).join('\t'));
    assert.equal(errors[0]!.code, 'ING_ERR_FIELD_COUNT');
    assert.match(errors[0]!.reason, /expected 40, 45, 63 .*found 39/);
  });
});

describe('Cloudflare Logpush http_requests: public samples', () => {
  it('RFC 3339, Unix-seconds and Unix-nanosecond timestamps give the same record', () => {
    const { records, errors } = parse('cloudflare', 'cloudflare/elastic-integrations-http-requests.ndjson');
    assert.deepEqual(errors, []);
    assert.equal(records.length, 3);
    for (const r of records) {
      assert.deepEqual(pick(r), {
        timestampMs: Date.UTC(2022, 4, 25, 13, 25, 26),
        clientIp: '175.16.199.0',
        path: '/s/example/api/telemetry/v2/clusters/_stats',
        status: 200,
        bytes: 981308,
        host: 'xyz.example.com',
      });
      assert.equal(r.country, 'SA', 'lower-case ClientCountry');
      assert.equal(r.asn, 43766);
      assert.equal(r.method, 'POST');
      assert.equal(r.edgeLocation, 'RUH');
      assert.equal(r.cookie, 'key=value');
    }
  });

  it("records of Cloudflare's output-options example carry no request URI: FIELD_MISSING each", () => {
    const { records, errors } = parse('cloudflare', 'cloudflare/cloudflare-docs-output-options.ndjson');
    assert.equal(records.length, 0);
    assert.deepEqual(
      errors.map((e) => [e.offset, e.code]),
      [
        [0, 'ING_ERR_FIELD_MISSING'],
        [1, 'ING_ERR_FIELD_MISSING'],
        [2, 'ING_ERR_FIELD_MISSING'],
      ],
    );
  });
});

describe('Fastly: the documented JSON format, plain and behind syslog headers', () => {
  it('plain, RFC 3164 (ISO and BSD time) and RFC 5424 framed lines are records; one without url is FIELD_MISSING', () => {
    const { records, errors } = parse('fastly', 'fastly/documented-json-format.ndjson');
    assert.deepEqual(
      errors.map((e) => [e.offset, e.code]),
      [[4, 'ING_ERR_FIELD_MISSING']],
    );
    assert.equal(records.length, 4);
    assert.deepEqual(pick(records[0]!), {
      timestampMs: Date.UTC(2026, 1, 9, 13, 52, 42),
      clientIp: '198.51.100.23',
      path: '/live/ch1/720p/seg_1001.ts',
      status: null,
      bytes: null,
      host: 'video.example.com',
    });
    assert.equal(records[0]!.query, 'token=abc123');
    assert.equal(records[0]!.method, 'GET');
    assert.equal(records[0]!.userAgent, 'AppleCoreMedia/1.0.0');
    assert.equal(records[0]!.country, 'DE');
    assert.equal(records[0]!.cacheResult, 'HIT');
    assert.equal(records[1]!.clientIp, '198.51.100.24', 'RFC 3164 header with an ISO time');
    assert.equal(records[2]!.path, '/vod/film/index.m3u8', 'RFC 5424 header');
    assert.equal(records[3]!.clientIp, '203.0.113.9', 'BSD time, no PRI: partial record');
    assert.ok(
      records[1]!.line.startsWith('<134>'),
      'the raw line (for ids and dead letters) keeps its header',
    );
  });

  it('the generic ndjson format reads JSON behind a syslog header too', () => {
    const { records, errors } = parseBatch(
      'ndjson',
      '<14>Feb  9 13:52:42 host app[1]: {"timestamp":1770645162,"url":"/a/seg_1.ts","clientIp":"192.0.2.1"}\n',
    );
    assert.deepEqual(errors, []);
    assert.equal(records[0]!.path, '/a/seg_1.ts');
  });
});

describe('CMCD v2 (CTA-5004-B): the spec examples as the Common Media Library tests them', () => {
  it('event-mode reports, one per line in CMCD text: start / heartbeat / stop from sta, times, playhead, bitrate', () => {
    const { records, errors } = parseHeartbeats(fixture('cmcd-v2/cta-5004-b-event-mode.cmcd'));
    assert.deepEqual(
      errors.map((e) => [e.offset, e.code]),
      [[9, 'ING_ERR_FIELD_MISSING']],
      'the bare interval report (no sid) is the only dead letter',
    );
    assert.equal(records.length, 9);
    assert.deepEqual(
      records.map((r) => r.event),
      [
        'start',
        'heartbeat',
        'heartbeat',
        'heartbeat',
        'stop',
        'heartbeat',
        'heartbeat',
        'heartbeat',
        'heartbeat',
      ],
    );
    const playing = records[1]!;
    assert.equal(playing.sessionId, 'session-id-123');
    assert.equal(playing.contentId, 'content-id-123');
    assert.equal(playing.deviceId, 'session-id-123', 'no device id: one device per session');
    assert.equal(playing.timestampMs, 1764752430000);
    assert.equal(playing.playheadMs, 29188);
    assert.equal(playing.bitrateKbps, 4200, 'first item of br=(4200;v 256;a)');
    assert.equal(playing.cmcd?.bl, 6000);
    assert.equal(playing.cmcd?.sf, 'd');
    assert.equal(records[7]!.sessionId, 'session1', 'a response-received report keeps its session alive');
    assert.equal(records[8]!.contentId, 'ad-001');
  });

  it('the same reports as a JSON array (the JSON encoding) give the same heartbeats', () => {
    const lines = fixture('cmcd-v2/cta-5004-b-event-mode.cmcd').trim().split('\n');
    const json = JSON.stringify(lines.map((l) => cmcdPairs(l)));
    const fromJson = parseHeartbeats(json);
    const fromText = parseHeartbeats(lines.join('\n'));
    assert.deepEqual(
      fromJson.records.map(({ line: _l, ...r }) => r),
      fromText.records.map(({ line: _l, ...r }) => r),
    );
    assert.deepEqual(
      fromJson.errors.map((e) => e.code),
      ['ING_ERR_FIELD_MISSING'],
    );
  });

  it('custom keys carry the account and token when a player sends them', () => {
    const { records } = parseHeartbeats(
      'cid="c1",com.example-account="acct-9",com.example-token="tok-1",e=ps,sid="s1",sta=s,ts=1764269150889,v=2',
    );
    assert.equal(records[0]!.accountId, 'acct-9');
    assert.equal(records[0]!.token, 'tok-1');
    assert.equal(records[0]!.event, 'start');
  });

  it('request-mode v2 keys in the CMCD= query and in CMCD-* headers reach the request, inner lists read', () => {
    const ctx = createPipelineContext(
      enrichSection.parse({}),
      new TokenHasher({ currentKeyId: 'k1', keys: { k1: 'k'.repeat(32) } }),
    );
    const source = { name: 't', format: 'ndjson', tenant: 'default', token: tokenSection.parse({}) };
    const payloads = fixture('cmcd-v2/cta-5004-b-request-mode.cmcd').trim().split('\n');
    const lines = payloads.flatMap((p, i) => [
      JSON.stringify({ timestamp: 1764752400 + i, url: `/v/seg_${i}.m4v?CMCD=${encodeURIComponent(p)}` }),
      JSON.stringify({ timestamp: 1764752400 + i, url: `/v/seg_${i}.m4v`, cmcd_session: p }),
    ]);
    const mapping = { ...NDJSON_DEFAULT_MAPPING, headers: { 'cmcd-session': 'cmcd_session' } };
    const built = buildCdnRequests(
      parseBatch('ndjson', lines.join('\n'), { mapping }),
      source,
      { batchId: 'b', receivedAtMs: 0 },
      ctx,
    );
    assert.equal(built.deadLetters.length, 0);
    assert.equal(built.records.length, 10);
    for (const { value } of built.records) {
      assert.equal(value.sessionId, 'session-id-123');
      assert.equal(value.contentId, 'content-id-123');
    }
    const first = built.records[0]!.value.cmcd!;
    assert.equal(first.br, 3000);
    assert.equal(first.bl, 2000);
    assert.equal(first.nor, 'next-seg.mp4');
    assert.equal(built.records[1]!.value.cmcd!.tb, 6000, 'header path too');
    assert.equal(built.records[6]!.value.cmcd!.bl, 0, 'bl=(0;v 2000;a): the first item');
    assert.equal(built.records[8]!.value.cmcd!.nor, 'seg-3.m4v');
  });
});
