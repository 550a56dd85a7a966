import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CLOUDFRONT_REALTIME_VIDEO_FIELDS } from '../../../ingest/sources/cloudfront-realtime/index.ts';
import { parseBatch, parseHeartbeats } from '../../../ingest/sources/index.ts';

const FIX = join(import.meta.dirname, '..', '..', 'fixtures', 'ingest');
const fixture = (p: string) => readFileSync(join(FIX, p), 'utf8');

describe('CloudFront standard parser', () => {
  it("parses AWS's documented sample lines, honouring #Fields, URL-decoding and '-' as empty", () => {
    const { records, errors } = parseBatch(
      'cloudfront-standard',
      fixture('cloudfront-standard/aws-docs-sample.log'),
    );
    assert.deepEqual(errors, []);
    assert.equal(records.length, 5);
    const first = records[0]!;
    assert.equal(first.timestampMs, Date.UTC(2019, 11, 4, 21, 2, 31));
    assert.equal(first.clientIp, '192.0.2.100');
    assert.equal(first.path, '/index.html');
    assert.equal(first.status, 200);
    assert.equal(first.bytes, 392);
    assert.equal(first.edgeLocation, 'LAX1');
    assert.equal(first.cacheResult, 'Hit');
    assert.equal(first.referer, null);
    assert.equal(first.query, null);
    assert.match(first.userAgent!, /^Mozilla\/5\.0 \(Windows NT 10\.0; Win64; x64\)/);
    const error = records[3]!;
    assert.equal(error.status, 502);
    assert.equal(
      error.host,
      'www.example.com',
      'x-host-header (what the viewer asked for) wins over cs(Host)',
    );
    assert.equal(error.referer, 'http://www.example.com/');
    assert.equal(
      records[2]!.offset,
      4,
      'offsets count header lines, so dead letters point at the right line',
    );
  });

  it('uses the documented 33-field order when a batch has no #Fields line (a chunk cut from a file)', () => {
    const { records, errors } = parseBatch(
      'cloudfront-standard',
      fixture('cloudfront-standard/video-sample.log'),
    );
    assert.deepEqual(errors, []);
    assert.equal(records[0]!.path, '/live/match-42/720p/segment_00042.ts');
    assert.match(records[0]!.query!, /^token=opaque-abc-123&CMCD=/);
  });

  it('honours a #Fields line with a different field order', () => {
    const text =
      '#Fields: date time c-ip cs-uri-stem sc-status\n2026-01-02\t03:04:05\t10.0.0.1\t/a%20b.ts\t404\n';
    const { records, errors } = parseBatch('cloudfront-standard', text);
    assert.deepEqual(errors, []);
    assert.equal(records[0]!.path, '/a b.ts');
    assert.equal(records[0]!.status, 404);
  });

  it('reports a wrong field count, a bad date and a non-numeric status with their codes', () => {
    const good = fixture('cloudfront-standard/video-sample.log').split('\n')[0]!;
    const text = ['a\tb', good.replace('2026-11-20', '20-11-2026'), good.replace('\t200\t', '\tOK\t')].join(
      '\n',
    );
    const { records, errors } = parseBatch('cloudfront-standard', text);
    assert.equal(records.length, 0);
    assert.deepEqual(
      errors.map((e) => [e.offset, e.code]),
      [
        [0, 'ING_ERR_FIELD_COUNT'],
        [1, 'ING_ERR_TIMESTAMP_INVALID'],
        [2, 'ING_ERR_FIELD_INVALID'],
      ],
    );
  });
});

