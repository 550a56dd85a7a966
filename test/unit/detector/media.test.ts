import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SessionTable } from '../../../detector/rules/sessions/index.ts';
import { TopologyTestDriver } from '../../../detector/testing/driver.ts';
import { heartbeat, plan, request } from '../../../detector/testing/fixtures.ts';

const T0 = 1_700_000_400_000;
const S = 1_000;

describe('segment-fanout', () => {
  it('flags one live segment fetched by a crowd of devices on many networks within three segment durations', () => {
    const d = new TopologyTestDriver();
    for (let i = 0; i < 20; i++) {
      d.pipeRequest(
        request({
          timestampMs: T0 + i * 200,
          segmentNumber: 100,
          deviceId: `viewer-${i}`,
          networkPrefix: `203.0.${i}.0/24`,
        }),
      );
    }
    const flags = d.flagsOf('segment-fanout');
    assert.ok(flags.length >= 1);
    assert.equal(flags[0]!.subjectKind, 'segment');
    assert.equal(flags[0]!.subjectKey, 'acct-1|ch1|100');
    assert.equal(new Set(flags.map((f) => f.id)).size, 1, 'one flag per account+content and window');
    assert.ok(flags.at(-1)!.evidence.devices.length >= 10);
  });

  it('leaves a household watching one live channel on two TVs and a phone alone', () => {
    const d = new TopologyTestDriver();
    d.pipePlan(plan({ streamLimit: 4 }));
    for (let seg = 1; seg <= 20; seg++) {
      const at = T0 + seg * 6 * S;
      d.pipeRequest(request({ timestampMs: at, segmentNumber: seg, deviceId: 'tv-1' }));
      d.pipeRequest(request({ timestampMs: at + 300, segmentNumber: seg, deviceId: 'tv-2' }));
      d.pipeRequest(
        request({
          timestampMs: at + 900,
          segmentNumber: seg,
          deviceId: 'phone',
          networkPrefix: '100.64.3.0/24',
        }),
      );
    }
    assert.equal(d.flagsOf('segment-fanout').length, 0);
  });
});

describe('request-rate', () => {
  it('flags a token pulling video ten times faster than real time', () => {
    const d = new TopologyTestDriver();
    // 200 six-second segments in 60 s: 1200 s of video in 60 s.
    for (let i = 0; i < 200; i++) d.pipeRequest(request({ timestampMs: T0 + i * 300, segmentNumber: i }));
    const flags = d.flagsOf('request-rate');
    assert.ok(flags.length >= 1);
    assert.equal(flags[0]!.threshold, 3);
    assert.ok(flags.at(-1)!.observed > 5);
    assert.ok(flags.length <= 4, 'a counter escalates by severity only');
  });

  it('counts a request delivered two or three times once: the same flags as one delivery', () => {
    const once = new TopologyTestDriver();
    const again = new TopologyTestDriver();
    // 25 six-second segments in 60 s: 2.5x, under the 3x limit; counted twice it would be 5x.
    for (let i = 0; i < 25; i++) {
      const r = request({ timestampMs: T0 + i * 2 * S, segmentNumber: i });
      once.pipeRequest(r);
      for (let n = 0; n < 2 + (i % 2); n++) again.pipeRequest(r);
    }
    assert.equal(once.flagsOf('request-rate').length, 0);
    assert.deepEqual(again.flagsOf('request-rate'), once.flagsOf('request-rate'));
  });

  it('leaves a player filling its buffer at start and then playing in real time alone', () => {
    const d = new TopologyTestDriver();
    for (let i = 0; i < 5; i++) d.pipeRequest(request({ timestampMs: T0 + i * 200, segmentNumber: i }));
    for (let i = 5; i < 60; i++)
      d.pipeRequest(request({ timestampMs: T0 + (i - 4) * 6 * S, segmentNumber: i }));
    assert.equal(d.flagsOf('request-rate').length, 0);
  });
});

