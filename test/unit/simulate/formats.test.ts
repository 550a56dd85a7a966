/** Each output matches the field lists of DOMAIN.md and the vendors' formats, so ingest's parsers read them. */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import {
  CLOUDFRONT_REALTIME_FIELDS,
  CLOUDFRONT_STANDARD_FIELDS,
  cloudFrontStandardHeader,
  eventLine,
  formatAccount,
  formatHeartbeat,
  requestFormatters,
} from '../../../simulate/formats/index.ts';
import type { SimHeartbeat, SimRequest } from '../../../simulate/model.ts';
import { encodeCmcd } from '../../../simulate/player.ts';
import { type Collected, smallSimulation } from './fixture.ts';

let data: Collected;
let requests: SimRequest[];
before(async () => {
  data = await smallSimulation();
  requests = data.events.flatMap((e) => (e.type === 'request' ? [e.request] : []));
});
const fmt = requestFormatters();

function byCdn(cdn: SimRequest['cdn']): SimRequest[] {
  return requests.filter((r) => r.cdn === cdn).slice(0, 500);
}

test('the CloudFront standard header declares the 33 W3C fields in order', () => {
  const [version, fields] = cloudFrontStandardHeader().trimEnd().split('\n');
  assert.equal(version, '#Version: 1.0');
  const names = (fields ?? '').replace('#Fields: ', '').split(' ');
  assert.equal(names.length, 33);
  assert.deepEqual(names, [...CLOUDFRONT_STANDARD_FIELDS]);
  assert.equal(names[0], 'date');
  assert.equal(names[32], 'sc-range-end');
});

test('every CloudFront standard line has 33 tab-separated values, no spaces, - for empty', () => {
  for (const r of byCdn('cloudfront-standard')) {
    const line = fmt['cloudfront-standard'](r);
    assert.ok(line.endsWith('\n'));
    const values = line.slice(0, -1).split('\t');
    assert.equal(values.length, 33);
    assert.ok(!values.some((v) => v === '' || v.includes(' ')), 'values are URL-encoded, none empty');
    assert.match(values[0] ?? '', /^\d{4}-\d{2}-\d{2}$/);
    assert.match(values[1] ?? '', /^\d{2}:\d{2}:\d{2}$/);
    assert.equal(values[4], r.clientIp);
    assert.equal(values[7], r.path);
    assert.match(values[11] ?? '', /(^|&)(token|hdnts|CAT)=/);
    assert.equal(values[9], '-');
  }
});

test('CloudFront real-time lines follow the declared field list, with the 18 CMCD fields', () => {
  const cmcdFields = CLOUDFRONT_REALTIME_FIELDS.filter((f) => f.startsWith('cmcd-'));
  assert.equal(cmcdFields.length, 18);
  for (const f of [
    'timestamp',
    'c-ip',
    'c-country',
    'asn',
    'cs-uri-stem',
    'cs-uri-query',
    'cs-user-agent',
    'sc-status',
  ]) {
    assert.ok(CLOUDFRONT_REALTIME_FIELDS.includes(f), f);
  }
  const idx = (f: string) => CLOUDFRONT_REALTIME_FIELDS.indexOf(f);
  for (const r of byCdn('cloudfront-realtime')) {
    const values = fmt['cloudfront-realtime'](r).slice(0, -1).split('\t');
    assert.equal(values.length, CLOUDFRONT_REALTIME_FIELDS.length);
    assert.match(values[idx('timestamp')] ?? '', /^\d{10}\.\d{3}$/);
    assert.equal(values[idx('c-country')], r.country);
    assert.equal(values[idx('asn')], String(r.asn));
    if (r.cmcd) {
      assert.equal(values[idx('cmcd-session-id')], r.cmcd.sid);
      assert.equal(values[idx('cmcd-content-id')], r.cmcd.cid);
    } else assert.equal(values[idx('cmcd-session-id')], '-');
  }
});

test('Akamai DataStream 2 lines are JSON objects of strings, empty fields left out', () => {
  for (const r of byCdn('akamai-ds2')) {
    const obj = JSON.parse(fmt['akamai-ds2'](r)) as Record<string, unknown>;
    for (const k of [
      'reqTimeSec',
      'cliIP',
      'reqHost',
      'reqPath',
      'queryStr',
      'statusCode',
      'bytes',
      'UA',
      'country',
      'city',
      'reqId',
      'cacheStatus',
      'breadcrumbs',
    ]) {
      assert.equal(typeof obj[k], 'string', k);
    }
    assert.ok(Object.values(obj).every((v) => typeof v === 'string' && v !== '' && v !== '-'));
    assert.equal(obj.reqPath, r.path);
    assert.ok(!(obj.reqPath as string).includes('?'));
    assert.equal(Number(obj.reqTimeSec) * 1000, r.timestampMs);
  }
});