describe('CloudFront real-time parser', () => {
  it('reads fields in the configured order, CMCD fields, country, ASN and headers', () => {
    const { records, errors } = parseBatch(
      'cloudfront-realtime',
      fixture('cloudfront-realtime/video-sample.tsv'),
      {
        fields: CLOUDFRONT_REALTIME_VIDEO_FIELDS,
      },
    );
    assert.deepEqual(errors, []);
    const [a, b] = records as [(typeof records)[0], (typeof records)[0]];
    assert.equal(a.timestampMs, 1763668800123);
    assert.equal(a.country, 'DE');
    assert.equal(a.asn, 3320);
    assert.equal(a.headers.host, 'cdn.example.com');
    const cmcd = a.cmcdFields ?? [];
    const cmcdValue = (key: string) => cmcd[cmcd.indexOf(key) + 1];
    assert.equal(cmcd.length % 2, 0, 'key, value pairs');
    assert.equal(cmcdValue('sid'), '6e2fb550-c457-11e9-bb97-0800200c9a66');
    assert.equal(cmcdValue('br'), '3200');
    assert.equal(b.asn, 2856, 'AS-prefixed ASN');
    assert.equal(b.cookie, 'CloudFront-Signature=sigXYZ; other=1');
    assert.equal(b.clientIp, '2001:db8:1:2::9');
  });

  it('takes the field order from configuration', () => {
    const fields = ['c-ip', 'timestamp', 'cs-uri-stem'];
    const { records, errors } = parseBatch('cloudfront-realtime', '10.1.1.1\t1763668800.5\t/x.ts\n', {
      fields,
    });
    assert.deepEqual(errors, []);
    assert.equal(records[0]!.clientIp, '10.1.1.1');
    assert.equal(records[0]!.timestampMs, 1763668800500);
  });

  it('rejects a line whose field count differs from the configuration', () => {
    const { errors } = parseBatch('cloudfront-realtime', 'a\tb\n', { fields: ['timestamp'] });
    assert.equal(errors[0]!.code, 'ING_ERR_FIELD_COUNT');
  });
});

describe('Akamai DataStream 2 parser', () => {
  it("parses Akamai's documented sample record and a sparse one (empty fields left out)", () => {
    const { records, errors } = parseBatch('akamai-ds2', fixture('akamai-ds2/akamai-docs-sample.ndjson'));
    assert.deepEqual(errors, []);
    const [doc, sparse] = records as [(typeof records)[0], (typeof records)[0]];
    assert.equal(doc.timestampMs, 1573840000000);
    assert.equal(doc.clientIp, '128.147.28.68');
    assert.equal(doc.status, 206);
    assert.equal(doc.bytes, 4995);
    assert.equal(doc.country, 'IN');
    assert.equal(doc.asn, 12271);
    assert.equal(doc.cacheResult, 'Hit');
    assert.equal(doc.userAgent, 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_3)');
    assert.equal(doc.referer, 'https://test.referrer.net/en-US/docs/Web/test');
    assert.equal(sparse.timestampMs, 1763668800250);
    assert.equal(sparse.country, null);
    assert.equal(sparse.cacheResult, 'Miss');
    assert.match(sparse.query!, /^hdnts=/);
  });

  it('dead-letters invalid JSON and a missing reqTimeSec with their codes', () => {
    const { errors } = parseBatch('akamai-ds2', '{oops\n{"reqPath":"/a"}\n[1]\n');
    assert.deepEqual(
      errors.map((e) => [e.offset, e.code]),
      [
        [0, 'ING_ERR_JSON_INVALID'],
        [1, 'ING_ERR_TIMESTAMP_INVALID'],
        [2, 'ING_ERR_JSON_INVALID'],
      ],
    );
  });
});

describe('Fastly / NDJSON parser with a field mapping', () => {
  it("maps Fastly's usual field names, absolute URLs and logged coordinates", () => {
    const { records, errors } = parseBatch('fastly', fixture('fastly/sample.ndjson'));
    assert.deepEqual(errors, []);
    assert.equal(records[0]!.country, 'SE');
    assert.equal(records[0]!.query, 'token=fastly-opaque-1');
    assert.equal(records[0]!.status, 200);
    assert.equal(records[1]!.host, 'fastly.example.com');
    assert.equal(records[1]!.path, '/vod/film/index.m3u8');
    assert.equal(records[1]!.latitude, 52.5);
  });

  it('follows an operator mapping with dotted paths and header fields', () => {
    const mapping = {
      timestamp: 'ts',
      url: 'req.url',
      clientIp: 'client.ip',
      headers: { 'cmcd-session': 'cmcd.session' },
    };
    const line = JSON.stringify({
      ts: 1763668800,
      req: { url: '/a/b/seg_9.ts' },
      client: { ip: '10.0.0.9' },
      cmcd: { session: 'sid="s9"' },
    });
    const { records, errors } = parseBatch('ndjson', line, { mapping });
    assert.deepEqual(errors, []);
    assert.equal(records[0]!.clientIp, '10.0.0.9');
    assert.equal(records[0]!.headers['cmcd-session'], 'sid="s9"');
  });
});

