/**
 * Legitimate classes built from published material on how real viewers' addresses look (IP
 * geolocation error, mobile carriers and CGNAT, IPv6 privacy addresses, border households, shared
 * networks, consumer and corporate VPNs, roaming, flights, satellite and in-flight internet). Each class and the source of its
 * parameters is in docs/simulate.md, "Legitimate population: classes and sources". None is derived
 * from the detector's rules or their configuration.
 */
import {
  type AccountBuilder,
  type Device,
  type DeviceType,
  homePlace,
  MINUTE_MS,
  mobilePlace,
  once,
  type Schedule,
  type Session,
} from './account-builder.ts';
import { BORDER_AREAS } from './world/borders.ts';
import {
  cityNamed,
  DATACENTER_NETWORKS,
  HOME_COUNTRIES,
  hasIpv6,
  home6,
  networksOf,
  networksOfKind,
  type Place,
  pickCity,
  place6,
  placeAt,
  randomIid,
  randomPlace,
} from './world/index.ts';
import type { City, NetworkSpec } from './world/types.ts';

/** Mobile data addresses change on each reconnection to the carrier's CGNAT pool: every 1–6 min while watching. */
const MOBILE_READDRESS_MS: readonly [number, number] = [60_000, 6 * MINUTE_MS];
/** The /24 of a country's first fixed operator that stands for a company's business line, and its egress addresses. */
const CORPORATE_SLASH24 = 8;
const CORPORATE_EGRESS_ADDRESSES = 4;
/** Share of a home's phone sessions during which the phone leaves home (wifi → 4G/5G handover). */
const PHONE_LEAVES_HOME_SHARE = 0.3;
/** Time between a screen going silent and the viewer going on on another, ms (walking to another room). */
const SCREEN_SWITCH_GAP_MS: readonly [number, number] = [5_000, 60_000];
/** Share of a screen switcher's phone sessions on the mobile network (the viewer leaves home). */
const SWITCH_TO_MOBILE_SHARE = 0.3;
/** Share of mobile-only viewers whose carrier gives them IPv6 (dual-stack or IPv6-only mobile networks). */
const MOBILE_IPV6_SHARE = 0.5;
/** Campus NAT pools hand a device a new pool address every 1–5 min (new connections, non-paired pooling). */
const CAMPUS_READDRESS_MS: readonly [number, number] = [60_000, 5 * MINUTE_MS];
/** RFC 8981 TEMP_PREFERRED_LIFETIME default: a device regenerates its temporary address once a day. */
const TEMP_ADDRESS_LIFETIME_MS = 24 * 60 * MINUTE_MS;

/** A schedule that switches between places at a few random instants of [t0, t1). */
function alternating(
  b: AccountBuilder,
  t0: number,
  t1: number,
  places: ReadonlyArray<() => Place>,
  switches: number,
): Schedule {
  const cuts = Array.from({ length: switches }, () =>
    Math.round(b.rng.range(t0 + 20_000, Math.max(t0 + 20_001, t1 - 10_000))),
  )
    .sort((x, y) => x - y)
    .filter((t, i, all) => t < t1 && (i === 0 || t > (all[i - 1] as number)));
  const out: Schedule = [{ fromMs: t0, place: (places[0] as () => Place)() }];
  for (const [i, t] of cuts.entries())
    out.push({ fromMs: t, place: (places[(i + 1) % places.length] as () => Place)() });
  return out;
}

/** A schedule that draws a new place every [lo, hi] ms. */
function readdressing(
  b: AccountBuilder,
  t0: number,
  t1: number,
  every: readonly [number, number],
  draw: () => Place,
): Schedule {
  const out: Schedule = [{ fromMs: t0, place: draw() }];
  for (let t = t0 + b.rng.int(every[0], every[1]); t < t1; t += b.rng.int(every[0], every[1]))
    out.push({ fromMs: t, place: draw() });
  return out;
}

function devices(b: AccountBuilder, types: DeviceType[]): Device[] {
  return types.map((t) => b.device(t));
}

/**
 * Border household: the fixed line is in the household's country, a member's phone on a mobile
 * operator of the neighbouring country (a cross-border worker's SIM). The phone hands over from home
 * wifi to 4G/5G as its owner leaves home (and back), so one session alternates between the two
 * countries; the TV stays on the home line.
 */
