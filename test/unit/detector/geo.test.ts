import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TopologyTestDriver } from '../../../detector/testing/driver.ts';
import { request } from '../../../detector/testing/fixtures.ts';

const T0 = 1_700_000_400_000;
const MIN = 60_000;
const AMS = { latitude: 52.37, longitude: 4.9, country: 'NL' };
const BRU = { latitude: 50.85, longitude: 4.35, country: 'BE' };
const NYC = { latitude: 40.71, longitude: -74.0, country: 'US' };
const SIN = { latitude: 1.35, longitude: 103.82, country: 'SG' };

describe('geo-spread', () => {
  it('counts neighbouring countries as one region: a token in Belgium, France, Luxembourg and Germany', () => {
    const d = new TopologyTestDriver();
    ['BE', 'FR', 'LU', 'DE', 'BE'].forEach((country, i) => {
      d.pipeRequest(request({ timestampMs: T0 + i * MIN, country }));
    });
    assert.equal(d.flagsOf('geo-spread').length, 0);
  });

  it('does not count mobile carrier, satellite or hosting positions', () => {
    const d = new TopologyTestDriver();
    d.pipeRequest(request({ timestampMs: T0, country: 'NL' }));
    d.pipeRequest(request({ timestampMs: T0 + MIN, country: 'US', asn: 21928 })); // T-Mobile US
    d.pipeRequest(request({ timestampMs: T0 + 2 * MIN, country: 'GB', asn: 14593 })); // Starlink gateway
    d.pipeRequest(request({ timestampMs: T0 + 3 * MIN, country: 'SG', datacenter: true, asn: 16509 }));
    assert.equal(d.flagsOf('geo-spread').length, 0);
    assert.equal(d.flagsOf('impossible-travel').length, 0);
  });

  it('leaves a Gibraltar commuter alone: Spain, Gibraltar, and the home ISP placed in Britain', () => {
    const d = new TopologyTestDriver();
    // Gibraltar has no box of its own: it is in Spain's region. Ingest gives a country-level
    // position its country's centroid.
    const GI = { country: 'GI', latitude: 36.14, longitude: -5.35 };
    [{ country: 'ES' }, GI, { country: 'GB' }, GI, { country: 'ES' }].forEach((place, i) => {
      d.pipeRequest(request({ timestampMs: T0 + i * MIN, ...place }));
    });
    assert.equal(d.flagsOf('geo-spread').length, 0);
  });

  it('still counts a larger country without a known extent as a region: Netherlands, United States, Papua New Guinea', () => {
    const d = new TopologyTestDriver();
    [{ country: 'NL' }, { country: 'US' }, { country: 'PG', latitude: -6.3, longitude: 143.96 }].forEach(
      (place, i) => {
        d.pipeRequest(request({ timestampMs: T0 + i * MIN, accountId: null, ...place }));
      },
    );
    assert.equal(d.flagsOf('geo-spread').length, 1);
  });

  it('flags a token seen in three countries within the hour', () => {
    const d = new TopologyTestDriver();
    ['NL', 'US', 'SG'].forEach((country, i) => {
      d.pipeRequest(request({ timestampMs: T0 + i * MIN, country, accountId: null }));
    });
    const flags = d.flagsOf('geo-spread');
    assert.equal(flags.length, 1);
    assert.equal(flags[0]!.subjectKind, 'token');
    assert.deepEqual(
      flags[0]!.evidence.countries.map((c) => c.value),
      ['NL', 'US', 'SG'],
    );
  });

  it('leaves a traveller crossing one border by train alone', () => {
    const d = new TopologyTestDriver();
    for (let i = 0; i < 10; i++) d.pipeRequest(request({ timestampMs: T0 + i * MIN, ...AMS }));
    for (let i = 10; i < 20; i++) d.pipeRequest(request({ timestampMs: T0 + i * MIN, ...BRU }));
    assert.equal(d.flagsOf('geo-spread').length, 0);
    assert.equal(d.flagsOf('impossible-travel').length, 0);
  });

  it('leaves a family member abroad on the family plan alone (two tokens, one account, two countries)', () => {
    const d = new TopologyTestDriver();
    for (let i = 0; i < 5; i++) {
      d.pipeRequest(request({ timestampMs: T0 + i * MIN, tokenHash: 'tok-home', ...AMS }));
      d.pipeRequest(request({ timestampMs: T0 + i * MIN + 1, tokenHash: 'tok-abroad', ...NYC }));
    }
    assert.equal(d.flagsOf('geo-spread').length, 0);
    assert.equal(d.flagsOf('impossible-travel').length, 0);
  });

  it('flags an account used in more countries than the family plus one member abroad', () => {
    const d = new TopologyTestDriver();
    ['NL', 'US', 'SG', 'BR'].forEach((country, i) => {
      d.pipeRequest(request({ timestampMs: T0 + i * MIN, tokenHash: `tok-${i}`, country }));
    });
    const flags = d.flagsOf('geo-spread').filter((f) => f.subjectKind === 'account');
    assert.equal(flags.length, 1);
    assert.equal(flags[0]!.observed, 4);
  });
});

