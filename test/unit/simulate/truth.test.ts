/**
 * Ground truth is what the traffic shows: each abuser really exceeds what its class implies, and
 * each legitimate account really stays within its plan. Everything is recomputed from the
 * events themselves, not from the planner's own bookkeeping.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { AccountPlan } from '../../../core/schemas/generated.ts';
import { createSimulation } from '../../../simulate/engine.ts';
import {
  ABUSE_CLASSES,
  LEGIT_CLASSES,
  type SimEvent,
  type SimHeartbeat,
  type SimRequest,
  type TruthAccount,
} from '../../../simulate/model.ts';
import { matchesPattern } from '../../../simulate/population.ts';
import { DATACENTER_NETWORKS, distanceKm, networkOf } from '../../../simulate/world/index.ts';
import { type Collected, FIRST_LEGIT_CLASSES, SMALL, smallSimulation } from './fixture.ts';

let data: Collected;
before(async () => {
  data = await smallSimulation();
});

const DC_ASNS = new Set(DATACENTER_NETWORKS.map((n) => n.asn));

function split(events: SimEvent[]) {
  const plan = events.find((e) => e.type === 'account')?.plan as AccountPlan;
  const requests = events.filter((e) => e.type === 'request').map((e) => e.request);
  const heartbeats = events.filter((e) => e.type === 'heartbeat').map((e) => e.heartbeat);
  return { plan, requests, heartbeats };
}

interface Interval {
  sessionId: string;
  contentId: string;
  startMs: number;
  stopMs: number;
}

/**
 * Sessions from their heartbeats: start to stop. A session that ends without a stop (a screen
 * switched off) lasts until its last heartbeat, or its last request when `requests` are given.
 */
function sessionsOf(heartbeats: SimHeartbeat[], requests: SimRequest[] = []): Interval[] {
  const map = new Map<string, Interval>();
  for (const h of heartbeats) {
    const s = map.get(h.sessionId) ?? {
      sessionId: h.sessionId,
      contentId: h.contentId,
      startMs: h.timestampMs,
      stopMs: h.timestampMs,
    };
    s.startMs = Math.min(s.startMs, h.timestampMs);
    s.stopMs = Math.max(s.stopMs, h.timestampMs);
    map.set(h.sessionId, s);
  }
  const stopped = new Set(heartbeats.filter((h) => h.event === 'stop').map((h) => h.sessionId));
  const lastBeatMs = new Map([...map.values()].map((s) => [s.sessionId, s.stopMs]));
  for (const r of requests) {
    const s = map.get(r.cmcd?.sid ?? '');
    if (!s || stopped.has(s.sessionId) || r.timestampMs <= s.stopMs) continue;
    // A player that goes silent fetches until it is switched off: at most one heartbeat
    // interval (30 s) after its last beat.
    assert.ok(
      r.timestampMs <= (lastBeatMs.get(s.sessionId) ?? 0) + 30_000,
      `${s.sessionId}: a request past its last beat + 30 s`,
    );
    s.stopMs = r.timestampMs;
  }
  return [...map.values()];
}

/** Most sessions open at once among those matching keep. */
function peak(sessions: Interval[], keep: (s: Interval) => boolean = () => true): number {
  const edges: Array<[number, number]> = [];
  for (const s of sessions.filter(keep)) edges.push([s.startMs, 1], [s.stopMs, -1]);
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let max = 0;
  for (const [, d] of edges) {
    cur += d;
    max = Math.max(max, cur);
  }
  return max;
}

function tokenOf(r: SimRequest): string {
  const q = new URLSearchParams(r.query);
  return q.get('token') ?? q.get('hdnts') ?? q.get('CAT') ?? '';
}

function segmentOf(r: SimRequest): number | null {
  const m = /seg_(\d+)\.(ts|m4s)$/.exec(r.path);
  return m ? Number(m[1]) : null;
}

function accountsOf(cls: string): TruthAccount[] {
  return data.sim.truth.accounts.filter((a) => a.class === cls);
}

test('every class of viewer is present in the small simulation', () => {
  for (const cls of [...LEGIT_CLASSES, ...ABUSE_CLASSES]) {
    assert.ok(accountsOf(cls).length > 0, `no ${cls} account`);
  }
  assert.equal(data.sim.truth.abusers, Math.round(SMALL.viewers * SMALL.abuserFraction));
});