export async function buildBorderHousehold(b: AccountBuilder): Promise<void> {
  const area = b.rng.pick(BORDER_AREAS);
  const home = homePlace(b.rng, area.town.country, area.town);
  const mobileNet = b.rng.pick(networksOf(area.mobileCountry, 'mobile'));
  const [phone, tv] = devices(b, ['phone', 'tv']) as [Device, Device];
  const mobile = () => randomPlace(b.rng, mobileNet, area.across);
  const s = b.trySession(phone, (t0, t1) =>
    alternating(b, t0, t1, b.rng.chance(0.5) ? [() => home, mobile] : [mobile, () => home], b.rng.int(1, 3)),
  );
  if (s) await b.playSession(s);
  if (b.rng.chance(0.5)) {
    const t = b.trySession(tv, (t0) => once(home, t0));
    if (t) await b.playSession(t);
  }
}

/**
 * Mobile-only viewer: a phone (sometimes a tablet on its own SIM) on a domestic carrier. Every
 * reconnection takes a new public address from the carrier's CGNAT pool, anywhere in its space (a
 * different /24, often a different block; on IPv6, a new /64 anywhere in its space), and the
 * geolocation database places the carrier's addresses at a gateway city, not where the viewer is
 * (mobile median error ~180–200 km).
 */
export async function buildMobileCarrier(b: AccountBuilder, country: string): Promise<void> {
  const net = b.rng.pick(networksOf(country, 'mobile'));
  // Drawn whatever the carrier, so the carrier's IPv6 space does not shift the other draws.
  const v6 = b.rng.chance(MOBILE_IPV6_SHARE) && hasIpv6(net);
  const types: DeviceType[] = b.plan.streamLimit >= 2 && b.rng.chance(0.2) ? ['phone', 'tablet'] : ['phone'];
  // IPv6: each attach gets its own /64 from the carrier's space (RFC 6459 / 3GPP), unrelated to the last one.
  const draw = (): Place => {
    const city = pickCity(b.rng, country);
    return v6 ? place6(home6(b.rng, net, city), randomIid(b.rng)) : randomPlace(b.rng, net, city);
  };
  for (const device of devices(b, types)) {
    const sessions = b.rng.int(1, 2);
    for (let i = 0; i < sessions; i++) {
      const s = b.trySession(device, (t0, t1) => readdressing(b, t0, t1, MOBILE_READDRESS_MS, draw));
      if (s) await b.playSession(s);
    }
  }
}

/**
 * IPv6 home with privacy addresses (RFC 8981): the operator delegates a /56, the LAN is one /64 of
 * it, and each phone / laptop / tablet uses a random temporary interface id, a new one when it
 * rejoins the network (half of its sessions) and when the current one's preferred lifetime (one day)
 * ends. Smart TVs are often IPv4-only: the TV uses the same line's IPv4 address. In 30 % of
 * the phone's sessions its owner leaves home and the phone hands over to the domestic mobile network.
 */
export async function buildIpv6Privacy(b: AccountBuilder, country: string, city: City): Promise<void> {
  const net = b.rng.pick(networksOf(country, 'fixed').filter(hasIpv6));
  const home = home6(b.rng, net, city);
  const home4 = randomPlace(b.rng, net, city);
  const count = b.rng.int(2, 4);
  const ds = devices(b, b.rng.shuffle<DeviceType>(['tv', 'phone', 'laptop', 'tablet']).slice(0, count));
  const iids = new Map(ds.map((d) => [d.id, randomIid(b.rng)] as const));
  // Phase of each device's daily regeneration, so a rotation falls inside a session as often as it would.
  const phase = new Map(ds.map((d) => [d.id, b.rng.int(0, TEMP_ADDRESS_LIFETIME_MS - 1)] as const));
  const sessionCount = b.rng.int(2, 4);
  for (let i = 0; i < sessionCount; i++) {
    const device = b.rng.pick(ds);
    const s = b.trySession(device, (t0, t1) => {
      if (device.type === 'tv') return once(home4, t0);
      if (b.rng.chance(0.5)) iids.set(device.id, randomIid(b.rng));
      const out: Schedule = [
        { fromMs: t0, place: place6(home, iids.get(device.id) as [number, number, number, number]) },
      ];
      const p = phase.get(device.id) as number;
      const next =
        t0 + ((((p - t0) % TEMP_ADDRESS_LIFETIME_MS) + TEMP_ADDRESS_LIFETIME_MS) % TEMP_ADDRESS_LIFETIME_MS);
      if (next > t0 && next < t1) {
        iids.set(device.id, randomIid(b.rng));
        out.push({
          fromMs: next,
          place: place6(home, iids.get(device.id) as [number, number, number, number]),
        });
      }
      // The phone's owner leaves home: wifi hands over to the domestic mobile network for the rest.
      if (device.type === 'phone' && b.rng.chance(PHONE_LEAVES_HOME_SHARE)) {
        const at = Math.round(b.rng.range(t0 + 20_000, Math.max(t0 + 20_001, t1 - 10_000)));
        const mobile = randomPlace(b.rng, b.rng.pick(networksOf(country, 'mobile')), city);
        return [...out.filter((p) => p.fromMs < at), { fromMs: at, place: mobile }];
      }
      return out;
    });
    if (s) await b.playSession(s);
  }
}

