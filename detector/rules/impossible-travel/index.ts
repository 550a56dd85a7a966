/**
 * impossible-travel: one token in two far places at once. Positions carry their uncertainty
 * (a country's whole extent, a City database's accuracy radius; see ../geo.ts), so the distance
 * between two uses is the shortest their regions allow: neighbouring countries are 0 km apart.
 * Positions that are no evidence of where the viewer is (mobile carriers, satellite / in-flight
 * links, hosting / VPN exits) are not used. One impossible jump is not enough either: an address
 * re-geolocated, or a VPN switched on, looks like one, and a full-tunnel corporate VPN turned on and
 * off looks like a few. A token that keeps switching between far places faster than a plane flies
 * (several times within minutes, as two players at once do at their segment rate) is in two
 * places at once.
 */
import { z } from 'zod';
import type { EvidenceItem } from '../../../core/schemas/generated.ts';
import { centreDistanceKm, countryPosition, minDistanceKm, type Position, positionOf } from '../geo.ts';
import { common, emptyEvidence, type Rule, type StateValue, windowStart } from '../kit.ts';

export const impossibleTravelConfig = z
  .object({
    enabled: z.boolean().default(true),
    /** Fastest legitimate travel, km/h (a long-haul plane with margin). */
    maxSpeedKmh: z.number().positive().default(1000),
    /**
     * Positions closer than this after their uncertainty are one place, km: what is left of a
     * country-level or city-level position's error beyond its stated extent.
     */
    minDistanceKm: z.number().nonnegative().default(500),
    /**
     * Impossible switches between far places within `switchWindowMs` that flag the token. Two
     * players sharing a token at once alternate at their segment rate (every 2–10 s: dozens of
     * switches in minutes); one switch is a re-geolocated address or a VPN turned on, and a person
     * turning a full-tunnel VPN on and off, or a flapping link, switches a few times an hour.
     */
    minImpossibleSwitches: z.number().int().min(1).default(4),
    /** The span the switches are counted over, ms: "at once". */
    switchWindowMs: z
      .number()
      .int()
      .positive()
      .default(5 * 60_000),
    /** Switches are counted over, and flags grouped per, a window of this size, ms. */
    windowMs: z
      .number()
      .int()
      .positive()
      .default(60 * 60_000),
    /** ASNs whose positions are not evidence, besides the built-in mobile and satellite lists. */
    unreliableAsns: z.array(z.number().int().nonnegative()).max(10_000).default([]),
    /** Uncertainty of a position a log gives as a point without a radius or country, km. */
    pointRadiusKm: z.number().nonnegative().default(250),
  })
  .strict();
export type ImpossibleTravelConfig = z.infer<typeof impossibleTravelConfig>;

/** One distinct place of a token. Short names: stored per token. */
interface Place {
  /** Country code, when known. */
  cc: string | null;
  /** A point's latitude, longitude, degrees, and radius, km; absent for a country-level place. */
  la?: number;
  lo?: number;
  r?: number;
  /** Network of the latest use here. */
  net: string | null;
  /** Uses, first and last seen, epoch ms. */
  n: number;
  f: number;
  l: number;
}

/** An impossible switch between two places. */
interface Switch {
  /** When (the later use), epoch ms. */
  at: number;
  /** Place indexes, from and to. */
  a: number;
  b: number;
  /** Shortest distance after uncertainty, and centre distance, km; elapsed, ms. */
  km: number;
  ckm: number;
  ms: number;
}

interface TravelState extends StateValue {
  /** Distinct places. */
  p: Place[];
  /** Place of the latest use, and its time, epoch ms. */
  c: number;
  at: number;
  /** Impossible switches within the window, oldest first. */
  s: Switch[];
}

const NS = 'impossible-travel';

/** A place as stored: the country code alone for a country-level position (its box is known). */
function placeOf(g: Position, net: string | null, atMs: number): Place {
  return g.b !== null
    ? { cc: g.cc, net, n: 0, f: atMs, l: atMs }
    : { cc: g.cc, la: g.lat, lo: g.lon, r: g.r, net, n: 0, f: atMs, l: atMs };
}

