import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CdnRequest } from '../../../core/schemas/generated.ts';
import { TopologyTestDriver } from '../../../detector/testing/driver.ts';
import { heartbeat, request } from '../../../detector/testing/fixtures.ts';

const T0 = 1_700_000_400_000;
const S = 1_000;

interface Player {
  sid: string;
  ua?: string;
  net?: string;
  fromMs: number;
  toMs: number;
}

/** Each player fetches a 6 s segment every 6 s over its span, in time order (CDN logs only). */
function play(d: TopologyTestDriver, players: Player[], over: Partial<CdnRequest> = {}): void {
  const requests: CdnRequest[] = [];
  for (const p of players) {
    for (let at = p.fromMs, n = 0; at <= p.toMs; at += 6 * S, n++) {
      requests.push(
        request({
          timestampMs: at,
          sessionId: p.sid,
          userAgent: p.ua ?? `ua-${p.sid}`,
          networkPrefix: p.net ?? `net-${p.sid}`,
          segmentNumber: n,
          ...over,
        }),
      );
    }
  }
  requests.sort((a, b) => a.timestampMs - b.timestampMs);
  for (const r of requests) d.pipeRequest(r);
}

describe('cmcd-concurrency', () => {
  it('flags a third player on a 2-stream plan in a tenant that sends CDN logs only, once over the limit for 3 min, naming the newest', () => {
    const d = new TopologyTestDriver({ defaultPlan: { streamLimit: 2 } });
    play(d, [
      { sid: 'home-tv', fromMs: T0, toMs: T0 + 600 * S },
      { sid: 'home-phone', fromMs: T0 + 10 * S, toMs: T0 + 600 * S },
      { sid: 'friend', fromMs: T0 + 60 * S, toMs: T0 + 600 * S },
    ]);
    const flags = d.flagsOf('cmcd-concurrency');
    assert.equal(flags.length, 1);
    const f = flags[0]!;
    assert.equal(f.observed, 3);
    assert.equal(f.threshold, 2);
    assert.equal(f.evictSessionId, 'friend');
    assert.ok(f.detectedAtMs >= T0 + 240 * S, 'not before 3 min over the limit');
    assert.ok(f.detectedAtMs <= T0 + 250 * S, 'as soon as 3 min over the limit');
    assert.deepEqual(
      f.evidence.sessions.map((s) => [s.sessionId, s.evict]),
      [
        ['home-tv', false],
        ['home-phone', false],
        ['friend', true],
      ],
    );
    assert.deepEqual(f.evidence.signals, ['cdn-logs'], 'judged without heartbeats');
    assert.ok(f.evidence.ruledOut.length >= 3);
  });

  it('leaves a hand-over from TV to phone alone: both pull media for 90 s, then the TV stops', () => {
    const d = new TopologyTestDriver({ defaultPlan: { streamLimit: 1 } });
    play(d, [
      { sid: 'tv', ua: 'tv', net: 'home', fromMs: T0, toMs: T0 + 300 * S },
      { sid: 'phone', ua: 'phone', net: 'home', fromMs: T0 + 210 * S, toMs: T0 + 900 * S },
    ]);
    assert.equal(d.flagsOf('cmcd-concurrency').length, 0);
    // The same two players for 3 min more are two streams.
    const e = new TopologyTestDriver({ defaultPlan: { streamLimit: 1 } });
    play(e, [
      { sid: 'tv', ua: 'tv', net: 'home', fromMs: T0, toMs: T0 + 480 * S },
      { sid: 'phone', ua: 'phone', net: 'home', fromMs: T0 + 210 * S, toMs: T0 + 900 * S },
    ]);
    assert.equal(e.flagsOf('cmcd-concurrency').length, 1);
  });

  it('counts a restarted player, a multi-view player and an ad player on one device and network as one stream', () => {
    const d = new TopologyTestDriver({ defaultPlan: { streamLimit: 1 } });
    play(d, [
      { sid: 'main', ua: 'tv', net: 'home', fromMs: T0, toMs: T0 + 900 * S },
      { sid: 'angle-2', ua: 'tv', net: 'home', fromMs: T0 + 5 * S, toMs: T0 + 900 * S },
      { sid: 'ad', ua: 'tv', net: 'home', fromMs: T0 + 300 * S, toMs: T0 + 900 * S },
    ]);
    assert.equal(d.flagsOf('cmcd-concurrency').length, 0);
    // The same user agent from another network is another stream.
    const e = new TopologyTestDriver({ defaultPlan: { streamLimit: 1 } });
    play(e, [
      { sid: 'main', ua: 'tv', net: 'home', fromMs: T0, toMs: T0 + 900 * S },
      { sid: 'elsewhere', ua: 'tv', net: 'away', fromMs: T0 + 300 * S, toMs: T0 + 900 * S },
    ]);
    assert.equal(e.flagsOf('cmcd-concurrency')[0]?.evictSessionId, 'elsewhere');
  });

  it('stops counting a paused player: no segment requests for a minute', () => {
    const d = new TopologyTestDriver({ defaultPlan: { streamLimit: 1 } });
    play(d, [
      { sid: 'paused', fromMs: T0, toMs: T0 + 30 * S },
      { sid: 'playing', fromMs: T0 + 120 * S, toMs: T0 + 900 * S },
      // Resumes much later, once the other has stopped.
      { sid: 'paused', fromMs: T0 + 1000 * S, toMs: T0 + 1300 * S },
    ]);
    assert.equal(d.flagsOf('cmcd-concurrency').length, 0);
  });

  it('judges only requests that carry an account and a CMCD sid', () => {
    const d = new TopologyTestDriver({ defaultPlan: { streamLimit: 1 } });
    const players = [
      { sid: 'a', fromMs: T0, toMs: T0 + 600 * S },
      { sid: 'b', fromMs: T0, toMs: T0 + 600 * S },
    ];
    play(d, players, { accountId: null });
    assert.equal(d.flagsOf('cmcd-concurrency').length, 0, 'no account');
    const e = new TopologyTestDriver({ defaultPlan: { streamLimit: 1 } });
    play(e, players);
    assert.equal(e.flagsOf('cmcd-concurrency').length, 1, 'the same players with an account');
  });
});

describe('cmcd-concurrency where heartbeats flow', () => {
  it('leaves a tenant that sends heartbeats to account-concurrency, and says so', () => {
    const d = new TopologyTestDriver({ defaultPlan: { streamLimit: 1 } });
    d.pipeHeartbeat(heartbeat({ accountId: 'acct-other', sessionId: 'other', timestampMs: T0 }));
    play(d, [
      { sid: 'a', fromMs: T0, toMs: T0 + 600 * S },
      { sid: 'b', fromMs: T0, toMs: T0 + 600 * S },
    ]);
    // Heartbeats of the tenant within the last 30 min: the stand-in does not judge.
    assert.equal(d.flagsOf('cmcd-concurrency').length, 0);
    assert.deepEqual(d.topology.signalsReport().acme?.silencedRules, ['cmcd-concurrency']);
  });
});