/** Sites per country where many accounts share a NAT: an office (one address), a campus (a pool), a hotel. */
const SHARED_SITES = [
  { kind: 'office', slash24: 5, pool: 1, readdress: false },
  { kind: 'campus', slash24: 6, pool: 16, readdress: true },
  { kind: 'hotel', slash24: 7, pool: 2, readdress: false },
] as const;

/**
 * A viewer on a shared network: an office, university campus or hotel where every account leaves
 * through one address or a small NAT pool of the site's business line. The site is the same for all
 * accounts of the class in a country, so tens of unrelated accounts share its addresses; a campus
 * NAT gives a device a new pool address every few minutes.
 */
export async function buildSharedNetwork(b: AccountBuilder, country: string): Promise<void> {
  const site = b.rng.pick(SHARED_SITES);
  const net = networksOf(country, 'fixed')[0] as NetworkSpec;
  const city = pickCity(b.rng, country);
  const addr = () => placeAt(net, site.slash24, 10 + b.rng.int(0, site.pool - 1), city);
  const device = b.device(b.rng.pick<DeviceType>(['laptop', 'phone', 'laptop']));
  const s = b.trySession(device, (t0, t1) =>
    site.readdress ? readdressing(b, t0, t1, CAMPUS_READDRESS_MS, addr) : once(addr(), t0),
  );
  if (s) await b.playSession(s);
}

/**
 * Consumer VPN user: the laptop leaves through a commercial VPN's servers in hosting ASNs, and the
 * exit changes during a session (auto-reconnect to another server, or the user picks another
 * country); now and then the tunnel drops and traffic goes out of the home line until it is back.
 * The TV at home is not on the VPN.
 */
export async function buildVpnSwitcher(b: AccountBuilder, home: Place): Promise<void> {
  const laptop = b.device('laptop');
  const exit = () => randomPlace(b.rng, b.rng.pick(DATACENTER_NETWORKS));
  const dropsToHome = b.rng.chance(0.3);
  const s = b.trySession(laptop, (t0, t1) =>
    alternating(b, t0, t1, dropsToHome ? [exit, () => home, exit] : [exit], b.rng.int(1, 3)),
  );
  if (s) await b.playSession(s);
  if (b.plan.streamLimit >= 2 && b.rng.chance(0.5)) {
    const t = b.trySession(b.device('tv'), (t0) => once(home, t0));
    if (t) await b.playSession(t);
  }
}

/**
 * Traveller abroad: in the visited country the phone is on the hotel's wifi (a fixed line there);
 * outside it, on its home operator's data roaming, which is home-routed (the dominant roaming setup
 * in Europe), so its address is the home operator's and geolocates to the home country. Sessions
 * alternate between the two countries as the traveller goes in and out; at home the family may be
 * watching the TV at the same time.
 */
export async function buildRoamingTraveller(b: AccountBuilder, country: string, home: Place): Promise<void> {
  const visited = b.rng.pick(HOME_COUNTRIES.filter((c) => c !== country));
  const visitedCity = pickCity(b.rng, visited);
  const hotel = randomPlace(b.rng, b.rng.pick(networksOf(visited, 'fixed')), visitedCity);
  const homeNet = b.rng.pick(networksOf(country, 'mobile'));
  const roaming = () => randomPlace(b.rng, homeNet, pickCity(b.rng, country));
  const phone = b.device('phone');
  const s = b.trySession(phone, (t0, t1) =>
    alternating(
      b,
      t0,
      t1,
      b.rng.chance(0.5) ? [() => hotel, roaming] : [roaming, () => hotel],
      b.rng.int(1, 3),
    ),
  );
  if (s) await b.playSession(s);
  if (b.plan.streamLimit >= 2 && b.rng.chance(0.5)) {
    const t = b.trySession(b.device('tv'), (t0) => once(home, t0));
    if (t) await b.playSession(t);
  }
}

/**
 * Starlink home where the dish's address geolocates across the border: Starlink places each
 * customer subnet at its PoP / geofeed region, and a dish served from a neighbouring country's PoP
 * appears there. IPv4 is CGNAT, so the address can change on reconnection. The household's phones
 * use the domestic mobile network when out.
 */