/** The position of a stored place (a country-level one without allocating). */
function positionOfPlace(p: Place): Position {
  if (p.r === undefined && p.cc !== null) {
    const country = countryPosition(p.cc);
    if (country) return country;
  }
  return { lat: p.la ?? 0, lon: p.lo ?? 0, r: p.r ?? 0, b: null, cc: p.cc };
}

/** True when the stored place is the position `g` itself (same country box, or the same point). */
function isAt(p: Place, g: Position): boolean {
  return g.b !== null ? p.r === undefined && p.cc === g.cc : p.la === g.lat && p.lo === g.lon && p.r === g.r;
}

/**
 * The stored place `here` is at (closer than `minKm`), or -1: the current place when it is one,
 * else the nearest. The first match in storage order could be an older place, making a move
 * within one place look like a switch away from the current one.
 */
function nearPlace(st: TravelState, here: Position, minKm: number): number {
  const cur = st.c >= 0 ? st.p[st.c] : undefined;
  if (cur && minDistanceKm(positionOfPlace(cur), here) < minKm) return st.c;
  let best = -1;
  let bestKm = minKm;
  for (let i = 0; i < st.p.length; i++) {
    const km = minDistanceKm(positionOfPlace(st.p[i]!), here);
    if (km < bestKm) {
      best = i;
      bestKm = km;
    }
  }
  return best;
}

/** Under a minute apart counts as a minute: many logs have whole-second times. */
function speedKmh(km: number, elapsedMs: number): number {
  return km / (Math.max(elapsedMs, 60_000) / 3_600_000);
}

function placeItems(places: Place[]): EvidenceItem[] {
  return places
    .map((p) => ({
      value: p.cc ?? `${(p.la ?? 0).toFixed(1)},${(p.lo ?? 0).toFixed(1)}`,
      count: p.n,
      firstSeenMs: p.f,
      lastSeenMs: p.l,
    }))
    .sort((a, b) => a.firstSeenMs - b.firstSeenMs || (a.value < b.value ? -1 : 1));
}