describe('heartbeat parser', () => {
  it('reads start / heartbeat / stop, filling session and content from CMCD, accepting snake_case', () => {
    const { records, errors } = parseHeartbeats(fixture('heartbeats/sample.ndjson'));
    assert.deepEqual(errors, []);
    assert.deepEqual(
      records.map((r) => [r.event, r.sessionId, r.contentId, r.accountId]),
      [
        ['start', 's-1', 'match-42', 'acct-1'],
        ['heartbeat', 's-1', 'match-42', 'acct-1'],
        ['stop', 's-1', 'match-42', 'acct-1'],
      ],
    );
    assert.equal(records[1]!.cmcd?.br, 3200);
    assert.equal(records[0]!.token, 'opaque-abc-123');
  });

  it('accepts one JSON object or a JSON array', () => {
    const one = '{"sessionId":"s","contentId":"c","accountId":"a"}';
    assert.equal(parseHeartbeats(one).records[0]!.event, 'heartbeat');
    assert.equal(parseHeartbeats(`[${one},${one}]`).records.length, 2);
  });

  it('rejects an unknown event and a missing session with codes', () => {
    const { errors } = parseHeartbeats(
      '{"event":"pause","sessionId":"s","contentId":"c"}\n{"contentId":"c"}\n',
    );
    assert.deepEqual(
      errors.map((e) => e.code),
      ['ING_ERR_HEARTBEAT_INVALID', 'ING_ERR_FIELD_MISSING'],
    );
  });
});

describe('line limits', () => {
  it('turns a line over the length limit into ING_ERR_LINE_TOO_LONG and keeps the others', () => {
    const long = `{"reqTimeSec":"1763668800","reqPath":"/${'a'.repeat(600)}"}`;
    const ok = '{"reqTimeSec":"1763668800","reqPath":"/ok"}';
    const { records, errors } = parseBatch('akamai-ds2', `${ok}\n${long}\n${ok}`, { lineBytesMax: 512 });
    assert.equal(records.length, 2);
    assert.equal(errors[0]!.code, 'ING_ERR_LINE_TOO_LONG');
    assert.equal(errors[0]!.offset, 1);
    assert.equal(errors[0]!.line.length, 512);
  });
});

describe('Fastly default mapping: alternative names', () => {
  it('the first name of a field present in the record wins, absent / empty / "-" ones are skipped', () => {
    const line = JSON.stringify({
      timestamp: '2026-02-09T13:52:42Z',
      url: '/a/seg_1.ts',
      geo_country: 'SE',
      geo_country_code: 'DE',
      request_user_agent: '-',
      user_agent: 'VLC/3.0',
      status: '206',
    });
    const { records, errors } = parseBatch('fastly', line);
    assert.deepEqual(errors, []);
    assert.equal(records[0]!.country, 'DE', 'geo_country_code is listed before geo_country');
    assert.equal(records[0]!.userAgent, 'VLC/3.0', "request_user_agent '-' is absent");
    assert.equal(records[0]!.status, 206);
  });

  it('a configured mapping may list paths, dotted ones too', () => {
    const { records } = parseBatch(
      'fastly',
      JSON.stringify({ t: 1770645162, req: { path: '/x.ts' }, ip: '192.0.2.9' }),
      {
        mapping: { timestamp: ['time', 't'], url: ['url', 'req.path'], clientIp: 'ip', headers: {} },
      },
    );
    assert.equal(records[0]!.path, '/x.ts');
    assert.equal(records[0]!.clientIp, '192.0.2.9');
  });
});