const SATELLITE_AREAS: ReadonlyArray<readonly [string, string]> = [
  ['BE', 'FR'],
  ['NL', 'DE'],
  ['LU', 'DE'],
  ['PL', 'DE'],
];

export async function buildSatelliteHome(b: AccountBuilder): Promise<void> {
  const [country, popCountry] = b.rng.pick(SATELLITE_AREAS);
  const city = pickCity(b.rng, country);
  const dish = b.rng.pick(networksOf(popCountry, 'satellite'));
  const satellite = () => randomPlace(b.rng, dish, pickCity(b.rng, popCountry));
  const home = satellite();
  const [tv, phone] = devices(b, ['tv', 'phone']) as [Device, Device];
  const t = b.trySession(tv, (t0, t1) =>
    b.rng.chance(0.3) ? alternating(b, t0, t1, [() => home, satellite], 1) : once(home, t0),
  );
  if (t) await b.playSession(t);
  const mobileNet = b.rng.pick(networksOf(country, 'mobile'));
  const s = b.trySession(phone, (t0, t1) =>
    alternating(b, t0, t1, [() => home, () => randomPlace(b.rng, mobileNet, city)], b.rng.int(1, 2)),
  );
  if (s) await b.playSession(s);
}

/**
 * In-flight viewer: one member of the household watches on the aircraft's wifi, whose traffic
 * leaves through the provider's satellite ground network and geolocates to the provider's country
 * (Viasat, Panasonic Avionics: US; Intelsat: GB), whatever the aircraft flies over; the address can
 * change when the aircraft changes satellite beam. At home the family watches the TV.
 */
export async function buildInFlight(b: AccountBuilder, home: Place): Promise<void> {
  const provider = b.rng.pick(networksOfKind('inflight'));
  const onboard = () => randomPlace(b.rng, provider);
  const device = b.device(b.rng.pick<DeviceType>(['laptop', 'tablet', 'phone']));
  const s = b.trySession(device, (t0, t1) =>
    b.rng.chance(0.2) ? alternating(b, t0, t1, [onboard, onboard], 1) : once(onboard(), t0),
  );
  if (s) await b.playSession(s);
  if (b.plan.streamLimit >= 2) {
    const t = b.trySession(b.device('tv'), (t0) => once(home, t0));
    if (t) await b.playSession(t);
  }
}

/**
 * Scheduled block times of real routes between the service's countries, minutes (airline
 * timetables, rounded): origin, destination, block time.
 */
const ROUTES: ReadonlyArray<readonly [string, string, string, string, number]> = [
  ['FR', 'Paris', 'ES', 'Madrid', 125],
  ['DE', 'Munich', 'GB', 'London', 120],
  ['GB', 'London', 'IT', 'Rome', 150],
  ['NL', 'Amsterdam', 'SE', 'Stockholm', 110],
  ['BE', 'Brussels', 'PL', 'Warsaw', 125],
  ['ES', 'Barcelona', 'DE', 'Berlin', 160],
  ['IT', 'Milan', 'FR', 'Paris', 90],
  ['FR', 'Paris', 'US', 'New York', 510],
  ['GB', 'London', 'US', 'New York', 480],
  ['DE', 'Munich', 'US', 'Chicago', 580],
];

/**
 * A traveller who flies between two countries: watches at the origin (phone on its mobile network,
 * or the airport's wifi), maybe in the air on the aircraft's wifi, then at the destination hotel's
 * wifi. Between the origin and the destination lie 1–2 h at the airport, the route's block time and
 * 45–90 min after landing: hours, so the whole journey shows only in spans of several hours
 * (`--duration-min` 240 or more); in shorter spans the sessions that do not fit are left out.
 */
