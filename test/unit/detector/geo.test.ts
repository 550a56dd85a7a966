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
  it('flags a token in Amsterdam and Singapore ten minutes apart, with distance and speed', () => {
    const d = new TopologyTestDriver();
    d.pipeRequest(request({ timestampMs: T0, ...AMS, networkPrefix: '192.0.2.0/24' }));
    d.pipeRequest(request({ timestampMs: T0 + 10 * MIN, ...SIN, networkPrefix: '203.0.113.0/24' }));
    const flags = d.flagsOf('impossible-travel');
    assert.equal(flags.length, 1);
    const travel = flags[0]!.evidence.travel!;
    assert.equal(travel.fromCountry, 'NL');
    assert.equal(travel.toCountry, 'SG');
    assert.ok(travel.distanceKm > 10_000 && travel.distanceKm < 11_000);
    assert.ok(travel.speedKmh > 50_000);
    assert.equal(travel.elapsedMs, 10 * MIN);
  });

  it('leaves a flight from Amsterdam to New York alone (eight hours later)', () => {
    const d = new TopologyTestDriver({ rules: { 'impossible-travel': { windowMs: 12 * 60 * MIN } } });
    d.pipeRequest(request({ timestampMs: T0, ...AMS }));
    d.pipeRequest(request({ timestampMs: T0 + 8 * 60 * MIN, ...NYC }));
    assert.equal(d.flagsOf('impossible-travel').length, 0);
  });
});