/** Another viewer of the tenant, beating at `atMs`: the tenant sends heartbeats and they are current. */
function tenantBeat(d: TopologyTestDriver, atMs: number, contentId = 'ch1'): void {
  d.pipeHeartbeat(
    heartbeat({ accountId: 'acct-other', sessionId: `other-${contentId}`, contentId, timestampMs: atMs }),
  );
}

describe('segment-without-session', () => {
  it('covers CDN lines that arrive late, within the lateness, after their session went silent', () => {
    for (const sessionId of [null, 'p1']) {
      const d = new TopologyTestDriver();
      // A TV plays for 20 min, then the app is killed (no stop); the viewer starts again 2.5 min later.
      for (let t = 0; t <= 20 * 60 * S; t += 30 * S) {
        d.pipeHeartbeat(
          heartbeat({
            event: t === 0 ? 'start' : 'heartbeat',
            sessionId: 'p1',
            deviceId: 'tv',
            timestampMs: T0 + t,
          }),
        );
      }
      d.pipeHeartbeat(
        heartbeat({ event: 'start', sessionId: 'p2', deviceId: 'tv', timestampMs: T0 + 1_350 * S }),
      );
      // The CDN's lines of minutes 18.5–20 arrive now, 2.5–4 min late (the default lateness is 5 min).
      for (let t = 1_110 * S; t <= 1_200 * S; t += 6 * S) {
        d.pipeRequest(request({ timestampMs: T0 + t, sessionId, segmentNumber: t / (6 * S) }));
      }
      assert.equal(d.topology.stats.lateEvents, 0);
      assert.equal(d.flagsOf('segment-without-session').length, 0, `sid ${sessionId}`);
    }
  });

  it('counts a player that goes on beating under its sid after a stop (a fatal error recovered, or a stop sent to hide) as playing again', () => {
    const d = new TopologyTestDriver({ defaultPlan: { streamLimit: 1 } });
    d.pipeHeartbeat(heartbeat({ event: 'start', sessionId: 'home', deviceId: 'tv', timestampMs: T0 }));
    d.pipeHeartbeat(
      heartbeat({ event: 'start', sessionId: 's1', deviceId: 'phone', timestampMs: T0 + 5 * S }),
    );
    // CMCD sta=f (fatal) maps to a stop; the player plays on under the same sid.
    d.pipeHeartbeat(
      heartbeat({ event: 'stop', sessionId: 's1', deviceId: 'phone', timestampMs: T0 + 10 * S }),
    );
    for (let t = 12 * S; t < 400 * S; t += 6 * S) {
      if (t % (30 * S) < 6 * S) {
        d.pipeHeartbeat(heartbeat({ sessionId: 's1', deviceId: 'phone', timestampMs: T0 + t }));
        d.pipeHeartbeat(heartbeat({ sessionId: 'home', deviceId: 'tv', timestampMs: T0 + t + 1 }));
      }
      d.pipeRequest(request({ timestampMs: T0 + t, sessionId: 's1', segmentNumber: t / (6 * S) }));
    }
    // Its segments are covered, and it is a stream again: the newer one, named for eviction.
    assert.equal(d.flagsOf('segment-without-session').length, 0);
    const flags = d.flagsOf('account-concurrency');
    assert.equal(flags.length, 1);
    assert.equal(flags[0]!.evictSessionId, 's1');
  });

  it('takes a session heard from again after its grace period as starting anew (a TV back on after the phone went off)', () => {
    const d = new TopologyTestDriver({ defaultPlan: { streamLimit: 1 } });
    for (let t = 0; t <= 600 * S; t += 30 * S) {
      d.pipeHeartbeat(
        heartbeat({
          event: t === 0 ? 'start' : 'heartbeat',
          sessionId: 'tv',
          deviceId: 'tv',
          timestampMs: T0 + t,
        }),
      );
    }
    for (let t = 620 * S; t <= 890 * S; t += 30 * S) {
      d.pipeHeartbeat(
        heartbeat({
          event: t === 620 * S ? 'start' : 'heartbeat',
          sessionId: 'ph',
          deviceId: 'phone',
          timestampMs: T0 + t,
        }),
      );
    }
    // The phone goes silent at 890 s; the TV's app resumes its old session id at 910 s.
    for (let t = 910 * S; t <= 1_000 * S; t += 30 * S) {
      d.pipeHeartbeat(heartbeat({ sessionId: 'tv', deviceId: 'tv', timestampMs: T0 + t }));
    }
    assert.equal(d.flagsOf('account-concurrency').length, 0);
  });

  it('never forgets a session still playing to make room: a full table of playing sessions refuses the new one (counted)', () => {
    const d = new TopologyTestDriver({ detector: { entriesPerKeyMax: 8 } });
    for (let i = 0; i < 8; i++) {
      d.pipeHeartbeat(
        heartbeat({ event: 'start', sessionId: `p-${i}`, deviceId: `d-${i}`, timestampMs: T0 + i * S }),
      );
    }
    const before = d.topology.stats.overflowEntries;
    d.pipeHeartbeat(
      heartbeat({ event: 'start', sessionId: 'p-8', deviceId: 'd-8', timestampMs: T0 + 9 * S }),
    );
    assert.equal(d.topology.stats.overflowEntries, before + 1);
    const table = [...d.topology.partitions.values()][0]!.entities.get('acct-1')!.v.sessions as SessionTable;
    assert.deepEqual(Object.keys(table.s).sort(), ['p-0', 'p-1', 'p-2', 'p-3', 'p-4', 'p-5', 'p-6', 'p-7']);
  });

  it('makes room for a new session in a full table by forgetting the session that ended first', () => {
    // A feed of short clips: a session per clip, each stopped after 45 s; a table of 8 sessions
    // (entriesPerKeyMax) is full after 8 clips, long before the stopped ones are 10 min old.
    const d = new TopologyTestDriver({ detector: { entriesPerKeyMax: 8 } });
    let t = T0;
    for (let clip = 0; clip < 20; clip++, t += 46 * S) {
      const sid = `clip-${clip}`;
      d.pipeHeartbeat(heartbeat({ event: 'start', sessionId: sid, deviceId: 'phone', timestampMs: t }));
      for (let k = 0; k < 9; k++) {
        // Lines without a CMCD sid: any session of the account playing at their time covers them.
        d.pipeRequest(request({ timestampMs: t + k * 5 * S, sessionId: null, segmentNumber: clip * 9 + k }));
      }
      d.pipeHeartbeat(
        heartbeat({ event: 'stop', sessionId: sid, deviceId: 'phone', timestampMs: t + 45 * S }),
      );
    }
    assert.equal(d.flagsOf('segment-without-session').length, 0);
  });

  it('flags media fetched for an account with no heartbeat session, in a tenant that sends heartbeats', () => {
    const d = new TopologyTestDriver();
    for (let i = 0; i < 40; i++) {
      tenantBeat(d, T0 + i * 2 * S);
      d.pipeRequest(request({ timestampMs: T0 + i * 2 * S, segmentNumber: i, sessionId: 'x' }));
    }
    const flags = d.flagsOf('segment-without-session');
    assert.equal(new Set(flags.map((f) => f.id)).size, 1, 'one flag (escalations keep its id)');
    assert.equal(flags[0]!.observed, 6, 'the first segment past the 5 tolerated');
    assert.equal(flags[0]!.evidence.devices[0]!.value, 'x');
    assert.deepEqual(flags[0]!.evidence.signals, ['cdn-logs', 'heartbeats']);
  });

  it('counts a request delivered two or three times once (a batch re-sent after a lost answer)', () => {
    const once = new TopologyTestDriver();
    const again = new TopologyTestDriver();
    for (let i = 0; i < 40; i++) {
      for (const d of [once, again]) tenantBeat(d, T0 + i * 2 * S);
      const r = request({ timestampMs: T0 + i * 2 * S, segmentNumber: i, sessionId: 'x' });
      once.pipeRequest(r);
      for (let k = 0; k < 1 + (i % 3); k++) again.pipeRequest({ ...r });
    }
    const ids = (d: TopologyTestDriver) =>
      d.flagsOf('segment-without-session').map((f) => `${f.id}/${f.version}/${f.observed}`);
    assert.ok(ids(once).length > 0);
    assert.deepEqual(ids(again), ids(once));
  });

  it('stays silent for a tenant that sends only CDN logs, and counts what it did not judge', () => {
    const d = new TopologyTestDriver();
    for (let i = 0; i < 200; i++) {
      d.pipeRequest(
        request({
          timestampMs: T0 + i * 2 * S,
          segmentNumber: i,
          sessionId: `s${i % 7}`,
          accountId: `acct-${i % 13}`,
        }),
      );
      d.pipeRequest(
        request({
          timestampMs: T0 + i * 2 * S,
          segmentNumber: i,
          datacenter: true,
          asn: 16509,
          tokenHash: 'vpn-tok',
        }),
      );
    }
    assert.equal(d.flagsOf('segment-without-session').length, 0);
    assert.equal(d.flagsOf('datacenter-source').length, 0);
    assert.equal(d.topology.stats.silenced['segment-without-session'], 400);
    assert.equal(d.topology.stats.silenced['datacenter-source'], 400, 'every request goes unjudged');
    assert.equal(d.topology.tenantSignals().get('acme')!.heartbeatsLastMs, null);
    const report = d.topology.signalsReport().acme!;
    assert.equal(report.cdnLogs, true);
    assert.equal(report.heartbeats, false);
    assert.ok(report.silencedRules.includes('segment-without-session'));
    assert.ok(report.silencedRules.includes('account-concurrency'));
  });

  it('stays silent for a content id whose players send no heartbeats, while judging the one that does', () => {
    const d = new TopologyTestDriver();
    for (let i = 0; i < 40; i++) {
      tenantBeat(d, T0 + i * 2 * S, 'ch1');
      d.pipeRequest(
        request({ timestampMs: T0 + i * 2 * S, segmentNumber: i, contentId: 'web-only', sessionId: 'w' }),
      );
    }
    assert.equal(d.flagsOf('segment-without-session').length, 0);
    for (let i = 40; i < 80; i++) {
      tenantBeat(d, T0 + i * 2 * S, 'ch1');
      d.pipeRequest(
        request({ timestampMs: T0 + i * 2 * S, segmentNumber: i, contentId: 'ch1', sessionId: 'p' }),
      );
    }
    const flags = d.flagsOf('segment-without-session');
    assert.equal(new Set(flags.map((f) => f.id)).size, 1);
    assert.equal(flags[0]!.evidence.devices[0]!.value, 'p');
  });

  it('covers segments whose heartbeats arrive three minutes behind the CDN logs, and still flags the player without one', () => {
    const d = new TopologyTestDriver();
    const LAG = 3 * 60 * S;
    const beats: Array<[number, string]> = [];
    for (let i = 0; i < 120; i++) {
      const t = T0 + i * 6 * S;
      if (i % 5 === 0) beats.push([t, 'legit']);
      // The heartbeats of time t - LAG are delivered now.
      while (beats.length > 0 && beats[0]![0] <= t - LAG) {
        const [bt, sid] = beats.shift()!;
        d.pipeHeartbeat(
          heartbeat({ sessionId: sid, event: bt === T0 ? 'start' : 'heartbeat', timestampMs: bt }),
        );
      }
      d.pipeRequest(request({ timestampMs: t, segmentNumber: i, sessionId: 'legit' }));
      d.pipeRequest(
        request({ timestampMs: t + 10, segmentNumber: i, sessionId: 'no-beats', accountId: 'acct-2' }),
      );
    }
    const flags = d.flagsOf('segment-without-session');
    assert.deepEqual([...new Set(flags.map((f) => f.accountId))], ['acct-2']);
  });

  it('leaves a player whose first segments precede its start heartbeat alone (CMCD sid join)', () => {
    const d = new TopologyTestDriver();
    for (let i = 0; i < 4; i++)
      d.pipeRequest(request({ timestampMs: T0 + i * S, segmentNumber: i, sessionId: 's1' }));
    d.pipeHeartbeat(heartbeat({ event: 'start', sessionId: 's1', timestampMs: T0 + 4 * S }));
    for (let i = 4; i < 40; i++) {
      d.pipeRequest(request({ timestampMs: T0 + i * 6 * S, segmentNumber: i, sessionId: 's1' }));
      if (i % 8 === 0) d.pipeHeartbeat(heartbeat({ sessionId: 's1', timestampMs: T0 + i * 6 * S }));
    }
    assert.equal(d.flagsOf('segment-without-session').length, 0);
  });

  it('flags a patched player (sid never heartbeating) even while another device of the household plays covered', () => {
    const d = new TopologyTestDriver();
    d.pipeHeartbeat(heartbeat({ event: 'start', sessionId: 'tv', timestampMs: T0 }));
    for (let i = 0; i < 40; i++) {
      const t = T0 + i * 4 * S;
      if (i % 5 === 0) d.pipeHeartbeat(heartbeat({ sessionId: 'tv', timestampMs: t }));
      d.pipeRequest(request({ timestampMs: t, segmentNumber: i, sessionId: 'tv' }));
      d.pipeRequest(request({ timestampMs: t + 10, segmentNumber: i, sessionId: 'patched' }));
    }
    const flags = d.flagsOf('segment-without-session');
    assert.equal(new Set(flags.map((f) => f.id)).size, 1, 'one flag (escalations keep its id)');
    assert.equal(flags[0]!.subjectKey, 'acct-1');
    assert.equal(flags[0]!.evidence.devices[0]!.value, 'patched');
  });

  it('joins a request without an account to its session through the CMCD sid', () => {
    const d = new TopologyTestDriver();
    d.pipeHeartbeat(heartbeat({ event: 'start', sessionId: 's9', timestampMs: T0 }));
    for (let i = 0; i < 15; i++) {
      d.pipeRequest(request({ timestampMs: T0 + i * S, accountId: null, sessionId: 's9', segmentNumber: i }));
    }
    assert.equal(d.flagsOf('segment-without-session').length, 0);
    // The session turns into a ghost (no heartbeat for 200 s): its later segments are uncovered.
    for (let i = 0; i < 60; i++) {
      tenantBeat(d, T0 + 200 * S + i * S);
      d.pipeRequest(
        request({
          timestampMs: T0 + 200 * S + i * S,
          accountId: null,
          sessionId: 's9',
          segmentNumber: 100 + i,
        }),
      );
    }
    const flags = d.flagsOf('segment-without-session');
    assert.equal(
      new Set(flags.map((f) => f.id)).size,
      1,
      'the sid index outlives the grace: the join still finds the account',
    );
    assert.equal(flags[0]!.accountId, 'acct-1');
  });
});

