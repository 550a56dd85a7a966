import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../../core/clock.ts';
import { isLeechguardError } from '../../../core/errors.ts';
import { detectorConfig } from '../../../detector/config.ts';
import { flagId, severityOf } from '../../../detector/engine/topology.ts';
import { TopologyTestDriver } from '../../../detector/testing/driver.ts';
import { heartbeat, request } from '../../../detector/testing/fixtures.ts';

const T0 = 1_700_000_400_000;

function spread(d: TopologyTestDriver, at: number, n: number, token = 'tok-1') {
  for (let i = 0; i < n; i++) {
    d.pipeRequest(request({ timestampMs: at + i, tokenHash: token, networkPrefix: `198.51.${i}.0/24` }));
  }
}

describe('detector engine', () => {
  it('derives flag ids from rule, subject and window only, so two runs agree', () => {
    const a = new TopologyTestDriver();
    const b = new TopologyTestDriver();
    spread(a, T0, 6);
    spread(b, T0, 6);
    assert.ok(a.flags.length > 0);
    const strip = (fs: typeof a.flags) => fs.map(({ triggerEventId: _t, ...rest }) => rest);
    assert.deepEqual(strip(a.flags), strip(b.flags));
    const f = a.flagsOf('token-network-spread')[0]!;
    assert.equal(f.id, flagId('token-network-spread', 'token', 'tok-1', f.windowStartMs));
  });

  it('counts and drops events older than the watermark minus the allowed lateness', () => {
    const d = new TopologyTestDriver({ detector: { allowedLatenessMs: 1_000 } });
    d.pipeRequest(request({ timestampMs: T0 }));
    d.pipeRequest(request({ timestampMs: T0 - 500 }));
    d.pipeRequest(request({ timestampMs: T0 - 5_000 }));
    assert.equal(d.topology.stats.lateEvents, 1);
    assert.equal(d.topology.stats.events, 2);
    assert.equal(d.state().meta.watermarkMs, T0);
  });

  it('a source configured with its own lateness is taken 10 minutes behind the others: the same subjects flagged as in order', () => {
    const config = { detector: { allowedLatenessBySourceMs: { 'cdn-slow': 15 * 60_000 } } };
    const ordered = new TopologyTestDriver(config);
    const lagging = new TopologyTestDriver(config);
    const strict = new TopologyTestDriver();
    // One token on many networks: the slow CDN's requests arrive 10 minutes after the others'.
    const fast = Array.from({ length: 40 }, (_, i) =>
      request({
        timestampMs: T0 + i * 30_000,
        networkPrefix: `198.51.${i % 3}.0/24`,
        segmentNumber: i,
        source: 'cdn-fast',
      }),
    );
    const slow = Array.from({ length: 40 }, (_, i) =>
      request({
        timestampMs: T0 + i * 30_000 + 1,
        networkPrefix: `203.0.${i}.0/24`,
        segmentNumber: 1000 + i,
        source: 'cdn-slow',
      }),
    );
    for (let i = 0; i < 40; i++) {
      ordered.pipeRequest(fast[i]!);
      ordered.pipeRequest(slow[i]!);
    }
    for (let i = 0; i < 40; i++) {
      for (const d of [lagging, strict]) {
        d.pipeRequest(fast[i]!);
        if (i >= 20) d.pipeRequest(slow[i - 20]!); // 20 x 30 s = 10 minutes behind
      }
    }
    for (const d of [lagging, strict]) for (let i = 20; i < 40; i++) d.pipeRequest(slow[i]!);
    const subjects = (d: TopologyTestDriver) =>
      [...new Set(d.flags.map((f) => `${f.rule}:${f.subjectKey}`))].sort();
    assert.ok(ordered.flags.length > 0);
    assert.equal(lagging.topology.stats.lateEvents, 0);
    assert.equal(lagging.topology.stats.events, 80, 'every event of the slow source taken');
    assert.deepEqual(subjects(lagging), subjects(ordered));
    assert.ok(
      strict.topology.stats.lateEvents > 0,
      'with the default 5 minutes the slow source is late, and counted',
    );
  });

  it('drops events stamped too far ahead of the clock, so they cannot move the watermark', () => {
    const clock = new ManualClock(T0);
    const d = new TopologyTestDriver({ detector: { maxFutureSkewMs: 60_000 } }, clock);
    d.pipeRequest(request({ timestampMs: T0 - 1_000 }));
    d.pipeRequest(request({ timestampMs: T0 + 30_000 }), { partition: 0 });
    assert.equal(d.state().meta.watermarkMs, T0 + 30_000, 'within the skew: taken');
    d.pipeRequest(request({ timestampMs: T0 + 10 * 60_000 }));
    assert.equal(d.topology.stats.futureEvents, 1);
    assert.equal(d.state().meta.watermarkMs, T0 + 30_000, 'the future event did not move it');
    // Once the clock reaches it, the same time is ordinary.
    clock.advance(10 * 60_000);
    d.pipeRequest(request({ timestampMs: T0 + 10 * 60_000 }));
    assert.equal(d.state().meta.watermarkMs, T0 + 10 * 60_000);
    assert.equal(d.topology.stats.events, 3);
    // Without a clock (backtests) any time is taken.
    const backtest = new TopologyTestDriver({ detector: { maxFutureSkewMs: 60_000 } });
    backtest.pipeRequest(request({ timestampMs: Date.now() + 3_600_000 }));
    assert.equal(backtest.topology.stats.futureEvents, 0);
  });

  it('keeps the watermark and offsets per partition', () => {
    const d = new TopologyTestDriver();
    d.pipeRequest(request({ timestampMs: T0 }), { partition: 1 });
    d.pipeRequest(request({ timestampMs: T0 + 10 }), { partition: 1 });
    d.pipeRequest(request({ timestampMs: T0 + 99 }), { partition: 2 });
    assert.equal(d.state(1).meta.watermarkMs, T0 + 10);
    assert.equal(d.state(1).meta.offsets.requests, 2);
    assert.equal(d.state(2).meta.watermarkMs, T0 + 99);
  });

  it('sheds the coldest state keys at the partition bound (counted) and stays within it', () => {
    const d = new TopologyTestDriver({ detector: { stateKeysPerPartitionMax: 20 } });
    for (let i = 0; i < 50; i++)
      d.pipeRequest(request({ timestampMs: T0 + i, tokenHash: `t${i}`, accountId: `a${i}` }));
    assert.ok(d.state().size <= 20);
    assert.ok(d.state().overflowKeys > 0);
  });

  it('a flood of random tokens filling the key bound does not blind it to a real shared token', () => {
    const d = new TopologyTestDriver({ detector: { stateKeysPerPartitionMax: 200 } });
    for (let i = 0; i < 2_000; i++)
      d.pipeRequest(
        request({ timestampMs: T0 + i, tokenHash: `random-${i}`, networkPrefix: '203.0.113.0/24' }),
      );
    assert.ok(d.state().overflowKeys > 0, 'the flood reached the bound');
    spread(d, T0 + 3_000, 6, 'tok-shared');
    assert.ok(d.flagsOf('token-network-spread').some((f) => f.subjectKey === 'tok-shared'));
    assert.ok(d.state().size <= 200);
  });

  it('counts entries refused at the per-key bound instead of crashing', () => {
    const d = new TopologyTestDriver({ detector: { entriesPerKeyMax: 8 } });
    spread(d, T0, 30);
    assert.ok(d.topology.stats.overflowEntries > 0);
    assert.equal(d.flagsOf('token-network-spread').at(-1)!.observed, 8);
  });

  it('sweeps expired state after the window has passed the watermark', () => {
    const d = new TopologyTestDriver();
    spread(d, T0, 3);
    const before = d.state().size;
    d.pipeRequest(request({ timestampMs: T0 + 24 * 3_600_000, tokenHash: 'later', accountId: 'other' }));
    const removed = d.topology.sweep(0);
    assert.ok(removed > 0);
    assert.ok(d.state().size < before + 5);
  });

  it("past the tenants a partition tracks, a CDN-logs-only tenant borrows no other tenant's heartbeats", () => {
    const d = new TopologyTestDriver();
    // 1,000 tenants (the bound) and one more, all sending heartbeats.
    for (let i = 0; i <= 1_000; i++) {
      d.pipeHeartbeat(
        heartbeat({ tenant: `t-${i}`, accountId: `a-${i}`, sessionId: `s-${i}`, timestampMs: T0 }),
      );
    }
    // A tenant that sends CDN logs only, its viewers behind a VPN: no session can cover them.
    for (let i = 0; i < 40; i++) {
      d.pipeRequest(
        request({
          tenant: 'cdn-only',
          timestampMs: T0 + i * 2_000,
          segmentNumber: i,
          datacenter: true,
          asn: 16509,
        }),
      );
    }
    assert.equal(d.flagsOf('datacenter-source').length, 0);
    assert.equal(d.topology.stats.silenced['datacenter-source'], 40);
    // An untracked tenant is judged the same whether or not other tenants' events come between
    // its heartbeats and its requests (a replay or a restart gives the same answer).
    for (let i = 0; i < 40; i++) {
      const atMs = T0 + 100_000 + i * 2_000;
      d.pipeHeartbeat(heartbeat({ tenant: 't-1000', accountId: 'a-x', sessionId: 's-x', timestampMs: atMs }));
      d.pipeRequest(request({ tenant: 't-1000', timestampMs: atMs, datacenter: true, asn: 16509 }));
    }
    assert.equal(d.topology.stats.silenced['datacenter-source'], 80);
  });

  it('disables a rule per plan', () => {
    const d = new TopologyTestDriver({
      tenants: { acme: { plans: { default: { 'token-network-spread': { enabled: false } } } } },
    });
    spread(d, T0, 8);
    assert.equal(d.flagsOf('token-network-spread').length, 0);
  });

  it('rejects an unknown rule or key in a tenant override at boot', () => {
    assert.throws(
      () => detectorConfig({ tenants: { acme: { rules: { 'no-such-rule': {} } } } }),
      (e: unknown) => isLeechguardError(e) && e.code === 'DET_ERR_RULE_CONFIG_INVALID',
    );
    assert.throws(
      () => detectorConfig({ tenants: { acme: { rules: { 'geo-spread': { maxCountriez: 3 } } } } }),
      (e: unknown) => isLeechguardError(e) && e.code === 'DET_ERR_RULE_CONFIG_INVALID',
    );
    assert.throws(() => detectorConfig({ detector: { unknownKey: 1 } }));
  });

  it('grades severity by how far the observed value is past the threshold', () => {
    assert.equal(severityOf(5, 4), 'low');
    assert.equal(severityOf(8, 4), 'medium');
    assert.equal(severityOf(16, 4), 'high');
    assert.equal(severityOf(17, 4), 'critical');
  });
});