export const impossibleTravel: Rule<ImpossibleTravelConfig> = {
  name: 'impossible-travel',
  configSchema: impossibleTravelConfig,
  horizonMs: (c) => c.windowMs,
  apply(view, event, config, ctx, out) {
    const v = event.value;
    if (v.tokenHash === null) return;
    const here = positionOf(event, config.unreliableAsns, config.pointRadiusKm);
    if (typeof here === 'string') return;
    const key = v.tokenHash;
    const atMs = v.timestampMs;
    const prev = view.get<TravelState>(NS, key);
    const live = prev && prev.x >= ctx.nowMs ? prev : undefined;
    // A late use is not ordered against the others: it neither moves the token nor switches it.
    if (live && atMs < live.at) return;
    // Most uses repeat the current place (same country box, same point): no search, no allocation.
    const cur = live && live.c >= 0 ? live.p[live.c] : undefined;
    if (cur && isAt(cur, here)) {
      cur.n++;
      cur.l = atMs;
      cur.net = v.networkPrefix;
      live!.at = atMs;
      live!.x = atMs + config.windowMs;
      out.changes.push({ ns: NS, key, value: live });
      return;
    }
    const c = common(event);
    const st: TravelState = live ?? { x: 0, p: [], c: -1, at: c.atMs, s: [] };
    const cutoffMs = c.atMs - config.windowMs;
    st.s = st.s.filter((s) => s.at >= c.atMs - config.switchWindowMs);
    let idx = nearPlace(st, here, config.minDistanceKm);
    if (idx === -1) {
      // Places not used within the window leave first; beyond the bound, the new place is not kept.
      const keep = st.p.filter((p, i) => p.l >= cutoffMs || i === st.c);
      if (keep.length !== st.p.length) {
        const from = st.p;
        st.p = keep;
        st.c = st.c >= 0 ? keep.indexOf(from[st.c]!) : -1;
        st.s = st.s.filter((s) => keep.includes(from[s.a]!) && keep.includes(from[s.b]!));
        for (const s of st.s) {
          s.a = keep.indexOf(from[s.a]!);
          s.b = keep.indexOf(from[s.b]!);
        }
      }
      if (st.p.length >= Math.min(ctx.entriesPerKeyMax, 8)) {
        out.overflow++;
        // The pruning above changed a stored value: record it, or a restart would differ.
        if (live) out.changes.push({ ns: NS, key, value: st });
        return;
      }
      st.p.push(placeOf(here, v.networkPrefix, c.atMs));
      idx = st.p.length - 1;
    }
    const place = st.p[idx]!;
    place.n++;
    place.l = c.atMs;
    place.net = v.networkPrefix;
    const from = st.c >= 0 && st.c !== idx ? st.p[st.c] : undefined;
    const elapsedMs = c.atMs - st.at;
    st.c = idx;
    st.at = c.atMs;
    st.x = c.atMs + config.windowMs;
    out.changes.push({ ns: NS, key, value: st });
    if (!from) return;
    const fromPos = positionOfPlace(from);
    const km = minDistanceKm(fromPos, here);
    // `here` is not within minDistanceKm of `from` (nearPlace joins the current place first).
    if (speedKmh(km, elapsedMs) <= config.maxSpeedKmh) return;
    st.s.push({
      at: c.atMs,
      a: st.p.indexOf(from),
      b: idx,
      km,
      ckm: centreDistanceKm(fromPos, here),
      ms: elapsedMs,
    });
    if (st.s.length > config.minImpossibleSwitches) st.s.shift();
    const switches = st.s.length;
    if (switches < config.minImpossibleSwitches) return;
    const start = windowStart(c.atMs, config.windowMs);
    const observed = Math.round(speedKmh(km, elapsedMs));
    if (!ctx.wouldFlag(NS, 'token', key, start, observed, config.maxSpeedKmh, 'increase')) return;
    const places = st.p.map((p) => ({ ...p }));
    const last = { ...st.s[st.s.length - 1]! };
    const evidence = () => {
      const e = emptyEvidence();
      e.eventCount = places.reduce((n, p) => n + p.n, 0);
      e.countries = placeItems(places);
      const a = places[last.a]!;
      const b = places[last.b]!;
      e.travel = {
        fromCountry: a.cc,
        toCountry: b.cc,
        fromNetwork: a.net,
        toNetwork: b.net,
        distanceKm: Math.round(last.ckm),
        elapsedMs: last.ms,
        speedKmh: Math.round(speedKmh(last.km, last.ms)),
        minDistanceKm: Math.round(last.km),
        switches,
      };
      const minutes = Math.max(1, Math.round(last.ms / 60_000));
      e.note =
        `token switched ${switches} times between places at least ${Math.round(last.km)} km apart ` +
        `(${a.cc ?? '?'} → ${b.cc ?? '?'} in ${minutes} min, ${Math.round(speedKmh(last.km, last.ms))} km/h, max ${config.maxSpeedKmh})`;
      e.ruledOut = [
        `neighbouring or same-region positions: at least ${Math.round(last.km)} km apart after each position's uncertainty (country extent or accuracy radius)`,
        `a single jump or a VPN turned on and off (an address re-geolocated, a full tunnel): ${switches} impossible switches within ${Math.round(config.switchWindowMs / 60_000)} min`,
        `travel: faster than ${config.maxSpeedKmh} km/h`,
        'mobile carrier, satellite / in-flight and hosting / VPN positions: not used',
      ];
      return e;
    };
    out.flags.push({
      rule: NS,
      subjectKind: 'token',
      subjectKey: key,
      tenant: c.tenant,
      accountId: c.accountId,
      tokenHash: c.tokenHash,
      tokenExpiresAtMs: c.tokenExpiresAtMs,
      evictSessionId: null,
      threshold: config.maxSpeedKmh,
      observed,
      windowStartMs: start,
      windowEndMs: start + config.windowMs,
      detectedAtMs: c.atMs,
      triggerEventId: c.id,
      evidence,
    });
  },
};