test('legitimate accounts stay within stream, per-title and group limits, with a heartbeat session for every request', () => {
  for (const a of data.sim.truth.accounts.filter((x) => x.label === 'legit')) {
    const { plan, requests, heartbeats } = split(data.byAccount.get(a.accountId) ?? []);
    const sessions = sessionsOf(heartbeats, requests);
    assert.ok(peak(sessions) <= plan.streamLimit, `${a.accountId} (${a.class}) over its stream limit`);
    if (plan.perTitleLimit !== null) {
      for (const c of new Set(sessions.map((s) => s.contentId))) {
        assert.ok(
          peak(sessions, (s) => s.contentId === c) <= plan.perTitleLimit,
          `${a.accountId} over per-title limit`,
        );
      }
    }
    for (const g of plan.concurrencyGroups) {
      const inGroup = (s: Interval) => g.contentIdPatterns.some((p) => matchesPattern(p, s.contentId));
      assert.ok(peak(sessions, inGroup) <= g.limit, `${a.accountId} over group ${g.groupId}`);
    }
    const byId = new Map(sessions.map((s) => [s.sessionId, s]));
    for (const r of requests) {
      const s = byId.get(r.cmcd?.sid ?? '');
      assert.ok(s, `${a.accountId}: request without a session`);
      assert.ok(
        r.timestampMs >= s.startMs && r.timestampMs <= s.stopMs,
        `${a.accountId}: request outside its session`,
      );
    }
    assert.equal(a.expectedRules.length, 0);
    assert.equal(a.abuseStartMs, null);
  }
});

test('the first legitimate classes keep a token on few networks: at most 3 /24s per token', () => {
  for (const a of data.sim.truth.accounts.filter((x) => FIRST_LEGIT_CLASSES.has(x.class))) {
    const { requests } = split(data.byAccount.get(a.accountId) ?? []);
    const nets = new Map<string, Set<string>>();
    for (const r of requests) {
      const t = tokenOf(r);
      const set = nets.get(t) ?? new Set<string>();
      set.add(networkOf(r.clientIp));
      nets.set(t, set);
    }
    for (const set of nets.values())
      assert.ok(set.size <= 3, `${a.accountId} (${a.class}) token on ${set.size} networks`);
  }
});

test('CGNAT pools really share one /24 between many accounts', () => {
  const perNet = new Map<string, Set<string>>();
  for (const a of accountsOf('cgnat')) {
    for (const r of split(data.byAccount.get(a.accountId) ?? []).requests) {
      const net = networkOf(r.clientIp);
      const set = perNet.get(net) ?? new Set<string>();
      set.add(a.accountId);
      perNet.set(net, set);
    }
  }
  assert.ok(
    Math.max(...[...perNet.values()].map((s) => s.size)) >= 3,
    'some CGNAT /24 serves several accounts',
  );
});

test('travellers cross one border slower than a plane, even between country centroids', () => {
  const centroid: Record<string, { lat: number; lon: number }> = {
    LU: { lat: 49.8, lon: 6.1 },
    BE: { lat: 50.6, lon: 4.5 },
  };
  let crossings = 0;
  for (const a of accountsOf('traveller')) {
    const { requests } = split(data.byAccount.get(a.accountId) ?? []);
    const countries = new Set(requests.map((r) => r.country));
    assert.ok(countries.size <= 2);
    const lastLu = requests.filter((r) => r.country === 'LU').at(-1);
    const firstBe = requests.find((r) => r.country === 'BE');
    if (!lastLu || !firstBe) continue;
    crossings++;
    const hours = (firstBe.timestampMs - lastLu.timestampMs) / 3_600_000;
    assert.ok(hours > 0);
    const kmh =
      distanceKm(centroid.LU as { lat: number; lon: number }, centroid.BE as { lat: number; lon: number }) /
      hours;
    assert.ok(kmh < 900, `traveller ${a.accountId} at ${Math.round(kmh)} km/h`);
  }
  assert.ok(crossings > 0, 'at least one traveller crossed');
});

