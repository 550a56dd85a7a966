/**
 * Positions with their uncertainty, for the geographic rules (impossible-travel, geo-spread).
 * IP geolocation is wrong for a share of addresses, so a position is a region, not a point:
 * - a City database's point with its accuracy radius (ingest's `geoAccuracyKm`);
 * - else the bounding box of the country's primary territory (a country-level position is
 *   anywhere in the country; neighbours' boxes touch, so a border household is 0 km "apart");
 * and some positions are no evidence at all: mobile carriers (roaming is routed home, pools are
 * placed at a head office), satellite / in-flight links (placed at a far gateway) and hosting /
 * VPN exits (the viewer is elsewhere). Distances between positions are the shortest the two
 * regions allow: what stays impossible after the uncertainty.
 */
import { countryBox, type LatLonBox } from '../../core/country-extents.ts';
import { MOBILE_ASNS, SATELLITE_ASNS } from '../../core/network-classes.ts';
import type { DetectorEvent } from './kit.ts';
import { distanceKm } from './kit.ts';

const KM_PER_DEGREE = 111.19;

/** Where a client can be: a point with a radius, or a box (country level). */
export interface Position {
  /** Centre, degrees (the country's box centre for a box). */
  lat: number;
  lon: number;
  /** Radius, km (0 for a box: the box is the uncertainty). */
  r: number;
  /** Country box [south, west, north, east], when the position is country-level. */
  b: LatLonBox | null;
  /** Country code, when known. */
  cc: string | null;
}

/** Why an event's position is not used as evidence of where the viewer is. */
export type Unplaced = 'mobile carrier' | 'satellite / in-flight link' | 'hosting / VPN exit' | 'no position';

/** The built-in lists as one map: one lookup per event. */
const UNPLACED_BY_ASN = new Map<number, Unplaced>([
  ...MOBILE_ASNS.map((a) => [a, 'mobile carrier'] as const),
  ...SATELLITE_ASNS.map((a) => [a, 'satellite / in-flight link'] as const),
]);
/** Country-level positions, built once per country (most events carry one: no allocation). */
const COUNTRY_POSITIONS = new Map<string, Position | null>();

/** The position of "somewhere in this country", or undefined when its extent is not known. */
export function countryPosition(cc: string): Position | undefined {
  let p = COUNTRY_POSITIONS.get(cc);
  if (p === undefined) {
    const box = countryBox(cc);
    p = box
      ? Object.freeze({ lat: (box[0] + box[2]) / 2, lon: (box[1] + box[3]) / 2, r: 0, b: box, cc })
      : null;
    // Bounded by the ISO 3166 codes a country field can hold once validated upstream.
    if (COUNTRY_POSITIONS.size < 1_000) COUNTRY_POSITIONS.set(cc, p);
  }
  return p ?? undefined;
}

/** The operator's ASN lists as sets, built once per list (a rule config's array). */
const ASN_SETS = new WeakMap<readonly number[], ReadonlySet<number>>();
/** The last list's set: consecutive events mostly share a config, so no lookup. */
let lastAsns: { list: readonly number[]; set: ReadonlySet<number> } | undefined;

function asnSet(list: readonly number[]): ReadonlySet<number> {
  if (lastAsns?.list === list) return lastAsns.set;
  let set = ASN_SETS.get(list);
  if (!set) {
    set = new Set(list);
    ASN_SETS.set(list, set);
  }
  lastAsns = { list, set };
  return set;
}

/**
 * The event's position, or why it has none. `unreliableAsns`: the operator's own additions to
 * the built-in mobile and satellite lists (a rule's config). `fallbackRadiusKm`: uncertainty of a
 * point the log gave without a radius and without a country box to fall back to.
 */
export function positionOf(
  event: DetectorEvent,
  unreliableAsns: readonly number[],
  fallbackRadiusKm: number,
): Position | Unplaced {
  const v = event.value;
  if (v.datacenter) return 'hosting / VPN exit';
  if (v.asn !== null) {
    const kind = UNPLACED_BY_ASN.get(v.asn);
    if (kind !== undefined) return kind;
    if (unreliableAsns.length > 0 && asnSet(unreliableAsns).has(v.asn)) return 'mobile carrier';
  }
  if (v.geoAccuracyKm !== null && v.latitude !== null && v.longitude !== null) {
    return { lat: v.latitude, lon: v.longitude, r: v.geoAccuracyKm, b: null, cc: v.country };
  }
  const country = v.country === null ? undefined : countryPosition(v.country);
  if (country) return country;
  if (v.latitude !== null && v.longitude !== null) {
    return { lat: v.latitude, lon: v.longitude, r: fallbackRadiusKm, b: null, cc: v.country };
  }
  return 'no position';
}

/** Shortest distance from a point to a box, km (0 inside it); never more than the true distance. */
function pointToBoxKm(lat: number, lon: number, b: LatLonBox): number {
  const cLat = Math.min(Math.max(lat, b[0]), b[2]);
  // A box spanning the antimeridian (Russia's) is taken as all longitudes.
  const spans = b[3] < b[1] || b[3] - b[1] >= 359;
  const cLon = spans ? lon : Math.min(Math.max(lon, b[1]), b[3]);
  return distanceKm(lat, lon, cLat, cLon);
}

/** Shortest distance between two boxes, km (0 when they touch or overlap); a lower bound. */
function boxToBoxKm(a: LatLonBox, b: LatLonBox): number {
  const latGap = Math.max(0, a[0] - b[2], b[0] - a[2]);
  const spans = a[3] - a[1] >= 359 || b[3] - b[1] >= 359;
  const lonGapDeg = spans ? 0 : Math.max(0, a[1] - b[3], b[1] - a[3]);
  // Longitude degrees shrink towards the poles: measured at the highest latitude either box
  // reaches, the gap is never overstated.
  const maxAbsLat = Math.min(89, Math.max(Math.abs(a[0]), Math.abs(a[2]), Math.abs(b[0]), Math.abs(b[2])));
  const lonGapKm =
    Math.min(lonGapDeg, 360 - lonGapDeg) * KM_PER_DEGREE * Math.cos((maxAbsLat * Math.PI) / 180);
  return Math.hypot(latGap * KM_PER_DEGREE, lonGapKm);
}

/**
 * Shortest distance the two positions allow, km: 0 when their regions touch (the same country,
 * neighbouring countries, overlapping radii).
 */
export function minDistanceKm(a: Position, b: Position): number {
  if (a === b) return 0;
  // A country-level position is anywhere in the country, its territories outside the box
  // (Hawaii, the Canaries, Réunion) included: a point of the same country is 0 km from it.
  if ((a.b || b.b) && a.cc !== null && a.cc === b.cc) return 0;
  if (a.b && b.b) return boxToBoxKm(a.b, b.b);
  if (a.b) return Math.max(0, pointToBoxKm(b.lat, b.lon, a.b) - b.r);
  if (b.b) return Math.max(0, pointToBoxKm(a.lat, a.lon, b.b) - a.r);
  return Math.max(0, distanceKm(a.lat, a.lon, b.lat, b.lon) - a.r - b.r);
}

/** Great-circle distance between the two centres, km (what a naive rule would report). */
export function centreDistanceKm(a: Position, b: Position): number {
  return distanceKm(a.lat, a.lon, b.lat, b.lon);
}