describe('datacenter-source', () => {
  it('flags a token used repeatedly from a hosting ASN, naming the ASN', () => {
    const d = new TopologyTestDriver();
    for (let i = 0; i < 11; i++) {
      tenantBeat(d, T0 + i * S);
      d.pipeRequest(request({ timestampMs: T0 + i * S, datacenter: true, asn: 16509 }));
    }
    const flags = d.flagsOf('datacenter-source');
    assert.ok(flags.length >= 1);
    assert.equal(flags[0]!.evidence.asns[0]!.value, '16509');
    assert.equal(flags[0]!.observed, 9, 'the first request past the 8 tolerated');
  });

  it('counts a request delivered twice once: the same flags as one delivery', () => {
    const once = new TopologyTestDriver();
    const again = new TopologyTestDriver();
    // 8 requests from a hosting ASN are tolerated; counted twice they would be 16.
    for (let i = 0; i < 8; i++) {
      const r = request({ timestampMs: T0 + i * S, datacenter: true, asn: 16509 });
      for (const d of [once, again]) tenantBeat(d, T0 + i * S);
      once.pipeRequest(r);
      again.pipeRequest(r);
      again.pipeRequest(r);
    }
    assert.equal(once.flagsOf('datacenter-source').length, 0);
    assert.deepEqual(again.flagsOf('datacenter-source'), once.flagsOf('datacenter-source'));
  });

  it('leaves a viewer behind a VPN alone: its requests are inside its heartbeat session', () => {
    const d = new TopologyTestDriver();
    // Start-up logged before the start heartbeat (whole-second log times): not held against it.
    for (let i = 0; i < 6; i++)
      d.pipeRequest(request({ timestampMs: T0 - 1, datacenter: true, asn: 16276, sessionId: 'vpn-1' }));
    d.pipeHeartbeat(heartbeat({ event: 'start', sessionId: 'vpn-1', timestampMs: T0 }));
    for (let i = 0; i < 30; i++) {
      if (i % 5 === 0) d.pipeHeartbeat(heartbeat({ sessionId: 'vpn-1', timestampMs: T0 + i * 6 * S }));
      d.pipeRequest(
        request({ timestampMs: T0 + i * 6 * S + 5, datacenter: true, asn: 16276, sessionId: 'vpn-1' }),
      );
    }
    assert.equal(d.flagsOf('datacenter-source').length, 0);
    // The same requests after the session stopped count again.
    d.pipeHeartbeat(heartbeat({ event: 'stop', sessionId: 'vpn-1', timestampMs: T0 + 200 * S }));
    for (let i = 0; i < 9; i++)
      d.pipeRequest(
        request({ timestampMs: T0 + 201 * S + i * S, datacenter: true, asn: 16276, sessionId: 'vpn-1' }),
      );
    assert.equal(new Set(d.flagsOf('datacenter-source').map((f) => f.id)).size, 1);
  });

  it('leaves residential traffic and a single link-preview probe alone', () => {
    const d = new TopologyTestDriver();
    d.pipeRequest(request({ timestampMs: T0, datacenter: true, asn: 16509 }));
    for (let i = 1; i < 20; i++) d.pipeRequest(request({ timestampMs: T0 + i * S }));
    assert.equal(d.flagsOf('datacenter-source').length, 0);
  });
});