test('a resold token reaches many clients in many countries after the abuse start', () => {
  for (const a of accountsOf('token-resale')) {
    const { requests } = split(data.byAccount.get(a.accountId) ?? []);
    const byToken = new Map<string, SimRequest[]>();
    for (const r of requests) byToken.set(tokenOf(r), [...(byToken.get(tokenOf(r)) ?? []), r]);
    const widest = Math.max(...[...byToken.values()].map((rs) => new Set(rs.map((r) => r.clientIp)).size));
    const countries = new Set(requests.map((r) => r.country)).size;
    assert.ok(widest >= SMALL.resaleClients[0] - 1, `${a.accountId}: token on ${widest} IPs`);
    assert.ok(countries >= 4, `${a.accountId}: ${countries} countries`);
    assert.ok(
      requests.some((r) => r.timestampMs >= (a.abuseStartMs ?? 0) && !r.cmcd),
      'pirate requests after abuse start',
    );
  }
});

test('a restreamer pulls each segment from several datacenter networks within two segment durations', () => {
  for (const a of accountsOf('restream')) {
    const { requests, heartbeats } = split(data.byAccount.get(a.accountId) ?? []);
    assert.equal(heartbeats.length, 0);
    assert.ok(
      requests.every((r) => DC_ASNS.has(r.asn)),
      'all from datacenters',
    );
    assert.ok(new Set(requests.map((r) => networkOf(r.clientIp))).size >= 6);
    const bySeg = new Map<number, number[]>();
    for (const r of requests) {
      const n = segmentOf(r);
      if (n !== null) bySeg.set(n, [...(bySeg.get(n) ?? []), r.timestampMs]);
    }
    const fanout = Math.max(
      ...[...bySeg.values()].map((ts) => (Math.max(...ts) - Math.min(...ts) <= 12_000 ? ts.length : 0)),
    );
    assert.ok(fanout >= 6, `${a.accountId}: best fan-out ${fanout}`);
  }
});

test('credential sharers run more concurrent sessions than their plan allows, from several cities', () => {
  for (const a of accountsOf('credential-sharing')) {
    const { plan, requests, heartbeats } = split(data.byAccount.get(a.accountId) ?? []);
    const sessions = sessionsOf(heartbeats);
    assert.ok(
      peak(sessions) > plan.streamLimit,
      `${a.accountId}: peak ${peak(sessions)} vs limit ${plan.streamLimit}`,
    );
    const cities = new Set(requests.map((r) => r.city));
    assert.ok(cities.size >= 2, `${a.accountId}: ${cities.size} cities`);
    // The abuse starts with the session that goes one past the limit.
    const starts = sessions.map((s) => s.startMs).sort((x, y) => x - y);
    assert.equal(a.abuseStartMs, starts[plan.streamLimit]);
  }
});

test('a bot pulls segments several times faster than real time', () => {
  for (const a of accountsOf('bot')) {
    const { requests } = split(data.byAccount.get(a.accountId) ?? []);
    const segs = requests.filter((r) => segmentOf(r) !== null);
    const spanMs = (segs.at(-1)?.timestampMs ?? 0) - (segs[0]?.timestampMs ?? 0);
    const realTimeMs = segs.length * (segs[0]?.cmcd?.d ?? 6000);
    assert.ok(realTimeMs / spanMs >= 4, `${a.accountId}: ${(realTimeMs / spanMs).toFixed(1)}x real time`);
  }
});

test('no-session abusers fetch segments without ever sending a heartbeat', () => {
  for (const a of accountsOf('no-session')) {
    const { requests, heartbeats } = split(data.byAccount.get(a.accountId) ?? []);
    assert.equal(heartbeats.length, 0);
    assert.ok(requests.filter((r) => segmentOf(r) !== null).length >= 10);
  }
});

