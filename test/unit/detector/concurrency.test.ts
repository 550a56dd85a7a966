import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TopologyTestDriver } from '../../../detector/testing/driver.ts';
import { heartbeat, plan } from '../../../detector/testing/fixtures.ts';

const T0 = 1_700_000_400_000;
const S = 1_000;

function start(d: TopologyTestDriver, sid: string, atMs: number, over = {}) {
  return d.pipeHeartbeat(
    heartbeat({ event: 'start', sessionId: sid, deviceId: `dev-${sid}`, timestampMs: atMs, ...over }),
  );
}

/** A heartbeat of a playing session (the sessions that play at once keep beating). */
function beat(d: TopologyTestDriver, sid: string, atMs: number, over = {}) {
  return d.pipeHeartbeat(heartbeat({ sessionId: sid, deviceId: `dev-${sid}`, timestampMs: atMs, ...over }));
}

describe('account-concurrency', () => {
  it('does not count a player restarted after a crash (new session, same device and network) as a second stream', () => {
    const d = new TopologyTestDriver({ defaultPlan: { streamLimit: 1 } });
    start(d, 'before-crash', T0, { deviceId: 'tv-1' });
    start(d, 'after-restart', T0 + 20 * S, { deviceId: 'tv-1' });
    d.pipeHeartbeat(heartbeat({ sessionId: 'after-restart', deviceId: 'tv-1', timestampMs: T0 + 50 * S }));
    assert.equal(d.flagsOf('account-concurrency').length, 0);
    // The same device id presented from another network is still a second stream.
    start(d, 'copied-id', T0 + 60 * S, { deviceId: 'tv-1', networkPrefix: '198.51.100.0/24' });
    beat(d, 'after-restart', T0 + 80 * S, { deviceId: 'tv-1' });
    assert.equal(d.flagsOf('account-concurrency').length, 1);
    assert.equal(d.flagsOf('account-concurrency')[0]!.evictSessionId, 'copied-id');
  });

  it('flags a third stream on a 2-stream plan and names the newest session for eviction', () => {
    const d = new TopologyTestDriver();
    d.pipePlan(plan({ streamLimit: 2 }));
    start(d, 'a', T0);
    start(d, 'b', T0 + 10 * S);
    start(d, 'c', T0 + 20 * S);
    // Not yet: a and b have not been heard from since c started.
    assert.equal(d.flagsOf('account-concurrency').length, 0);
    beat(d, 'a', T0 + 30 * S);
    beat(d, 'b', T0 + 40 * S);
    const flags = d.flagsOf('account-concurrency');
    assert.equal(flags.length, 1);
    const f = flags[0]!;
    assert.equal(f.evictSessionId, 'c');
    assert.equal(f.observed, 3);
    assert.equal(f.threshold, 2);
    assert.deepEqual(
      f.evidence.sessions.map((s) => [s.sessionId, s.evict]),
      [
        ['a', false],
        ['b', false],
        ['c', true],
      ],
    );
  });

  it('keeps the earliest playing when the breach is found late (an older session heard from last)', () => {
    const d = new TopologyTestDriver({ defaultPlan: { streamLimit: 1 } });
    // The newer session's start arrives first; the older session's heartbeat (started earlier) arrives late.
    start(d, 'new', T0 + 30 * S);
    d.pipeHeartbeat(
      heartbeat({ event: 'start', sessionId: 'old', deviceId: 'dev-old', timestampMs: T0 + 5 * S }),
    );
    beat(d, 'old', T0 + 35 * S);
    const flags = d.flagsOf('account-concurrency');
    assert.equal(flags.length, 1);
    assert.equal(flags[0]!.evictSessionId, 'new');
  });

  it('does not count a screen switched off without a stop (TV off, phone on within the grace period)', () => {
    const d = new TopologyTestDriver({ defaultPlan: { streamLimit: 1 } });
    start(d, 'tv', T0);
    beat(d, 'tv', T0 + 30 * S);
    beat(d, 'tv', T0 + 60 * S);
    // The TV is switched off at 70 s without a stop; the viewer goes on on the phone at 80 s.
    start(d, 'phone', T0 + 80 * S, { networkPrefix: '100.64.0.0/24' });
    beat(d, 'phone', T0 + 110 * S, { networkPrefix: '100.64.0.0/24' });
    // The TV's stop, stamped before the phone started, arrives late.
    d.pipeHeartbeat(
      heartbeat({ event: 'stop', sessionId: 'tv', deviceId: 'dev-tv', timestampMs: T0 + 79 * S }),
    );
    beat(d, 'phone', T0 + 140 * S, { networkPrefix: '100.64.0.0/24' });
    assert.equal(d.flagsOf('account-concurrency').length, 0);
  });

  it('does not count a page reloaded under a new session id (a player without a device id)', () => {
    const d = new TopologyTestDriver({ defaultPlan: { streamLimit: 1 } });
    // Ingest uses the session id as the device id when the player sends none.
    start(d, 's1', T0, { deviceId: 's1' });
    beat(d, 's1', T0 + 30 * S, { deviceId: 's1' });
    start(d, 's2', T0 + 40 * S, { deviceId: 's2' });
    beat(d, 's2', T0 + 70 * S, { deviceId: 's2' });
    assert.equal(d.flagsOf('account-concurrency').length, 0);
  });

  it("flags two players at once at the older one's next heartbeat, naming the newer", () => {
    const d = new TopologyTestDriver({ defaultPlan: { streamLimit: 1 } });
    start(d, 'home', T0);
    beat(d, 'home', T0 + 30 * S);
    start(d, 'friend', T0 + 40 * S, { networkPrefix: '203.0.113.0/24' });
    assert.equal(d.flagsOf('account-concurrency').length, 0);
    beat(d, 'home', T0 + 60 * S);
    const flags = d.flagsOf('account-concurrency');
    assert.equal(flags.length, 1);
    assert.equal(flags[0]!.evictSessionId, 'friend');
  });

  for (const variant of ['restarts', 'stops', 'new device ids'] as const) {
    it(`flags a third player that keeps opening new sessions to look new (${variant})`, () => {
      const d = new TopologyTestDriver({ defaultPlan: { streamLimit: 2 } });
      for (let t = 0; t < 10 * 60 * S; t += 5 * S) {
        if (t % (30 * S) === 0) beat(d, 'a', T0 + t, { event: t === 0 ? 'start' : 'heartbeat' });
        if (t % (30 * S) === 15 * S) beat(d, 'b', T0 + t, { event: t === 15 * S ? 'start' : 'heartbeat' });
        if (t % (10 * S) === 5 * S) {
          const sid = `c-${t}`;
          const over = {
            deviceId: variant === 'new device ids' ? `dev-${sid}` : 'dev-c',
            networkPrefix: '203.0.113.0/24',
          };
          start(d, sid, T0 + t, over);
          if (variant === 'stops') beat(d, sid, T0 + t + 4 * S, { ...over, event: 'stop' });
        }
      }
      const flags = d.flagsOf('account-concurrency');
      assert.ok(flags.length >= 1);
      assert.equal(flags[0]!.observed, 3);
      assert.match(flags[0]!.evictSessionId!, /^c-/);
    });
  }

  it('frees the slot of a ghost session after the grace period', () => {
    const d = new TopologyTestDriver({ defaultPlan: { streamLimit: 1 } });
    start(d, 'a', T0);
    // No heartbeat from a for 2 minutes (grace 90 s): b takes its slot.
    start(d, 'b', T0 + 120 * S);
    assert.equal(d.flagsOf('account-concurrency').length, 0);
  });

  it('does not count a stopped session, nor a bitrate switch inside one session', () => {
    const d = new TopologyTestDriver({ defaultPlan: { streamLimit: 1 } });
    start(d, 'a', T0);
    d.pipeHeartbeat(heartbeat({ sessionId: 'a', timestampMs: T0 + 30 * S, bitrateKbps: 6000 }));
    d.pipeHeartbeat(heartbeat({ sessionId: 'a', timestampMs: T0 + 31 * S, bitrateKbps: 1500 }));
    d.pipeHeartbeat(heartbeat({ event: 'stop', sessionId: 'a', timestampMs: T0 + 40 * S }));
    start(d, 'b', T0 + 41 * S);
    d.pipeHeartbeat(heartbeat({ sessionId: 'a', timestampMs: T0 + 35 * S })); // late heartbeat of a stopped session
    assert.equal(d.flagsOf('account-concurrency').length, 0);
  });

  it('leaves a household within its plan alone (wifi TV + phone on 4G)', () => {
    const d = new TopologyTestDriver();
    d.pipePlan(plan({ streamLimit: 2 }));
    for (let i = 0; i < 10; i++) {
      d.pipeHeartbeat(heartbeat({ sessionId: 'tv', timestampMs: T0 + i * 30 * S }));
      d.pipeHeartbeat(
        heartbeat({ sessionId: 'phone', networkPrefix: '100.64.0.0/24', timestampMs: T0 + i * 30 * S + 1 }),
      );
    }
    assert.equal(d.flagsOf('account-concurrency').length, 0);
  });

  it('escalates the same flag with version + 1 as more sessions are heard at once, naming the newest', () => {
    const d = new TopologyTestDriver({ defaultPlan: { streamLimit: 2 } });
    start(d, 'a', T0);
    start(d, 'b', T0 + S);
    start(d, 'c', T0 + 2 * S);
    beat(d, 'a', T0 + 3 * S);
    beat(d, 'b', T0 + 4 * S); // a, b and c heard together: the breach
    beat(d, 'a', T0 + 5 * S); // same observed: no new flag
    start(d, 'd', T0 + 6 * S);
    for (const sid of ['a', 'b', 'c']) beat(d, sid, T0 + 7 * S);
    const flags = d.flagsOf('account-concurrency');
    assert.deepEqual(
      flags.map((f) => [f.evictSessionId, f.version, f.observed]),
      [
        ['c', 1, 3],
        ['d', 2, 4],
      ],
    );
    assert.equal(flags[0]!.id, flags[1]!.id);
  });

  it('evicts nobody once a breach is over: a hand-over (phone on, then the TV stopped) leaves the phone playing', () => {
    const d = new TopologyTestDriver({ defaultPlan: { streamLimit: 1 } });
    start(d, 'tv', T0);
    beat(d, 'tv', T0 + 30 * S);
    start(d, 'phone', T0 + 50 * S, { networkPrefix: '100.64.0.0/24' });
    d.pipeHeartbeat(
      heartbeat({ event: 'stop', sessionId: 'tv', deviceId: 'dev-tv', timestampMs: T0 + 55 * S }),
    );
    beat(d, 'phone', T0 + 80 * S, { networkPrefix: '100.64.0.0/24' });
    assert.equal(d.flagsOf('account-concurrency').length, 0);
  });

  it('does not stretch a silent session across its silence when its stop comes late (an app finally closed)', () => {
    const d = new TopologyTestDriver({ defaultPlan: { streamLimit: 1 } });
    start(d, 'tv', T0);
    beat(d, 'tv', T0 + 30 * S);
    beat(d, 'tv', T0 + 60 * S);
    start(d, 'phone', T0 + 80 * S, { networkPrefix: '100.64.0.0/24' });
    for (let t = 110; t <= 200; t += 30) beat(d, 'phone', T0 + t * S, { networkPrefix: '100.64.0.0/24' });
    d.pipeHeartbeat(
      heartbeat({ event: 'stop', sessionId: 'tv', deviceId: 'dev-tv', timestampMs: T0 + 205 * S }),
    );
    beat(d, 'phone', T0 + 230 * S, { networkPrefix: '100.64.0.0/24' });
    assert.equal(d.flagsOf('account-concurrency').length, 0);
  });

  it('follows the plan from the accounts topic, and the tenant default after a tombstone', () => {
    const d = new TopologyTestDriver({ tenants: { acme: { defaultPlan: { streamLimit: 1 } } } });
    d.pipePlan(plan({ streamLimit: 4, planId: 'premium' }));
    start(d, 'a', T0);
    start(d, 'b', T0 + S);
    assert.equal(d.flagsOf('account-concurrency').length, 0);
    d.pipePlanTombstone('acct-1');
    start(d, 'c', T0 + 2 * S);
    beat(d, 'a', T0 + 3 * S);
    assert.equal(d.flagsOf('account-concurrency').length, 1);
    assert.equal(d.flagsOf('account-concurrency')[0]!.threshold, 1);
  });
});

