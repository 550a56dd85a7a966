/**
 * Each legitimate class built from published material does what docs/simulate.md says it does,
 * checked on the generated requests with the bundled geo / ASN databases ingest enriches with
 * (not on the planner's own bookkeeping). One small simulation per class.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createGeoResolver, type GeoResolver } from '../../../ingest/transforms/enrich/geo.ts';
import { createSimulation } from '../../../simulate/engine.ts';
import type { LegitClass, SimRequest } from '../../../simulate/model.ts';
import { BORDER_AREAS } from '../../../simulate/world/borders.ts';
import { DATACENTER_NETWORKS, networkOf, networksOfKind, prefix64Of } from '../../../simulate/world/index.ts';

let geo: GeoResolver | undefined;
function resolver(): GeoResolver {
  geo ??= createGeoResolver({ bundled: true });
  return geo;
}

/** Requests of a one-class simulation, per account. */
async function requestsOf(
  cls: LegitClass,
  viewers = 120,
  seed = 'legit-classes',
): Promise<Map<string, SimRequest[]>> {
  const sim = await createSimulation({ seed, viewers, classes: [cls], abuserFraction: 0 });
  const out = new Map<string, SimRequest[]>();
  for (const e of sim.events()) {
    if (e.type !== 'request') continue;
    const list = out.get(e.request.accountId) ?? [];
    list.push(e.request);
    out.set(e.request.accountId, list);
  }
  assert.ok(out.size > viewers / 2, `${cls}: most accounts watch something`);
  return out;
}

const countryOf = (ip: string) => resolver().country(ip);
const asnOf = (ip: string) => resolver().asn(ip);

/** Countries (per the bundled database) in time order, consecutive repeats dropped. */
function countrySequence(rs: SimRequest[]): string[] {
  const seq: string[] = [];
  for (const r of rs) {
    const c = countryOf(r.clientIp) ?? '?';
    if (seq.at(-1) !== c) seq.push(c);
  }
  return seq;
}

test("a border household's home line and phone resolve to the two neighbouring countries of its border area", async () => {
  const pairs = new Set(BORDER_AREAS.map((a) => `${a.town.country}>${a.mobileCountry}`));
  let handovers = 0;
  for (const [id, rs] of await requestsOf('border-household')) {
    const countries = new Set(rs.map((r) => countryOf(r.clientIp)));
    assert.ok(countries.size <= 2, `${id}: ${[...countries]}`);
    const bySession = new Map<string, SimRequest[]>();
    for (const r of rs) bySession.set(r.cmcd?.sid ?? '', [...(bySession.get(r.cmcd?.sid ?? '') ?? []), r]);
    for (const session of bySession.values()) {
      const seq = countrySequence(session);
      if (seq.length < 2) continue;
      handovers++;
      // The session hands over between the home line (fixed ASN of one country) and the neighbour's mobile network.
      const fixed = session.find((r) => countryOf(r.clientIp) === seq[0]) as SimRequest;
      const other = session.find((r) => countryOf(r.clientIp) === seq[1]) as SimRequest;
      const pair = [seq[0], seq[1]] as [string, string];
      assert.ok(
        pairs.has(`${pair[0]}>${pair[1]}`) || pairs.has(`${pair[1]}>${pair[0]}`),
        `${id}: ${pair.join('/')} is not a border area`,
      );
      assert.notEqual(asnOf(fixed.clientIp), asnOf(other.clientIp));
    }
  }
  assert.ok(handovers >= 10, `only ${handovers} sessions handed over across the border`);
});

test('IPv6 privacy addresses of a household stay in one /64 and rotate; its TV uses the same line over IPv4; phones leave home', async () => {
  let rotated = 0;
  let handovers = 0;
  for (const [id, all] of await requestsOf('ipv6-privacy', 150)) {
    // The home line: the operator of the first IPv6 request (a phone that left home is on a mobile ASN).
    const lineAsn = asnOf((all.find((r) => r.clientIp.includes(':')) ?? all[0])?.clientIp as string);
    const rs = all.filter((r) => asnOf(r.clientIp) === lineAsn);
    if (rs.length < all.length) handovers++;
    const v6 = rs.filter((r) => r.clientIp.includes(':'));
    const v4 = rs.filter((r) => !r.clientIp.includes(':'));
    assert.ok(new Set(v6.map((r) => prefix64Of(r.clientIp))).size <= 1, `${id}: more than one /64`);
    assert.ok(new Set(v4.map((r) => r.clientIp)).size <= 1, `${id}: one IPv4 address`);
    for (const r of all) assert.equal(countryOf(r.clientIp), all[0]?.country);
    if (new Set(v6.map((r) => r.clientIp)).size >= 2) rotated++;
  }
  assert.ok(rotated >= 10, `only ${rotated} households used more than one temporary address`);
  assert.ok(handovers >= 3, `only ${handovers} phones left home`);
});

