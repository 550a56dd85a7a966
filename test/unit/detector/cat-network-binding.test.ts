import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { insideBinding } from '../../../detector/rules/cat-network-binding/index.ts';
import { TopologyTestDriver } from '../../../detector/testing/driver.ts';
import { request } from '../../../detector/testing/fixtures.ts';

const T0 = 1_700_000_400_000;
const MIN = 60_000;
const RULE = 'cat-network-binding';

describe('cat-network-binding: insideBinding', () => {
  it('matches an ASN, an address and IPv4 / IPv6 prefixes (an IPv4-mapped client counts as IPv4)', () => {
    assert.equal(insideBinding(['AS64500'], 64500, null), true);
    assert.equal(insideBinding(['ip:192.0.2.10'], null, '192.0.2.10'), true);
    assert.equal(insideBinding(['ip:192.0.2.10'], null, '::ffff:192.0.2.10'), true);
    assert.equal(insideBinding(['cidr:198.51.100.0/22'], null, '198.51.103.200'), true);
    assert.equal(
      insideBinding(['cidr:192.0.2.77/24'], null, '192.0.2.1'),
      true,
      'interface form: its prefix',
    );
    assert.equal(insideBinding(['cidr:2001:db8:1234:0:0:0:0:0/48'], null, '2001:db8:1234:ff::9'), true);
    assert.equal(insideBinding(['AS1', 'AS64500'], 64500, null), true, 'any entry');
  });

  it('is false only when every entry could be checked and none matches', () => {
    assert.equal(insideBinding(['AS64500'], 64501, '203.0.113.5'), false);
    assert.equal(insideBinding(['cidr:198.51.100.0/22'], null, '198.51.104.1'), false);
    assert.equal(insideBinding(['cidr:2001:db8::/32'], 64500, '192.0.2.1'), false, 'other family: outside');
    assert.equal(insideBinding(['AS64500', 'ip:192.0.2.10'], 64501, '192.0.2.11'), false);
  });

  it('is undecided (null) when an entry cannot be checked: never outside on a guess', () => {
    assert.equal(insideBinding(['AS64500'], null, '192.0.2.1'), null, 'no ASN for the request');
    assert.equal(insideBinding(['ip:192.0.2.10'], 64500, null), null, 'no client address');
    assert.equal(
      insideBinding(['tag52:[33,"0a"]'], 64500, '192.0.2.1'),
      null,
      'an entry ingest could not read',
    );
    assert.equal(insideBinding(['AS64500', 'tag99:00'], 64501, '192.0.2.1'), null);
    // ...but a matching entry still decides.
    assert.equal(insideBinding(['tag99:00', 'AS64500'], 64500, null), true);
  });
});

describe('cat-network-binding: the rule', () => {
  const cat = (over: Parameters<typeof request>[0]) =>
    request({ tokenKind: 'cat', tokenId: 'c7', catNip: ['AS64500'], ...over });

  it('flags a token presented from two ASNs outside its binding, with them as evidence', () => {
    const d = new TopologyTestDriver();
    for (let i = 0; i < 20; i++) d.pipeRequest(cat({ timestampMs: T0 + i * 1000 })); // at home: inside
    d.pipeRequest(cat({ timestampMs: T0 + 30_000, asn: 64501, networkPrefix: '203.0.113.0/24' }));
    assert.equal(d.flagsOf(RULE).length, 0, 'one outside network is tolerated');
    d.pipeRequest(
      cat({ timestampMs: T0 + 40_000, asn: 64502, networkPrefix: '198.51.100.0/24', status: 403 }),
    );
    const flags = d.flagsOf(RULE);
    assert.equal(flags.length, 1);
    const f = flags[0]!;
    assert.equal(f.subjectKind, 'token');
    assert.equal(f.subjectKey, 'tok-1');
    assert.equal(f.threshold, 1);
    assert.equal(f.observed, 2);
    assert.deepEqual(
      f.evidence.asns.map((a) => a.value),
      ['64501', '64502'],
    );
    assert.deepEqual(
      f.evidence.networks.map((n) => n.value),
      ['203.0.113.0/24', '198.51.100.0/24'],
    );
  });

  it('leaves a phone moving between the cells of one outside carrier alone (counted by ASN)', () => {
    const d = new TopologyTestDriver();
    for (let i = 0; i < 12; i++) {
      d.pipeRequest(cat({ timestampMs: T0 + i * MIN, asn: 64999, networkPrefix: `100.64.${i}.0/24` }));
    }
    assert.equal(d.flagsOf(RULE).length, 0);
  });

  it('binds by address prefix: inside the prefix is fine, two outside networks are flagged', () => {
    const d = new TopologyTestDriver();
    const bound = (over: Parameters<typeof request>[0]) => cat({ catNip: ['cidr:192.0.2.0/24'], ...over });
    for (let i = 0; i < 10; i++)
      d.pipeRequest(bound({ timestampMs: T0 + i * 1000, clientIp: `192.0.2.${i + 1}` }));
    assert.equal(d.flagsOf(RULE).length, 0);
    d.pipeRequest(bound({ timestampMs: T0 + 20_000, clientIp: '203.0.113.9', asn: 64501 }));
    d.pipeRequest(bound({ timestampMs: T0 + 21_000, clientIp: '198.51.100.9', asn: 64502 }));
    assert.equal(d.flagsOf(RULE).length, 1);
  });

  it('ignores tokens without a binding, requests it cannot place or without an ASN, and outside networks past the window', () => {
    const d = new TopologyTestDriver();
    for (let i = 0; i < 6; i++) d.pipeRequest(cat({ timestampMs: T0 + i, catNip: null, asn: 64600 + i }));
    for (let i = 0; i < 6; i++)
      d.pipeRequest(cat({ timestampMs: T0 + 10 + i, asn: null, tokenHash: 'tok-2' }));
    for (let i = 0; i < 4; i++) {
      d.pipeRequest(cat({ timestampMs: T0 + i * 61 * MIN, asn: 64700 + i, tokenHash: 'tok-3' }));
    }
    // Outside an address binding but without an ASN: not counted (outside networks are ASNs).
    for (let i = 0; i < 6; i++) {
      d.pipeRequest(
        cat({
          timestampMs: T0 + 4 * 61 * MIN + i, // after the events above: never late
          catNip: ['ip:192.0.2.10'],
          clientIp: `203.0.${i}.9`,
          networkPrefix: `203.0.${i}.0/24`,
          asn: null,
          tokenHash: 'tok-4',
        }),
      );
    }
    assert.equal(d.flagsOf(RULE).length, 0);
  });
});