describe('title-concurrency and group-concurrency', () => {
  it('flags a third session on the same title when the plan allows two per title', () => {
    const d = new TopologyTestDriver();
    d.pipePlan(plan({ streamLimit: 4, perTitleLimit: 2 }));
    start(d, 'a', T0, { contentId: 'match' });
    start(d, 'b', T0 + S, { contentId: 'match' });
    start(d, 'c', T0 + 2 * S, { contentId: 'film' });
    assert.equal(d.flagsOf('title-concurrency').length, 0);
    start(d, 'd', T0 + 3 * S, { contentId: 'match' });
    beat(d, 'a', T0 + 4 * S, { contentId: 'match' });
    beat(d, 'b', T0 + 5 * S, { contentId: 'match' });
    const flags = d.flagsOf('title-concurrency');
    assert.equal(flags.length, 1);
    assert.equal(flags[0]!.evictSessionId, 'd');
    assert.equal(flags[0]!.observed, 3);
    assert.equal(d.flagsOf('account-concurrency').length, 0);
  });

  it('counts a session on a title from when it switched to it (autoplay), not from its start', () => {
    const d = new TopologyTestDriver();
    d.pipePlan(plan({ streamLimit: 4, perTitleLimit: 1 }));
    // b watches the match until 60 s and goes silent (no stop: still within its grace).
    start(d, 'b', T0, { contentId: 'match' });
    beat(d, 'b', T0 + 30 * S, { contentId: 'match' });
    beat(d, 'b', T0 + 60 * S, { contentId: 'match' });
    // a watches a film from 10 s and autoplays into the match at 100 s, under the same session.
    start(d, 'a', T0 + 10 * S, { contentId: 'film' });
    beat(d, 'a', T0 + 40 * S, { contentId: 'film' });
    beat(d, 'a', T0 + 100 * S, { contentId: 'match' });
    beat(d, 'a', T0 + 130 * S, { contentId: 'match' });
    assert.equal(d.flagsOf('title-concurrency').length, 0);
  });

  it('flags a concurrency group over its limit and leaves content outside the group alone', () => {
    const d = new TopologyTestDriver();
    d.pipePlan(
      plan({
        streamLimit: 4,
        concurrencyGroups: [{ groupId: 'studio-x', limit: 1, contentIdPatterns: ['sx-*', 'special'] }],
      }),
    );
    start(d, 'a', T0, { contentId: 'sx-1' });
    start(d, 'b', T0 + S, { contentId: 'other' });
    assert.equal(d.flagsOf('group-concurrency').length, 0);
    start(d, 'c', T0 + 2 * S, { contentId: 'special' });
    beat(d, 'a', T0 + 3 * S, { contentId: 'sx-1' });
    const flags = d.flagsOf('group-concurrency');
    assert.equal(flags.length, 1);
    assert.equal(flags[0]!.evictSessionId, 'c');
    assert.equal(flags[0]!.subjectKey, 'acct-1|studio-x');
  });
});