export async function buildFlightTraveller(b: AccountBuilder): Promise<void> {
  const [fromCountry, fromCity, toCountry, toCity, blockMin] = b.rng.pick(ROUTES);
  const [origin, destination, originCountry, destinationCountry] = b.rng.chance(0.5)
    ? [fromCity, toCity, fromCountry, toCountry]
    : [toCity, fromCity, toCountry, fromCountry];
  const phone = b.device(b.rng.pick<DeviceType>(['phone', 'tablet']));
  const departure = b.rng.chance(0.5)
    ? randomPlace(b.rng, b.rng.pick(networksOf(originCountry, 'mobile')), cityNamed(origin))
    : randomPlace(b.rng, b.rng.pick(networksOf(originCountry, 'fixed')), cityNamed(origin));
  // The journey starts somewhere in the first half of the span.
  const t0 = b.startMs + b.rng.int(0, Math.floor((b.endMs - b.startMs) / 2));
  const first = b.trySession(phone, (s) => once(departure, s), { fromMs: t0, toMs: t0 + MINUTE_MS });
  if (!first) return;
  await b.playSession(first);
  const takeoffMs = first.endMs + b.rng.int(60, 120) * MINUTE_MS;
  if (b.rng.chance(0.4)) {
    const provider = b.rng.pick(networksOfKind('inflight'));
    const from = takeoffMs + 20 * MINUTE_MS;
    const air = b.trySession(phone, (s) => once(randomPlace(b.rng, provider), s), {
      fromMs: from,
      toMs: from + Math.max(MINUTE_MS, (blockMin - 50) * MINUTE_MS),
    });
    if (air) await b.playSession(air);
  }
  const arriveMs = takeoffMs + blockMin * MINUTE_MS + b.rng.int(45, 90) * MINUTE_MS;
  const hotel = randomPlace(
    b.rng,
    b.rng.pick(networksOf(destinationCountry, 'fixed')),
    cityNamed(destination),
  );
  const last = b.trySession(phone, (s) => once(hotel, s), {
    fromMs: arriveMs,
    toMs: arriveMs + 30 * MINUTE_MS,
  });
  if (last) await b.playSession(last);
}

/**
 * Remote worker on a corporate VPN: the work laptop tunnels everything (full tunnel) to the
 * company's gateway, so it appears at the company's egress address (one of a few on the company's
 * business line, shared by every colleague connected), in the company's country: another country
 * for half of them (cross-border employers, multinationals). The VPN connects or drops 0–2 times in
 * a session, and the laptop is then on the home line; the TV at home is never on the VPN.
 */
export async function buildCorporateVpn(b: AccountBuilder, country: string, home: Place): Promise<void> {
  const hq = b.rng.chance(0.5) ? country : b.rng.pick(HOME_COUNTRIES.filter((c) => c !== country));
  // One company per HQ country; its egress is a few addresses of one /24 of a business line there.
  const net = networksOf(hq, 'fixed')[0] as NetworkSpec;
  const hqCity = pickCity(b.rng, hq);
  const egress = () =>
    placeAt(net, CORPORATE_SLASH24, 20 + b.rng.int(0, CORPORATE_EGRESS_ADDRESSES - 1), hqCity);
  const laptop = b.device('laptop');
  const s = b.trySession(laptop, (t0, t1) => alternating(b, t0, t1, [egress, () => home], b.rng.int(0, 2)));
  if (s) await b.playSession(s);
  if (b.plan.streamLimit >= 2 && b.rng.chance(0.5)) {
    const t = b.trySession(b.device('tv'), (t0) => once(home, t0));
    if (t) await b.playSession(t);
  }
}

/**
 * Screen switcher: one programme moved between screens (the TV in the living room, then the phone
 * in the kitchen or on the way out, and back): the screen left behind sends no stop (a TV switched
 * off at the remote, an app killed or sent to the background, a tab closed), and the next starts
 * 5–60 s later on the same content. 1–3 switches; the phone is on the home wifi, or on the mobile
 * network in 30 % of its sessions. One screen at a time: within any plan.
 */
export async function buildScreenSwitcher(
  b: AccountBuilder,
  country: string,
  city: City,
  home: Place,
): Promise<void> {
  const screens = devices(
    b,
    b.rng.pick<DeviceType[]>([
      ['tv', 'phone'],
      ['phone', 'tv'],
      ['laptop', 'tablet'],
    ]),
  );
  const content = b.pickContent();
  const switches = b.rng.int(1, 3);
  let t = b.startMs + Math.round(b.rng.range(0, (b.endMs - b.startMs) / 3));
  for (let i = 0; i <= switches && t < b.endMs - MINUTE_MS; i++) {
    const device = screens[i % screens.length] as Device;
    const endMs =
      i === switches ? b.endMs : Math.min(b.endMs, t + Math.round(b.rng.range(3, 12) * MINUTE_MS));
    const onMobile = device.type === 'phone' && b.rng.chance(SWITCH_TO_MOBILE_SHARE);
    const session: Session = {
      startMs: t,
      endMs,
      content,
      device,
      places: once(onMobile ? mobilePlace(b.rng, country, city) : home, t),
    };
    b.sessions.push(session);
    await b.playSession(session, { sendsStop: false });
    t = endMs + b.rng.int(SCREEN_SWITCH_GAP_MS[0], SCREEN_SWITCH_GAP_MS[1]);
  }
}
