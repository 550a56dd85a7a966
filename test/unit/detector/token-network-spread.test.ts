import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TopologyTestDriver } from '../../../detector/testing/driver.ts';
import { request } from '../../../detector/testing/fixtures.ts';

const T0 = 1_700_000_400_000;
const MIN = 60_000;

describe('token-network-spread', () => {
  it('flags a token used from more networks than a household has, with the networks as evidence', () => {
    const d = new TopologyTestDriver();
    for (let i = 0; i < 8; i++) {
      d.pipeRequest(
        request({ timestampMs: T0 + i * 1000, networkPrefix: `198.51.${i}.0/24`, asn: 64500 + i }),
      );
    }
    const flags = d.flagsOf('token-network-spread');
    assert.ok(flags.length >= 1);
    const last = flags.at(-1)!;
    assert.equal(last.subjectKind, 'token');
    assert.equal(last.subjectKey, 'tok-1');
    assert.equal(last.threshold, 4);
    assert.equal(last.observed, 8);
    assert.equal(last.evidence.networks.length, 8);
    assert.equal(last.evidence.networks[0]!.value, '198.51.0.0/24');
    assert.equal(last.evidence.asns.length, 8);
    // One flag id per subject and window, escalated by version.
    assert.equal(new Set(flags.map((f) => f.id)).size, 1);
    assert.deepEqual(
      flags.map((f) => f.version),
      [1, 2, 3, 4],
    );
  });

  it('leaves a household on wifi + 4G and a commuter changing cells alone', () => {
    const d = new TopologyTestDriver();
    const nets = ['192.0.2.0/24', '100.64.1.0/24', '100.64.9.0/24', '192.0.2.0/24', '100.64.20.0/24'];
    nets.forEach((net, i) => {
      d.pipeRequest(request({ timestampMs: T0 + i * 2 * MIN, networkPrefix: net }));
    });
    assert.equal(d.flagsOf('token-network-spread').length, 0);
  });

  it('leaves a CGNAT pool rotating addresses inside one network alone', () => {
    const d = new TopologyTestDriver();
    for (let i = 0; i < 50; i++) {
      d.pipeRequest(
        request({ timestampMs: T0 + i * 1000, clientIp: `100.64.0.${i}`, networkPrefix: '100.64.0.0/24' }),
      );
    }
    assert.equal(d.flagsOf('token-network-spread').length, 0);
  });

  it('forgets networks older than the window', () => {
    const d = new TopologyTestDriver();
    for (let i = 0; i < 8; i++) {
      d.pipeRequest(request({ timestampMs: T0 + i * 4 * MIN, networkPrefix: `198.51.${i}.0/24` }));
    }
    assert.equal(d.flagsOf('token-network-spread').length, 0);
  });

  it('takes per-tenant and per-plan thresholds', () => {
    const d = new TopologyTestDriver({
      tenants: { acme: { rules: { 'token-network-spread': { maxNetworks: 2 } } } },
    });
    for (let i = 0; i < 3; i++)
      d.pipeRequest(request({ timestampMs: T0 + i, networkPrefix: `198.51.${i}.0/24` }));
    assert.equal(d.flagsOf('token-network-spread').length, 1);
    assert.equal(d.flagsOf('token-network-spread')[0]!.threshold, 2);
  });
  it('does not count a late line from before the window (a standard log delivered 15 min late)', () => {
    const d = new TopologyTestDriver({ detector: { allowedLatenessBySourceMs: { std: 30 * MIN } } });
    // A household's four networks now: home and 4G, each over IPv4 and IPv6.
    const nets = ['198.51.100.0/24', '2001:db8:1::/48', '203.0.113.0/24', '2001:db8:2::/48'];
    for (let i = 0; i < 8; i++) {
      d.pipeRequest(request({ timestampMs: T0 + 20 * MIN + i * 6_000, networkPrefix: nets[i % 4]! }));
    }
    // The office network, 15 min earlier: outside the 10-min window the other four are counted in.
    d.pipeRequest(request({ source: 'std', timestampMs: T0 + 5 * MIN, networkPrefix: '192.0.2.0/24' }));
    assert.equal(d.topology.stats.lateEvents, 0, 'within the source lateness: processed');
    assert.equal(d.flagsOf('token-network-spread').length, 0);
  });
});