test('a mobile-only viewer gets new carrier addresses in many networks (IPv4 /24s or IPv6 /64s), all one ASN and one country', async () => {
  let wide = 0;
  let wide6 = 0;
  for (const [id, rs] of await requestsOf('mobile-carrier')) {
    assert.equal(new Set(rs.map((r) => asnOf(r.clientIp))).size, 1, id);
    assert.equal(new Set(rs.map((r) => countryOf(r.clientIp))).size, 1, id);
    if (new Set(rs.map((r) => networkOf(r.clientIp))).size >= 3) wide++;
    const v6 = rs.filter((r) => r.clientIp.includes(':'));
    if (new Set(v6.map((r) => prefix64Of(r.clientIp))).size >= 2) wide6++;
  }
  assert.ok(wide >= 5, `only ${wide} viewers on three networks or more`);
  assert.ok(wide6 >= 5, `only ${wide6} IPv6 viewers on two /64s or more`);
});

test('a shared network puts many unrelated accounts behind one address', async () => {
  const perIp = new Map<string, Set<string>>();
  for (const [id, rs] of await requestsOf('shared-network', 300))
    for (const r of rs) perIp.set(r.clientIp, (perIp.get(r.clientIp) ?? new Set()).add(id));
  const most = Math.max(...[...perIp.values()].map((s) => s.size));
  assert.ok(most >= 5, `at most ${most} accounts share an address`);
});

test("a VPN switcher's laptop leaves through hosting ASNs and changes exit mid-session", async () => {
  const dc = new Set(DATACENTER_NETWORKS.map((n) => n.asn));
  let switched = 0;
  for (const [, rs] of await requestsOf('vpn-switcher')) {
    const laptop = rs.filter((r) => /Windows|Macintosh/.test(r.userAgent));
    assert.ok(laptop.some((r) => dc.has(asnOf(r.clientIp) ?? -1)));
    const exits = new Set(laptop.filter((r) => dc.has(asnOf(r.clientIp) ?? -1)).map((r) => r.clientIp));
    if (exits.size >= 2) switched++;
  }
  assert.ok(switched >= 10, `only ${switched} switched exit`);
});

test("a roaming traveller alternates between the visited country's hotel line and the home operator's roaming addresses", async () => {
  let alternating = 0;
  for (const [id, rs] of await requestsOf('roaming-traveller')) {
    const phone = rs.filter((r) => /iPhone|Android/.test(r.userAgent));
    const seq = countrySequence(phone);
    assert.ok(new Set(seq).size <= 2, `${id}: ${seq}`);
    if (seq.length >= 2) alternating++;
  }
  assert.ok(alternating >= 20, `only ${alternating} travellers alternated`);
});

test("a Starlink home's address is Starlink's and geolocates to the PoP's country, not the household's", async () => {
  let homes = 0;
  for (const [id, rs] of await requestsOf('satellite-home')) {
    const dish = rs.filter((r) => asnOf(r.clientIp) === 14593);
    const mobile = rs.filter((r) => asnOf(r.clientIp) !== 14593);
    if (dish.length === 0 || mobile.length === 0) continue;
    homes++;
    assert.notEqual(countryOf(dish[0]?.clientIp as string), countryOf(mobile[0]?.clientIp as string), id);
  }
  assert.ok(homes >= 20, `only ${homes} homes with both`);
});

test("an in-flight viewer's address belongs to an in-flight provider and geolocates to its country", async () => {
  const providers = new Map(networksOfKind('inflight').map((n) => [n.asn, n.country]));
  let onboard = 0;
  for (const [id, rs] of await requestsOf('in-flight')) {
    for (const r of rs.filter((x) => providers.has(asnOf(x.clientIp) ?? -1))) {
      onboard++;
      assert.equal(countryOf(r.clientIp), providers.get(asnOf(r.clientIp) as number), id);
    }
  }
  assert.ok(onboard > 100);
});

test('the same seed builds the same new classes; another seed builds others', async () => {
  const digest = async (seed: string) =>
    JSON.stringify(
      [...(await requestsOf('border-household', 60, seed)).values()].map((rs) => rs.map((r) => r.clientIp)),
    );
  assert.equal(await digest('d1'), await digest('d1'));
  assert.notEqual(await digest('d1'), await digest('d2'));
});

