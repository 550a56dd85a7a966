/**
 * The geographic rules on real addresses: NDJSON lines with real operators' client addresses go
 * through ingest's parser and enrichment with the bundled GeoLite2 country and ASN databases, then
 * through the detector's rules. Border households, mobile carriers and IPv6 privacy addresses are
 * not flagged by any geographic rule; a token used in two distant countries at once is.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Anomaly, CdnRequest } from '../../../core/schemas/generated.ts';
import { TokenHasher } from '../../../core/token-hash.ts';
import { TopologyTestDriver } from '../../../detector/testing/driver.ts';
import { ingestConfigSchema } from '../../../ingest/config.ts';
import { buildCdnRequests, createPipelineContext, type PipelineContext } from '../../../ingest/pipeline.ts';
import { parseBatch } from '../../../ingest/sources/index.ts';
import { createGeoResolver } from '../../../ingest/transforms/enrich/geo.ts';
import { tokenSection } from '../../../ingest/transforms/token/config.ts';

const T0 = Date.parse('2026-11-20T20:00:00Z');
const MIN = 60_000;
const GEO_RULES = ['impossible-travel', 'geo-spread'];

// Real operators' addresses (blocks the bundled databases place in the country named).
const ADDR = {
  beTelenet: '5.23.131.17', // BE, Telenet (fixed)
  beProximus: '37.62.3.17', // BE, Proximus (fixed)
  frOrange: '2.3.3.17', // FR, Orange (fixed)
  frSfrMobile: '37.64.3.17', // FR, SFR (mobile)
  nlKpn: '31.149.3.17', // NL, KPN (fixed)
  usComcast: '23.24.3.17', // US, Comcast (fixed)
  usTmobile: '23.18.3.17', // US, T-Mobile (mobile)
  deTelekom: '2.160.3.17', // DE, Deutsche Telekom (fixed)
} as const;

let ctx: PipelineContext;
const source = {
  name: 'geo-test',
  format: 'ndjson',
  tenant: 'acme',
  token: tokenSection.parse({}),
};

before(() => {
  const ingest = ingestConfigSchema.parse({});
  ctx = createPipelineContext(
    ingest.enrich,
    new TokenHasher({ currentKeyId: 'k1', keys: { k1: 'q'.repeat(32) } }),
    createGeoResolver(ingest.enrich.geo),
  );
});

/** One media request of `token` from `ip` at `atMs`, as ingest turns the line into a record. */
function record(token: string, ip: string, atMs: number, seg: number): CdnRequest {
  const line = JSON.stringify({
    timestamp: new Date(atMs).toISOString(),
    clientIp: ip,
    url: `/live/ch1/720p/seg_${seg}.ts?token=${token}`,
    method: 'GET',
    status: 200,
    accountId: `acct-${token}`,
  });
  const built = buildCdnRequests(
    parseBatch('ndjson', line),
    source,
    { batchId: `b${seg}`, receivedAtMs: atMs },
    ctx,
  );
  assert.equal(built.deadLetters.length, 0, JSON.stringify(built.deadLetters[0]?.value));
  return built.records[0]!.value;
}

function geoFlags(uses: Array<[string, number]>, token: string): Anomaly[] {
  const d = new TopologyTestDriver();
  uses.forEach(([ip, atMs], i) => {
    d.pipeRequest(record(token, ip, atMs, i));
  });
  return d.flags.filter((f) => GEO_RULES.includes(f.rule));
}

/** Alternates between the addresses every `everyMs` for `count` uses. */
function alternate(ips: readonly string[], count: number, everyMs: number): Array<[string, number]> {
  return Array.from(
    { length: count },
    (_, i) => [ips[i % ips.length]!, T0 + i * everyMs] as [string, number],
  );
}

describe('geographic rules on real addresses and the bundled geo databases', () => {
  it('places the test addresses where the test says (bundled databases)', () => {
    const r = (ip: string) => record('probe', ip, T0, 0);
    assert.equal(r(ADDR.beTelenet).country, 'BE');
    assert.equal(r(ADDR.frOrange).country, 'FR');
    assert.equal(r(ADDR.frSfrMobile).asn, 15557);
    assert.equal(r(ADDR.nlKpn).country, 'NL');
    assert.equal(r(ADDR.usComcast).country, 'US');
    assert.equal(r(ADDR.usTmobile).asn, 21928);
    assert.equal(r(ADDR.deTelekom).country, 'DE');
    assert.equal(r(ADDR.usComcast).geoAccuracyKm, null, 'a country database gives no radius');
  });

  it('leaves a border household alone: home wifi in Belgium, the phone on French networks, every 30 s', () => {
    const flags = geoFlags(
      alternate([ADDR.beTelenet, ADDR.frSfrMobile, ADDR.beProximus, ADDR.frOrange], 120, 30_000),
      'border',
    );
    assert.deepEqual(flags, []);
  });

  it('leaves a mobile-carrier viewer alone: a German home line and a US carrier address (roaming, routed home)', () => {
    const flags = geoFlags(alternate([ADDR.deTelekom, ADDR.usTmobile], 60, MIN), 'roamer');
    assert.deepEqual(flags, []);
  });

  it('leaves IPv6 privacy addresses alone: a new interface id every few minutes inside one /64 of a Dutch home line', () => {
    const ips = Array.from(
      { length: 40 },
      (_, i) =>
        `2001:888:0:5678:${(0x1a2b + i * 7919).toString(16)}:${(i * 4099).toString(16)}:0:${i.toString(16)}`,
    );
    const d = new TopologyTestDriver();
    ips.forEach((ip, i) => {
      d.pipeRequest(record('v6', ip, T0 + i * 3 * MIN, i));
    });
    assert.deepEqual(
      d.flags.map((f) => f.rule),
      [],
    );
  });

  it('flags a token used in the Netherlands and the United States at once', () => {
    const flags = geoFlags(alternate([ADDR.nlKpn, ADDR.usComcast], 10, 20_000), 'shared');
    const travel = flags.find((f) => f.rule === 'impossible-travel');
    assert.ok(travel, 'impossible-travel flags the token');
    assert.equal(travel.subjectKind, 'token');
    assert.deepEqual([travel.evidence.travel!.fromCountry, travel.evidence.travel!.toCountry].sort(), [
      'NL',
      'US',
    ]);
    assert.ok(travel.evidence.travel!.minDistanceKm! > 3_000);
    assert.ok(travel.evidence.ruledOut.length >= 3, 'says which explanations were ruled out');
  });
});