describe('impossible-travel', () => {
  it('flags a token in Amsterdam and Singapore at once (alternating every 30 s), with distance and speed', () => {
    const d = new TopologyTestDriver();
    const at = (i: number) => T0 + i * 30_000;
    d.pipeRequest(request({ timestampMs: at(0), ...AMS, networkPrefix: '192.0.2.0/24' }));
    d.pipeRequest(request({ timestampMs: at(1), ...SIN, networkPrefix: '203.0.113.0/24' }));
    d.pipeRequest(request({ timestampMs: at(2), ...AMS, networkPrefix: '192.0.2.0/24' }));
    d.pipeRequest(request({ timestampMs: at(3), ...SIN, networkPrefix: '203.0.113.0/24' }));
    assert.equal(d.flagsOf('impossible-travel').length, 0, 'three switches could still be a VPN flapping');
    d.pipeRequest(request({ timestampMs: at(4), ...AMS, networkPrefix: '192.0.2.0/24' }));
    const flags = d.flagsOf('impossible-travel');
    assert.equal(flags.length, 1);
    const travel = flags[0]!.evidence.travel!;
    assert.equal(travel.fromCountry, 'SG');
    assert.equal(travel.toCountry, 'NL');
    assert.equal(travel.switches, 4);
    assert.ok(travel.distanceKm > 10_000 && travel.distanceKm < 11_000, 'centre distance');
    assert.ok(
      travel.minDistanceKm! > 5_000 && travel.minDistanceKm! <= travel.distanceKm,
      'after uncertainty',
    );
    assert.ok(travel.speedKmh > 50_000);
    assert.equal(travel.elapsedMs, 30_000);
    assert.ok(flags[0]!.evidence.ruledOut.some((r) => r.startsWith('a single jump')));
  });

  it('leaves a full-tunnel VPN turned on and off alone: the office egress abroad, then the home line, twice', () => {
    const d = new TopologyTestDriver();
    const places = [AMS, AMS, NYC, NYC, NYC, AMS, AMS, NYC, NYC, AMS];
    places.forEach((p, i) => {
      d.pipeRequest(request({ timestampMs: T0 + i * 4 * MIN, ...p }));
    });
    assert.equal(d.flagsOf('impossible-travel').length, 0);
  });

  it('leaves a single jump alone (a VPN switched on, an address re-geolocated)', () => {
    const d = new TopologyTestDriver();
    d.pipeRequest(request({ timestampMs: T0, ...AMS }));
    for (let i = 1; i < 20; i++) d.pipeRequest(request({ timestampMs: T0 + i * MIN, ...SIN }));
    assert.equal(d.flagsOf('impossible-travel').length, 0);
  });

  it('leaves a flight from Amsterdam to New York alone (eight hours later)', () => {
    const d = new TopologyTestDriver({ rules: { 'impossible-travel': { windowMs: 12 * 60 * MIN } } });
    d.pipeRequest(request({ timestampMs: T0, ...AMS }));
    d.pipeRequest(request({ timestampMs: T0 + 8 * 60 * MIN, ...NYC }));
    d.pipeRequest(request({ timestampMs: T0 + 16 * 60 * MIN, ...AMS }));
    assert.equal(d.flagsOf('impossible-travel').length, 0);
  });

  it('leaves a border household alone: home wifi in Belgium, the phone placed in France, every minute', () => {
    const d = new TopologyTestDriver();
    for (let i = 0; i < 30; i++) {
      const place = i % 2 === 0 ? { country: 'BE' } : { country: 'FR' };
      d.pipeRequest(request({ timestampMs: T0 + i * MIN, ...place }));
    }
    assert.equal(d.flagsOf('impossible-travel').length, 0);
    assert.equal(d.flagsOf('geo-spread').length, 0);
  });

  it('leaves a roaming phone alone: hotel wifi in Spain, its home mobile carrier placed in Britain', () => {
    const d = new TopologyTestDriver();
    for (let i = 0; i < 30; i++) {
      const place = i % 2 === 0 ? { country: 'ES', asn: 3352 } : { country: 'GB', asn: 25135 };
      d.pipeRequest(request({ timestampMs: T0 + i * MIN, ...place }));
    }
    assert.equal(d.flagsOf('impossible-travel').length, 0);
    assert.equal(d.flagsOf('geo-spread').length, 0);
  });

  it('judges a City position by its accuracy radius: two radii that overlap are one place', () => {
    const d = new TopologyTestDriver();
    // Paris and Lyon (390 km) with 250 km radii overlap; Paris and a point in Texas do not.
    const PARIS = { latitude: 48.86, longitude: 2.35, geoAccuracyKm: 250, country: 'FR' };
    const LYON = { latitude: 45.76, longitude: 4.84, geoAccuracyKm: 250, country: 'FR' };
    const DALLAS = { latitude: 32.78, longitude: -96.8, geoAccuracyKm: 100, country: 'US' };
    for (let i = 0; i < 6; i++)
      d.pipeRequest(request({ timestampMs: T0 + i * MIN, ...(i % 2 ? PARIS : LYON) }));
    assert.equal(d.flagsOf('impossible-travel').length, 0);
    for (let i = 6; i < 11; i++)
      d.pipeRequest(request({ timestampMs: T0 + 6 * MIN + (i - 6) * 20_000, ...(i % 2 ? DALLAS : PARIS) }));
    assert.equal(d.flagsOf('impossible-travel').length, 1);
  });
  it('leaves a dual-stack viewer in Honolulu alone: a City point on IPv4, country-level US on IPv6', () => {
    const d = new TopologyTestDriver();
    // The US country box is the contiguous states: a US point outside it is still in the US.
    const HNL = { latitude: 21.31, longitude: -157.86, geoAccuracyKm: 20, country: 'US' };
    const US = { latitude: 37.75, longitude: -97.82, geoAccuracyKm: null, country: 'US' };
    for (let i = 0; i < 12; i++) {
      const v4 = i % 2 === 0;
      d.pipeRequest(
        request({
          timestampMs: T0 + i * 6_000,
          networkPrefix: v4 ? '198.51.100.0/24' : '2001:db8:1::/48',
          ...(v4 ? HNL : US),
        }),
      );
    }
    assert.equal(d.flagsOf('impossible-travel').length, 0);
  });

  it('joins a position to the current place first: a move within one region is not a switch away from an older place', () => {
    const d = new TopologyTestDriver();
    const PARIS = { latitude: 48.86, longitude: 2.35, geoAccuracyKm: 10, country: 'FR' };
    const MARSEILLE = { latitude: 43.3, longitude: 5.37, geoAccuracyKm: 10, country: 'FR' };
    // 280 km from Marseille, under minDistanceKm (500): one place with it.
    const LYON = { latitude: 45.76, longitude: 4.84, geoAccuracyKm: 20, country: 'FR' };
    let t = T0;
    d.pipeRequest(request({ timestampMs: t, ...PARIS }));
    t += 55 * MIN; // a train to Marseille
    d.pipeRequest(request({ timestampMs: t, ...MARSEILLE }));
    // A Marseille household, one of whose addresses is placed in Lyon.
    for (let i = 0; i < 8; i++) {
      t += 20_000;
      d.pipeRequest(request({ timestampMs: t, ...(i % 2 ? MARSEILLE : LYON) }));
    }
    assert.equal(d.flagsOf('impossible-travel').length, 0);
  });
});