test('a flight traveller reaches the destination country hours later: airport time plus the route block time', async () => {
  const sim = await createSimulation({
    seed: 'legit-classes',
    viewers: 40,
    classes: ['flight-traveller'],
    abuserFraction: 0,
    durationMs: 6 * 3_600_000,
  });
  const byAccount = new Map<string, SimRequest[]>();
  for (const e of sim.events())
    if (e.type === 'request')
      byAccount.set(e.request.accountId, [...(byAccount.get(e.request.accountId) ?? []), e.request]);
  let journeys = 0;
  for (const [id, rs] of byAccount) {
    const ground = rs.filter((r) => !networksOfKind('inflight').some((n) => n.asn === asnOf(r.clientIp)));
    const first = ground[0] as SimRequest;
    const last = ground.at(-1) as SimRequest;
    if (countryOf(first.clientIp) === countryOf(last.clientIp)) continue;
    journeys++;
    const lastAtOrigin = ground
      .filter((r) => countryOf(r.clientIp) === countryOf(first.clientIp))
      .at(-1) as SimRequest;
    const firstAway = ground.find((r) => countryOf(r.clientIp) === countryOf(last.clientIp)) as SimRequest;
    const hours = (firstAway.timestampMs - lastAtOrigin.timestampMs) / 3_600_000;
    assert.ok(hours >= 2.5, `${id}: only ${hours.toFixed(1)} h between the countries`);
  }
  assert.ok(journeys >= 5, `only ${journeys} journeys fit the span`);
});

test("remote workers on a corporate VPN share their company's egress, often in another country than their home line", async () => {
  const perIp = new Map<string, Set<string>>();
  let abroad = 0;
  for (const [id, rs] of await requestsOf('corporate-vpn', 200)) {
    const laptop = rs.filter((r) => /Windows|Macintosh/.test(r.userAgent));
    const home = rs.filter((r) => !/Windows|Macintosh/.test(r.userAgent));
    for (const r of laptop) perIp.set(r.clientIp, (perIp.get(r.clientIp) ?? new Set()).add(id));
    const laptopCountries = new Set(laptop.map((r) => countryOf(r.clientIp)));
    if (home.length > 0 && [...laptopCountries].some((c) => c !== countryOf(home[0]?.clientIp as string)))
      abroad++;
  }
  const most = Math.max(...[...perIp.values()].map((s) => s.size));
  assert.ok(most >= 3, `at most ${most} colleagues share an egress address`);
  assert.ok(abroad >= 5, `only ${abroad} laptops egress in another country than their home's TV`);
});

test('a screen switcher moves one programme between screens: the screen left sends no stop, the next starts within a minute, one screen at a time', async () => {
  const sim = await createSimulation({
    seed: 'legit-classes',
    viewers: 120,
    classes: ['screen-switcher'],
    abuserFraction: 0,
  });
  const beats = new Map<string, Array<{ sid: string; device: string; event: string; t: number }>>();
  for (const e of sim.events()) {
    if (e.type !== 'heartbeat') continue;
    const h = e.heartbeat;
    const list = beats.get(h.accountId) ?? [];
    list.push({ sid: h.sessionId, device: h.deviceId, event: h.event, t: h.timestampMs });
    beats.set(h.accountId, list);
  }
  let switches = 0;
  for (const [id, list] of beats) {
    assert.ok(!list.some((b) => b.event === 'stop'), `${id}: a stop was sent`);
    const sessions = [...new Set(list.map((b) => b.sid))].map((sid) => {
      const own = list.filter((b) => b.sid === sid);
      return { sid, device: own[0]!.device, first: own[0]!.t, last: own.at(-1)!.t };
    });
    sessions.sort((a, b) => a.first - b.first);
    for (let i = 1; i < sessions.length; i++) {
      const [prev, next] = [sessions[i - 1]!, sessions[i]!];
      assert.notEqual(next.device, prev.device, `${id}: the next screen is another device`);
      assert.ok(next.first > prev.last, `${id}: one screen at a time`);
      // The last beat is up to one 30 s interval before the screen goes silent, then 5–60 s.
      assert.ok(next.first - prev.last <= 90_000, `${id}: ${next.first - prev.last} ms between screens`);
      switches++;
    }
  }
  assert.ok(switches >= 60, `only ${switches} switches`);
});