test('Fastly lines carry the mapped fields with a path-and-query url', () => {
  for (const r of byCdn('fastly')) {
    const obj = JSON.parse(fmt.fastly(r)) as Record<string, unknown>;
    for (const k of [
      'client_ip',
      'geo_country',
      'url',
      'request_method',
      'user_agent',
      'response_status',
      'timestamp',
    ]) {
      assert.ok(k in obj, k);
    }
    assert.equal(obj.url, `${r.path}?${r.query}`);
    assert.equal(Date.parse(obj.timestamp as string), r.timestampMs);
  }
});

test('heartbeats and accounts are NDJSON with the fields ingest reads', () => {
  const hb = data.events.find((e) => e.type === 'heartbeat')?.heartbeat as SimHeartbeat;
  const obj = JSON.parse(formatHeartbeat(hb));
  for (const k of [
    'event',
    'timestampMs',
    'accountId',
    'sessionId',
    'deviceId',
    'contentId',
    'token',
    'clientIp',
  ]) {
    assert.ok(k in obj, k);
  }
  assert.equal(obj.event, 'start');
  const plan = data.events.find((e) => e.type === 'account');
  assert.ok(plan?.type === 'account');
  assert.deepEqual(Object.keys(JSON.parse(formatAccount(plan.plan))), [
    'accountId',
    'tenant',
    'planId',
    'streamLimit',
    'perTitleLimit',
    'concurrencyGroups',
    'updatedAtMs',
  ]);
});

test('a JWT playback token names its account in sub; EdgeAuth in data', () => {
  let jwts = 0;
  let edge = 0;
  for (const r of requests.slice(0, 3000)) {
    const q = new URLSearchParams(r.query);
    const jwt = q.get('token');
    if (jwt) {
      const claims = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString());
      assert.equal(claims.sub, r.accountId);
      assert.ok(claims.exp * 1000 > r.timestampMs);
      jwts++;
    }
    const hdnts = q.get('hdnts');
    if (hdnts) {
      assert.match(hdnts, /^exp=\d+~acl=[^~]+~id=[0-9a-f]+~data=acct-\d+~hmac=[0-9a-f]{64}$/);
      assert.ok(hdnts.includes(`data=${r.accountId}~`));
      edge++;
    }
  }
  assert.ok(jwts > 0 && edge > 0);
});

test('CMCD is encoded per CTA-5004: sorted keys, quoted strings, bare true booleans', () => {
  assert.equal(
    encodeCmcd({ sid: 'abc', br: 3200, su: true, ot: 'v', cid: 'ch-1', v: 1 }),
    'br=3200,cid="ch-1",ot=v,sid="abc",su,v=1',
  );
  const r = requests.find((x) => x.cmcd?.su);
  assert.ok(r);
  const decoded = decodeURIComponent(
    new URLSearchParams(r.query).get('CMCD') === null ? '' : (r.query.split('CMCD=')[1] ?? ''),
  );
  assert.equal(decoded, encodeCmcd(r.cmcd ?? {}));
});

test('segment URLs follow the HLS .ts and DASH $Number$ .m4s patterns', () => {
  const segs = requests.filter((r) => /seg_\d+/.test(r.path));
  assert.ok(segs.some((r) => /^\/live\/[a-z0-9-]+\/[a-z0-9]+\/seg_\d+\.ts$/.test(r.path)));
  assert.ok(segs.some((r) => /^\/live\/[a-z0-9-]+\/v\d+\/seg_\d+\.m4s$/.test(r.path)));
  assert.ok(segs.every((r) => [2000, 4000, 6000].includes(r.cmcd?.d ?? 2000)));
});

test('eventLine routes each event to its endpoint with its formatted line', () => {
  for (const e of data.events.slice(0, 2000)) {
    const { endpoint, line } = eventLine(e, fmt);
    assert.ok(line.endsWith('\n'));
    if (e.type === 'request') assert.equal(endpoint, e.request.cdn);
    else assert.equal(endpoint, e.type === 'heartbeat' ? 'heartbeats' : 'accounts');
  }
});