test('a replayed Common Access Token with catreplay=1 is used from more than one client', async () => {
  const { CAT } = await import('@eyevinn/cat');
  // @eyevinn/cat checks exp against the wall clock: simulate around now for this one.
  const sim = await createSimulation({ ...SMALL, viewers: 120, abuserFraction: 0.1, startMs: Date.now() });
  const events = [...sim.events()];
  const cat = new CAT({
    keys: { Symmetric256: Buffer.from(sim.config.catKeyHex, 'hex') },
    expectCwtTag: true,
  });
  const accounts = sim.truth.accounts.filter((a) => a.class === 'cat-replay');
  assert.ok(accounts.length > 0);
  for (const a of accounts) {
    const requests = events.flatMap((e) =>
      e.type === 'request' && e.request.accountId === a.accountId ? [e.request] : [],
    );
    const uses = new Map<string, SimRequest[]>();
    for (const r of requests) {
      const t = new URLSearchParams(r.query).get('CAT');
      if (t) uses.set(t, [...(uses.get(t) ?? []), r]);
    }
    let replayed = 0;
    for (const [token, rs] of uses) {
      const result = await cat.validate(token, 'mac', { issuer: sim.config.catIssuer });
      assert.equal(result.error, undefined, 'a valid MAC under the configured key');
      const claims = result.cat?.claims as Record<string, unknown>;
      assert.equal(claims.sub, a.accountId);
      if (claims.catreplay === 1) {
        assert.ok(rs.length >= 2, 'used more than once');
        assert.ok(new Set(rs.map((r) => r.clientIp)).size >= 2, 'from more than one client');
        assert.equal(rs[1]?.timestampMs, a.abuseStartMs, 'the abuse starts with the first reuse');
        replayed++;
      }
    }
    assert.equal(replayed, 1, `${a.accountId} has one replayed token`);
  }
});

test('every abuser has expected rules and an abuse start inside the span', () => {
  const { startMs, endMs } = data.sim.truth;
  for (const a of data.sim.truth.accounts.filter((x) => x.label === 'abuser')) {
    assert.ok(a.expectedRules.length > 0);
    assert.ok(
      a.abuseStartMs !== null && a.abuseStartMs >= startMs && a.abuseStartMs < endMs,
      `${a.accountId} abuse start`,
    );
    assert.ok(a.tokenHashes.length > 0);
  }
});

test('on a short live-demo span every abuser still abuses inside the span', async () => {
  const sim = await createSimulation({
    seed: 'short',
    viewers: 48,
    abuserFraction: 0.5,
    durationMs: 180_000,
  });
  const { startMs, endMs } = sim.truth;
  const byAccount = new Map<string, SimRequest[]>();
  const hbs = new Map<string, SimHeartbeat[]>();
  for (const e of sim.events()) {
    if (e.type === 'request')
      byAccount.set(e.request.accountId, [...(byAccount.get(e.request.accountId) ?? []), e.request]);
    if (e.type === 'heartbeat')
      hbs.set(e.heartbeat.accountId, [...(hbs.get(e.heartbeat.accountId) ?? []), e.heartbeat]);
  }
  for (const a of sim.truth.accounts.filter((x) => x.label === 'abuser')) {
    const abuseStart = a.abuseStartMs as number;
    assert.ok(abuseStart >= startMs && abuseStart < endMs, `${a.accountId} (${a.class}) abuse start in span`);
    const after = (byAccount.get(a.accountId) ?? []).filter((r) => r.timestampMs >= abuseStart);
    assert.ok(after.length > 0, `${a.accountId} (${a.class}) has traffic after its abuse start`);
    if (a.class === 'credential-sharing') {
      assert.ok(
        peak(sessionsOf(hbs.get(a.accountId) ?? [])) > a.streamLimit,
        `${a.accountId} over its limit`,
      );
    }
    if (a.class === 'token-resale')
      assert.ok(a.facts.clients >= 50, `${a.accountId}: ${a.facts.clients} clients`);
    if (a.class === 'restream') assert.ok(a.facts.networks >= 6);
  }
});

test('some households watch over IPv6, each from one /48', () => {
  const v6 = data.sim.truth.accounts
    .filter((a) => a.class === 'household')
    .map((a) => split(data.byAccount.get(a.accountId) ?? []).requests.filter((r) => r.clientIp.includes(':')))
    .filter((rs) => rs.length > 0);
  assert.ok(v6.length > 0, 'at least one IPv6 household');
  for (const rs of v6) assert.equal(new Set(rs.map((r) => networkOf(r.clientIp))).size, 1);
});
