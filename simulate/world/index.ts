/**
 * The simulated world: real operator networks (verified against the bundled geo / ASN databases),
 * cities, and helpers to draw client addresses the way real networks hand them out.
 */
import type { Prng } from '../prng.ts';
import { CITIES } from './cities.ts';
import { EXTRA_NETWORKS, NETWORKS } from './networks.generated.ts';
import type { City, NetworkKind, NetworkSpec } from './types.ts';

export type { City, NetworkKind, NetworkSpec } from './types.ts';

/** Countries the service sells in: each has a fixed and a mobile operator and a city. */
export const HOME_COUNTRIES = ['FR', 'DE', 'GB', 'ES', 'IT', 'NL', 'BE', 'SE', 'PL', 'US'] as const;

/** Where a client is: address, its /24, country, city and ASN. */
export interface Place {
  ip: string;
  /** The /24 the address is in, CIDR form. */
  network: string;
  country: string;
  city: string;
  lat: number;
  lon: number;
  asn: number;
  kind: NetworkKind;
}

function ipText(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** The /24 (as uint32 base) at position index of a network's blocks. */
function slash24Base(net: NetworkSpec, index: number): number {
  let i = index;
  for (const [start, count] of net.blocks) {
    if (i < count) return start + i * 256;
    i -= count;
  }
  throw new Error(`AS${net.asn} has no /24 at index ${index}`);
}

export function slash24Count(net: NetworkSpec): number {
  let n = 0;
  for (const [, count] of net.blocks) n += count;
  return n;
}

/** Every network the simulator draws from: the original table, then the geolocation-error classes' own. */
export const ALL_NETWORKS: ReadonlyArray<NetworkSpec> = [...NETWORKS, ...EXTRA_NETWORKS];

export function networksOf(country: string, kind: NetworkKind): ReadonlyArray<NetworkSpec> {
  return ALL_NETWORKS.filter((n) => n.country === country && n.kind === kind);
}

/** Networks of a kind in any country (satellite, in-flight providers). */
export function networksOfKind(kind: NetworkKind): ReadonlyArray<NetworkSpec> {
  return ALL_NETWORKS.filter((n) => n.kind === kind);
}

export function citiesOf(country: string): ReadonlyArray<City> {
  return CITIES.filter((c) => c.country === country);
}

export function cityNamed(name: string): City {
  const city = CITIES.find((c) => c.name === name);
  if (!city) throw new Error(`unknown city ${name}`);
  return city;
}

export const RESIDENTIAL_NETWORKS = NETWORKS.filter((n) => n.kind !== 'datacenter');
export const DATACENTER_NETWORKS = NETWORKS.filter((n) => n.kind === 'datacenter');

/** A place on a given /24 of a network, at a given host number (1..254). */
export function placeAt(net: NetworkSpec, slash24Index: number, host: number, city: City): Place {
  const base = slash24Base(net, slash24Index % slash24Count(net));
  return {
    ip: ipText(base + host),
    network: `${ipText(base)}/24`,
    country: net.country,
    city: city.name,
    lat: city.lat,
    lon: city.lon,
    asn: net.asn,
    kind: net.kind,
  };
}

/** Whether a network has IPv6 space the simulator can draw from. */
export function hasIpv6(net: NetworkSpec): boolean {
  return (net.blocks6?.length ?? 0) > 0;
}

function hextet(n: number): string {
  return n.toString(16);
}

/**
 * A random IPv6 place: a /48 of the network's IPv6 space, a /64 in it and an interface id with
 * no zero hextet (so the text is already in RFC 5952 canonical form). network is the /48.
 */
export function randomPlace6(rng: Prng, net: NetworkSpec, city?: City): Place {
  const [first, count] = net.blocks6?.[0] ?? [0, 0];
  if (count === 0) throw new Error(`AS${net.asn} has no IPv6 space`);
  const p = first + rng.int(0, count - 1);
  const prefix = [Math.floor(p / 2 ** 32) & 0xffff, Math.floor(p / 2 ** 16) & 0xffff, p & 0xffff]
    .map(hextet)
    .join(':');
  const rest = Array.from({ length: 5 }, () => hextet(rng.int(1, 0xffff))).join(':');
  const where = city ?? pickCity(rng, net.country);
  return {
    ip: `${prefix}:${rest}`,
    network: `${prefix}::/48`,
    country: net.country,
    city: where.name,
    lat: where.lat,
    lon: where.lon,
    asn: net.asn,
    kind: net.kind,
  };
}

/**
 * An IPv6 home line: the /64 of the home LAN inside the /56 the operator delegates to the
 * customer, inside one of its /48s (RIPE-690 recommends a /48 or a /56 per customer; most European
 * operators delegate a /56). Hextets as numbers; the first three are the /48.
 */
export interface Home6 {
  net: NetworkSpec;
  /** The /64: four hextets. */
  prefix64: readonly [number, number, number, number];
  city: City;
}

/** A household's IPv6 /64 on a fixed-line operator with IPv6 space. */
export function home6(rng: Prng, net: NetworkSpec, city: City): Home6 {
  const [first, count] = net.blocks6?.[0] ?? [0, 0];
  if (count === 0) throw new Error(`AS${net.asn} has no IPv6 space`);
  const p = first + rng.int(0, count - 1);
  // /56 id in the high byte of the fourth hextet (non-zero, so the text never needs '::'), LAN /64 in the low byte.
  const fourth = (rng.int(1, 255) << 8) | rng.int(0, 255);
  return {
    net,
    prefix64: [Math.floor(p / 2 ** 32) & 0xffff, Math.floor(p / 2 ** 16) & 0xffff, p & 0xffff, fourth],
    city,
  };
}

/** A random interface id: four non-zero hextets (RFC 8981 temporary addresses are random 64-bit ids). */
export function randomIid(rng: Prng): [number, number, number, number] {
  return [rng.int(1, 0xffff), rng.int(1, 0xffff), rng.int(1, 0xffff), rng.int(1, 0xffff)];
}

/** The place of one address of a home /64: prefix + interface id, RFC 5952 text; network is the /48. */
export function place6(home: Home6, iid: readonly [number, number, number, number]): Place {
  const hextets = [...home.prefix64, ...iid];
  const prefix48 = home.prefix64.slice(0, 3).map(hextet).join(':');
  return {
    ip: hextets.map(hextet).join(':'),
    network: `${prefix48}::/48`,
    country: home.net.country,
    city: home.city.name,
    lat: home.city.lat,
    lon: home.city.lon,
    asn: home.net.asn,
    kind: home.net.kind,
  };
}

/** The /64 an address is in (addresses written in full, eight hextets). */
export function prefix64Of(ip: string): string {
  return `${ip.split(':').slice(0, 4).join(':')}::/64`;
}

/** The network (IPv4 /24 or IPv6 /48) an address is in, CIDR form. */
export function networkOf(ip: string): string {
  if (ip.includes(':')) return `${ip.split(':').slice(0, 3).join(':')}::/48`;
  return `${ip.slice(0, ip.lastIndexOf('.'))}.0/24`;
}

/** A random address of a network, in one of the cities of its country (or a given city). */
export function randomPlace(rng: Prng, net: NetworkSpec, city?: City): Place {
  const where = city ?? pickCity(rng, net.country);
  return placeAt(net, rng.int(0, slash24Count(net) - 1), rng.int(2, 253), where);
}

export function pickCity(rng: Prng, country: string): City {
  const cities = citiesOf(country);
  if (cities.length > 0) return rng.pick(cities);
  // Countries without a listed city (datacenters abroad): a nominal point is enough.
  return { name: country, country, lat: 0, lon: 0 };
}

/** Great-circle distance, km. */
export function distanceKm(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(h)));
}