describe('cat-replay', () => {
  it('flags a catreplay=1 token id presented by a second client', () => {
    const d = new TopologyTestDriver();
    d.pipeRequest(
      request({ timestampMs: T0, catReplay: 1, tokenId: 'cti-1', tokenHash: 'h-cat', sessionId: 'p1' }),
    );
    d.pipeRequest(
      request({
        timestampMs: T0 + S,
        catReplay: 1,
        tokenId: 'cti-1',
        tokenHash: 'h-cat',
        sessionId: 'p2',
        networkPrefix: '203.0.113.0/24',
      }),
    );
    const flags = d.flagsOf('cat-replay');
    assert.equal(flags.length, 1);
    assert.equal(flags[0]!.subjectKey, 'h-cat');
    assert.equal(flags[0]!.evidence.devices.length, 2);
  });

  it('flags the same URL (same CMCD sid) replayed from another network', () => {
    const d = new TopologyTestDriver();
    const replayed = { catReplay: 1, tokenId: 'cti-7', tokenHash: 'h-cat7', sessionId: 'owner-sid' };
    d.pipeRequest(request({ timestampMs: T0, ...replayed }));
    d.pipeRequest(request({ timestampMs: T0 + 120 * S, ...replayed, networkPrefix: '198.51.100.0/24' }));
    assert.equal(d.flagsOf('cat-replay').length, 1);
  });

  it('leaves one player fetching many segments with its token, and catreplay=0 tokens, alone', () => {
    const d = new TopologyTestDriver();
    for (let i = 0; i < 30; i++) {
      d.pipeRequest(
        request({
          timestampMs: T0 + i * S,
          catReplay: 1,
          tokenId: 'cti-2',
          sessionId: 'p1',
          segmentNumber: i,
        }),
      );
      d.pipeRequest(
        request({
          timestampMs: T0 + i * S,
          catReplay: 0,
          tokenId: 'cti-3',
          sessionId: `p${i}`,
          segmentNumber: i,
        }),
      );
    }
    assert.equal(d.flagsOf('cat-replay').length, 0);
  });
});
