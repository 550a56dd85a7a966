/**
 * Builds the simulated population: accounts with plans, devices and sessions for each legitimate
 * class, and the abusers of each abuse class, with the ground truth of every account. Everything
 * is decided here from the seed; the engine only plays it out in time order.
 */
import type { AccountPlan } from '../core/schemas/generated.ts';
import { TokenHasher } from '../core/token-hash.ts';
import {
  AccountBuilder,
  type DeviceType,
  homePlace,
  MINUTE_MS,
  mobilePlace,
  once,
  type PlanSpec,
  RESALE_TOKEN_TTL_MS,
  SESSION_TOKEN_TTL_MS,
  type Session,
  USER_AGENTS,
} from './account-builder.ts';
import type { SimulationConfig } from './config.ts';
import { type Content, contentById, LIVE_CONTENTS } from './content.ts';
import {
  buildBorderHousehold,
  buildCorporateVpn,
  buildFlightTraveller,
  buildInFlight,
  buildIpv6Privacy,
  buildMobileCarrier,
  buildRoamingTraveller,
  buildSatelliteHome,
  buildScreenSwitcher,
  buildSharedNetwork,
  buildVpnSwitcher,
} from './legit-classes.ts';
import {
  ABUSE_CLASSES,
  type AbuseClass,
  type LegitClass,
  type TruthAccount,
  type ViewerClass,
} from './model.ts';
import type { PlayerSpec } from './player.ts';
import { Prng } from './prng.ts';
import { CatIssuer } from './tokens.ts';
import {
  cityNamed,
  DATACENTER_NETWORKS,
  HOME_COUNTRIES,
  hasIpv6,
  networksOf,
  type Place,
  pickCity,
  placeAt,
  RESIDENTIAL_NETWORKS,
  randomPlace,
  slash24Count,
} from './world/index.ts';
import type { City, NetworkSpec } from './world/types.ts';

export { CDN_HOSTS, matchesPattern } from './account-builder.ts';

const PLANS: ReadonlyArray<readonly [PlanSpec, number]> = [
  [{ planId: 'basic', streamLimit: 1, perTitleLimit: null, groups: [] }, 25],
  [{ planId: 'standard', streamLimit: 2, perTitleLimit: 2, groups: [] }, 45],
  [
    {
      planId: 'premium',
      streamLimit: 4,
      perTitleLimit: 2,
      groups: [{ groupId: 'studio-a', limit: 2, contentIdPatterns: ['studio-a-*'] }],
    },
    30,
  ],
];

/**
 * Shares of legitimate accounts, in % (docs/simulate.md, "Legitimate population: classes and
 * sources", gives each share's source; rare classes are oversampled so every class has accounts in
 * a few thousand viewers).
 */
const LEGIT_WEIGHTS: ReadonlyArray<readonly [LegitClass, number]> = [
  ['household', 42],
  ['commuter', 8],
  ['cgnat', 6],
  ['traveller', 2],
  ['vpn', 3],
  ['family-abroad', 2.5],
  ['ipv6-privacy', 15],
  ['mobile-carrier', 8],
  ['shared-network', 4],
  ['vpn-switcher', 2],
  ['border-household', 2.5],
  ['roaming-traveller', 1.5],
  ['satellite-home', 1],
  ['in-flight', 0.5],
  ['flight-traveller', 0.5],
  ['corporate-vpn', 1.5],
];

/**
 * Classes added after the frozen seed was set, with their share of legitimate accounts: each is
 * drawn from a random stream of its own after the classes above, so adding one converts a share of
 * accounts and leaves every other account of a seed as it was.
 */
const LATER_LEGIT_SHARES: ReadonlyArray<readonly [LegitClass, number]> = [['screen-switcher', 0.03]];

const COUNTRY_WEIGHTS_BASE: ReadonlyArray<readonly [string, number]> = [
  ['FR', 18],
  ['DE', 18],
  ['GB', 16],
  ['ES', 10],
  ['IT', 10],
  ['NL', 6],
  ['BE', 4],
  ['SE', 4],
  ['PL', 4],
  ['US', 10],
];
const COUNTRY_WEIGHTS = COUNTRY_WEIGHTS_BASE;

/** Countries whose fixed-line operators have IPv6 space in the world table (IPv6 privacy homes live there). */
const IPV6_COUNTRY_WEIGHTS = COUNTRY_WEIGHTS_BASE.filter(([c]) => networksOf(c, 'fixed').some(hasIpv6));

const PIRATE_USER_AGENTS = ['VLC/3.0.20 LibVLC/3.0.20', 'Kodi/20.2 (Linux; Android 11)', 'Lavf/58.76.100'];
const RELAY_USER_AGENTS = ['Lavf/60.16.100', 'Lavf/61.1.100'];
const BOT_USER_AGENTS = ['Go-http-client/1.1', 'python-requests/2.31.0'];

export interface BuiltAccount {
  plan: AccountPlan;
  players: PlayerSpec[];
  truth: TruthAccount;
}

export interface Population {
  accounts: BuiltAccount[];
  /** Segment numbering origin of live content. */
  contentEpochMs: number;
}

/** A household: 1–4 devices (within the plan), home wifi plus phones on 4G, sessions within limits. */
async function buildHousehold(b: AccountBuilder, country: string, city: City, home: Place): Promise<void> {
  const types: DeviceType[] = ['tv', 'phone', 'tablet', 'laptop'];
  const deviceCount = b.rng.int(1, Math.min(4, b.plan.streamLimit));
  const devices = b.rng
    .shuffle(types.slice())
    .slice(0, deviceCount)
    .map((t) => b.device(t));
  const sessionCount = b.rng.weighted([
    [1, 70],
    [2, 22],
    [3, 8],
  ]);
  for (let i = 0; i < sessionCount; i++) {
    const device = b.rng.pick(devices);
    const onMobile = device.type === 'phone' && b.rng.chance(0.3);
    const s = b.trySession(device, (t0) => once(onMobile ? mobilePlace(b.rng, country, city) : home, t0));
    if (s) await b.playSession(s);
  }
}

async function buildCommuter(b: AccountBuilder, country: string, city: City): Promise<void> {
  const phone = b.device('phone');
  const net = b.rng.pick(networksOf(country, 'mobile'));
  const sessions = b.rng.int(1, 2);
  for (let i = 0; i < sessions; i++) {
    const s = b.trySession(phone, (t0, t1) => {
      // Changing cells: a new /24 of the same carrier every 1–3 minutes, at most two changes.
      const out = [{ fromMs: t0, place: randomPlace(b.rng, net, city) }];
      let t = t0 + b.rng.int(60_000, 180_000);
      while (t < t1 && out.length < 3) {
        out.push({ fromMs: t, place: randomPlace(b.rng, net, city) });
        t += b.rng.int(60_000, 180_000);
      }
      return out;
    });
    if (s) await b.playSession(s);
  }
}

/** CGNAT pools: per country, two /24s of a mobile carrier shared by every CGNAT account there. */
async function buildCgnat(b: AccountBuilder, country: string, city: City): Promise<void> {
  const net = networksOf(country, 'mobile')[0] as NetworkSpec;
  const poolBase = Math.min(4, slash24Count(net) - 2);
  const devices = [b.device('tv'), b.device('phone')].slice(0, Math.min(2, b.plan.streamLimit));
  const sessions = b.rng.int(1, 2);
  for (let i = 0; i < sessions; i++) {
    const device = b.rng.pick(devices);
    const s = b.trySession(device, (t0) =>
      once(placeAt(net, poolBase + b.rng.int(0, 1), b.rng.int(1, 40), city), t0),
    );
    if (s) await b.playSession(s);
  }
}

/** A traveller by train from Luxembourg into Belgium: one border, at train speed, a gap between sessions. */
async function buildTraveller(b: AccountBuilder): Promise<void> {
  const phone = b.device('phone');
  const lux = cityNamed('Luxembourg');
  const arlon = cityNamed('Arlon');
  const luNet = networksOf('LU', 'mobile')[0] as NetworkSpec;
  const beNet = networksOf('BE', 'mobile')[0] as NetworkSpec;
  const first = b.trySession(phone, (t0) => once(randomPlace(b.rng, luNet, lux), t0), {
    fromMs: b.startMs,
    toMs: b.startMs + MINUTE_MS,
  });
  if (!first) return;
  await b.playSession(first);
  // Luxembourg to Arlon is ~25 km: 13–15 minutes later by train (~110 km/h). Even between the two
  // countries' centroids (~140 km) that is under 700 km/h, slower than a plane.
  const resumeMs = first.endMs + b.rng.int(13, 15) * MINUTE_MS;
  if (resumeMs + MINUTE_MS < b.endMs) {
    const second = b.trySession(phone, (t0) => once(randomPlace(b.rng, beNet, arlon), t0), {
      fromMs: resumeMs,
      toMs: resumeMs + MINUTE_MS,
    });
    if (second) await b.playSession(second);
  }
}

/** A household with one laptop behind a commercial VPN (one datacenter ASN, one /24). */
async function buildVpn(b: AccountBuilder, country: string, city: City, home: Place): Promise<void> {
  const laptop = b.device('laptop');
  const tv = b.device('tv');
  const exit = randomPlace(b.rng, b.rng.pick(DATACENTER_NETWORKS));
  const s = b.trySession(laptop, (t0) => once(exit, t0));
  if (s) await b.playSession(s);
  if (b.plan.streamLimit >= 2 && b.rng.chance(0.5)) {
    const t = b.trySession(tv, (t0) => once(home, t0));
    if (t) await b.playSession(t);
  }
  void country;
  void city;
}

/** A family member abroad (student) on the family's plan, within its limits. */
async function buildFamilyAbroad(b: AccountBuilder, country: string, city: City, home: Place): Promise<void> {
  const abroadCountry = b.rng.pick(HOME_COUNTRIES.filter((c) => c !== country));
  const abroadCity = pickCity(b.rng, abroadCountry);
  const tv = b.device('tv');
  const laptop = b.device('laptop');
  const s1 = b.trySession(tv, (t0) => once(home, t0));
  if (s1) await b.playSession(s1);
  const s2 = b.trySession(laptop, (t0) => once(homePlace(b.rng, abroadCountry, abroadCity), t0));
  if (s2) await b.playSession(s2);
  void city;
}

/** An abuse start between fractions lo and hi of the span, leaving at least two minutes to play. */
function abuseStart(b: AccountBuilder, cfg: SimulationConfig, lo: number, hi: number): number {
  const latest = Math.max(b.startMs, b.endMs - 2 * MINUTE_MS);
  return Math.min(
    latest,
    b.startMs + b.rng.int(Math.floor(cfg.durationMs * lo), Math.floor(cfg.durationMs * hi)),
  );
}

interface AbuseResult {
  expectedRules: string[];
  abuseStartMs: number;
}

async function buildTokenResale(b: AccountBuilder, cfg: SimulationConfig, home: Place): Promise<AbuseResult> {
  const content = contentById('ev-cup-final');
  const token = await b.token(
    b.startMs,
    RESALE_TOKEN_TTL_MS,
    content,
    b.tokenKind === 'cat' ? 'jwt' : b.tokenKind,
  );
  const tv = b.device('tv');
  const own: Session = {
    startMs: b.startMs + b.rng.int(0, 2 * MINUTE_MS),
    endMs: b.endMs,
    content,
    device: tv,
    places: [],
  };
  own.places = once(home, own.startMs);
  b.sessions.push(own);
  await b.playSession(own, { token });
  const abuseStartMs = abuseStart(b, cfg, 0.05, 0.4);
  const [minClients, maxClients] = cfg.resaleClients;
  const clients = b.rng.int(minClients, maxClients);
  for (let i = 0; i < clients; i++) {
    const startMs = i === 0 ? abuseStartMs : abuseStartMs + b.rng.int(0, 3 * MINUTE_MS);
    if (startMs >= b.endMs - 10_000) continue;
    const endMs = Math.min(b.endMs, startMs + b.rng.int(MINUTE_MS / 2, 2 * MINUTE_MS));
    const place = randomPlace(b.rng, b.rng.pick(RESIDENTIAL_NETWORKS));
    b.client(token, startMs, endMs, content, place, b.rng.pick(PIRATE_USER_AGENTS));
  }
  return {
    expectedRules: ['token-network-spread', 'geo-spread', 'impossible-travel', 'segment-fanout'],
    abuseStartMs,
  };
}

async function buildRestream(b: AccountBuilder, cfg: SimulationConfig): Promise<AbuseResult> {
  const content = b.rng.pick(LIVE_CONTENTS.filter((c) => c.weight >= 15));
  const token = await b.token(
    b.startMs,
    RESALE_TOKEN_TTL_MS,
    content,
    b.tokenKind === 'cat' ? 'jwt' : b.tokenKind,
  );
  const abuseStartMs = abuseStart(b, cfg, 0.02, 0.4);
  const endMs = Math.min(b.endMs, abuseStartMs + b.rng.int(10, 25) * MINUTE_MS);
  const asns = b.rng.shuffle(DATACENTER_NETWORKS.slice()).slice(0, b.rng.int(2, 3));
  const relays = b.rng.int(6, 10);
  const used = new Set<string>();
  for (let i = 0; i < relays; i++) {
    let place = randomPlace(b.rng, asns[i % asns.length] as NetworkSpec);
    while (used.has(place.network)) place = randomPlace(b.rng, asns[i % asns.length] as NetworkSpec);
    used.add(place.network);
    b.client(
      token,
      abuseStartMs + i * b.rng.int(100, 2000),
      endMs,
      content,
      place,
      b.rng.pick(RELAY_USER_AGENTS),
      {
        alignToAvailability: true,
        renditionIndex: 0,
      },
    );
  }
  return { expectedRules: ['datacenter-source', 'segment-fanout', 'token-network-spread'], abuseStartMs };
}

async function buildCredentialSharing(
  b: AccountBuilder,
  cfg: SimulationConfig,
  country: string,
): Promise<AbuseResult> {
  const people = b.plan.streamLimit + b.rng.int(3, 6);
  const countries = [
    country,
    ...b.rng.shuffle(HOME_COUNTRIES.filter((c) => c !== country)).slice(0, b.rng.int(0, 2)),
  ];
  const firstMs = abuseStart(b, cfg, 0, 0.3);
  // 10–40 s apart, squeezed on short spans so every sharer is on before the span ends.
  const gapMaxMs = Math.max(2_000, Math.min(40_000, Math.floor((cfg.durationMs * 0.3) / people)));
  const gapMinMs = Math.min(10_000, Math.floor(gapMaxMs / 2));
  const starts: number[] = [];
  const contents: Content[] = [];
  let startMs = firstMs;
  for (let i = 0; i < people; i++) {
    const c = countries[i % countries.length] as string;
    const city = pickCity(b.rng, c);
    if (i > 0) startMs += b.rng.int(gapMinMs, gapMaxMs);
    const endMs = Math.min(b.endMs, startMs + b.rng.int(10, 20) * MINUTE_MS);
    if (endMs - startMs < 30_000) continue;
    const content = b.pickContent();
    const session: Session = {
      startMs,
      endMs,
      content,
      device: b.device(b.rng.pick<DeviceType>(['tv', 'laptop', 'phone'])),
      places: once(homePlace(b.rng, c, city), startMs),
    };
    b.sessions.push(session);
    await b.playSession(session);
    starts.push(startMs);
    contents.push(content);
  }
  const abuseStartMs = starts[b.plan.streamLimit] ?? starts[starts.length - 1] ?? firstMs;
  // Every player of a sharer sends CMCD: without heartbeats, its sessions are seen in the CDN logs.
  const expectedRules = ['account-concurrency', 'cmcd-concurrency'];
  const perTitle = b.plan.perTitleLimit;
  if (perTitle !== null) {
    const counts = new Map<string, number>();
    for (const c of contents) counts.set(c.id, (counts.get(c.id) ?? 0) + 1);
    if ([...counts.values()].some((n) => n > perTitle)) expectedRules.push('title-concurrency');
  }
  return { expectedRules, abuseStartMs };
}

async function buildBot(b: AccountBuilder, cfg: SimulationConfig, home: Place): Promise<AbuseResult> {
  const content = contentById('studio-a-movie-1');
  const onDatacenter = b.rng.chance(0.5);
  const place = onDatacenter ? randomPlace(b.rng, b.rng.pick(DATACENTER_NETWORKS)) : home;
  const abuseStartMs = abuseStart(b, cfg, 0, 0.5);
  const endMs = Math.min(b.endMs, abuseStartMs + b.rng.int(5, 15) * MINUTE_MS);
  const session: Session = {
    startMs: abuseStartMs,
    endMs,
    content,
    device: { id: `dev-${b.rng.hex(12)}`, type: 'laptop', userAgent: b.rng.pick(BOT_USER_AGENTS) },
    places: once(place, abuseStartMs),
  };
  b.sessions.push(session);
  await b.playSession(session, { pace: b.rng.int(6, 12), startSegment: 0, renditionIndex: 0 });
  return {
    expectedRules: onDatacenter ? ['request-rate', 'datacenter-source'] : ['request-rate'],
    abuseStartMs,
  };
}

async function buildNoSession(b: AccountBuilder, cfg: SimulationConfig, home: Place): Promise<AbuseResult> {
  const content = b.pickContent();
  const abuseStartMs = abuseStart(b, cfg, 0, 0.5);
  const endMs = Math.min(b.endMs, abuseStartMs + b.rng.int(5, 15) * MINUTE_MS);
  const token = await b.token(abuseStartMs, SESSION_TOKEN_TTL_MS, content);
  // A patched player: plays and sends CMCD, but never announces its session.
  b.client(token, abuseStartMs, endMs, content, home, b.rng.pick(USER_AGENTS.laptop), { cmcd: true });
  return { expectedRules: ['segment-without-session'], abuseStartMs };
}

async function buildCatReplay(
  b: AccountBuilder,
  cfg: SimulationConfig,
  country: string,
  home: Place,
): Promise<AbuseResult> {
  const tv = b.device('tv');
  const own = b.trySession(tv, (t0) => once(home, t0), {
    fromMs: b.startMs,
    toMs: b.startMs + Math.floor(cfg.durationMs * 0.3),
  });
  const content = own?.content ?? b.pickContent();
  const ownStartMs = own?.startMs ?? b.startMs;
  if (own)
    await b.playSession(own, { token: await b.token(own.startMs, SESSION_TOKEN_TTL_MS, content, 'cat', 0) });
  // A single-use token (catreplay=1), used once by the owner, then captured and replayed elsewhere.
  const oneShot = await b.token(ownStartMs, SESSION_TOKEN_TTL_MS, content, 'cat', 1);
  const sid = b.players[0]?.sessionId;
  b.client(oneShot, ownStartMs + 5_000, b.endMs, content, home, tv.userAgent, {
    startup: false,
    maxSegments: 1,
    cmcd: true,
    ...(sid ? { sessionId: sid } : {}),
  });
  // The replay comes after the owner's single use (+5 s), at least a minute before the end when it can.
  const abuseStartMs = Math.max(
    ownStartMs + 10_000,
    Math.min(ownStartMs + b.rng.int(MINUTE_MS, 5 * MINUTE_MS), b.endMs - MINUTE_MS),
  );
  const replayers = b.rng.int(1, 3);
  for (let i = 0; i < replayers; i++) {
    const c = i === 0 ? country : b.rng.pick(HOME_COUNTRIES);
    // Another home: another /24. A real operator has thousands of /24s; the simulated world holds 32
    // per operator, so a draw lands in the owner's /24 far more often than a real home would.
    let place = homePlace(b.rng, c, pickCity(b.rng, c));
    for (let retry = 0; retry < 8 && place.network === home.network; retry++)
      place = homePlace(b.rng, c, pickCity(b.rng, c));
    b.client(
      oneShot,
      abuseStartMs + i * b.rng.int(1_000, 20_000),
      b.endMs,
      content,
      place,
      b.rng.pick(PIRATE_USER_AGENTS),
      {
        startup: false,
        maxSegments: b.rng.int(5, 20),
        cmcd: true,
        ...(sid ? { sessionId: sid } : {}),
      },
    );
  }
  return { expectedRules: ['cat-replay'], abuseStartMs };
}

/** Facts measured on what was planned, so tests can check each class against its definition. */
function factsOf(players: ReadonlyArray<PlayerSpec>): TruthAccount['facts'] {
  const sessions = players.filter((p) => p.heartbeats);
  let peak = 0;
  const edges: Array<[number, number]> = [];
  for (const s of sessions) edges.push([s.startMs, 1], [s.endMs, -1]);
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  for (const [, d] of edges) {
    cur += d;
    peak = Math.max(peak, cur);
  }
  const networks = new Set<string>();
  const countries = new Set<string>();
  const clients = new Set<string>();
  for (const p of players)
    for (const { place } of p.places) {
      networks.add(place.network);
      countries.add(place.country);
      clients.add(place.ip);
    }
  return {
    sessions: sessions.length,
    peakConcurrentSessions: peak,
    networks: networks.size,
    countries: countries.size,
    clients: clients.size,
    paceMax: players.reduce((m, p) => Math.max(m, p.pace), 0),
    heartbeats: sessions.length > 0,
  };
}

/**
 * Builds every account of the simulation. Async only because Common Access Tokens are MAC'd by
 * @eyevinn/cat's async generator.
 */
export async function buildPopulation(cfg: SimulationConfig): Promise<Population> {
  const rng = Prng.fork(cfg.seed, 'population');
  const hasher = new TokenHasher(cfg.tokenHashing);
  const cats = new CatIssuer(cfg.catKeyHex, cfg.catKeyId, cfg.catIssuer);
  // Live content has been on air for two hours: segment numbers are well past zero.
  const contentEpochMs = cfg.startMs - 2 * 60 * MINUTE_MS;
  const allowed = new Set<ViewerClass>(
    cfg.classes ?? [
      ...ABUSE_CLASSES,
      ...LEGIT_WEIGHTS.map(([c]) => c),
      ...LATER_LEGIT_SHARES.map(([c]) => c),
    ],
  );
  // Without heartbeats anywhere there is no session for a patched player to skip: no-session abuse
  // needs a tenant whose players send them.
  const abuseClasses = ABUSE_CLASSES.filter(
    (c) => allowed.has(c) && !(c === 'no-session' && cfg.heartbeats === 'none'),
  );
  const legitWeights = LEGIT_WEIGHTS.filter(([c]) => allowed.has(c));
  const laterShares = LATER_LEGIT_SHARES.filter(([c]) => allowed.has(c));
  let abusers = abuseClasses.length === 0 ? 0 : Math.round(cfg.viewers * cfg.abuserFraction);
  if (legitWeights.length === 0 && laterShares.length === 0) abusers = cfg.viewers;
  const classes: ViewerClass[] = [];
  for (let i = 0; i < abusers; i++) classes.push(abuseClasses[i % abuseClasses.length] as AbuseClass);
  for (let i = abusers; i < cfg.viewers; i++) {
    classes.push(legitWeights.length > 0 ? rng.weighted(legitWeights) : (laterShares[0]?.[0] as LegitClass));
  }
  rng.shuffle(classes);
  // The later classes: a stream of their own, one draw per legitimate account and class.
  for (const [cls, share] of laterShares) {
    if (legitWeights.length === 0) break;
    const later = Prng.fork(cfg.seed, `population:${cls}`);
    for (let i = 0; i < classes.length; i++) {
      if (ABUSE_CLASSES.includes(classes[i] as AbuseClass)) continue;
      if (later.chance(share)) classes[i] = cls;
    }
  }
  const width = Math.max(6, String(cfg.viewers).length);
  const accounts: BuiltAccount[] = [];
  for (let i = 0; i < cfg.viewers; i++) {
    const cls = classes[i] as ViewerClass;
    const accountId = `${cfg.accountPrefix}${String(i + 1).padStart(width, '0')}`;
    const planRng = Prng.fork(cfg.seed, `plan:${accountId}`);
    let plan = planRng.weighted(PLANS);
    // Families abroad and VPN households need room for two streams; sharers abuse small plans.
    if ((cls === 'family-abroad' || cls === 'vpn') && plan.streamLimit < 2) plan = PLANS[1]?.[0] as PlanSpec;
    if (cls === 'credential-sharing' && plan.streamLimit > 2) plan = PLANS[1]?.[0] as PlanSpec;
    const b = new AccountBuilder(cfg, cats, accountId, plan, contentEpochMs, cfg.catShare);
    // Its own stream of draws, so the deployment shape never moves the accounts' other draws.
    const cdnOnly =
      cfg.heartbeats === 'none' ||
      (cfg.heartbeats === 'some' &&
        cls !== 'no-session' &&
        Prng.fork(cfg.seed, `tenant:${accountId}`).chance(cfg.cdnOnlyShare));
    const tenant = cfg.heartbeats === 'some' && cdnOnly ? cfg.cdnOnlyTenant : cfg.tenant;
    const country =
      cls === 'traveller'
        ? 'LU'
        : b.rng.weighted(cls === 'ipv6-privacy' ? IPV6_COUNTRY_WEIGHTS : COUNTRY_WEIGHTS);
    const city = pickCity(b.rng, country);
    const home = homePlace(b.rng, country, city, cls === 'household' ? cfg.ipv6Share : 0);
    let abuse: AbuseResult | null = null;
    switch (cls) {
      case 'household':
        await buildHousehold(b, country, city, home);
        break;
      case 'commuter':
        await buildCommuter(b, country, city);
        break;
      case 'cgnat':
        await buildCgnat(b, country, city);
        break;
      case 'traveller':
        await buildTraveller(b);
        break;
      case 'vpn':
        await buildVpn(b, country, city, home);
        break;
      case 'family-abroad':
        await buildFamilyAbroad(b, country, city, home);
        break;
      case 'ipv6-privacy':
        await buildIpv6Privacy(b, country, city);
        break;
      case 'mobile-carrier':
        await buildMobileCarrier(b, country);
        break;
      case 'shared-network':
        await buildSharedNetwork(b, country);
        break;
      case 'vpn-switcher':
        await buildVpnSwitcher(b, home);
        break;
      case 'border-household':
        await buildBorderHousehold(b);
        break;
      case 'roaming-traveller':
        await buildRoamingTraveller(b, country, home);
        break;
      case 'satellite-home':
        await buildSatelliteHome(b);
        break;
      case 'in-flight':
        await buildInFlight(b, home);
        break;
      case 'flight-traveller':
        await buildFlightTraveller(b);
        break;
      case 'corporate-vpn':
        await buildCorporateVpn(b, country, home);
        break;
      case 'screen-switcher':
        await buildScreenSwitcher(b, country, city, home);
        break;
      case 'token-resale':
        abuse = await buildTokenResale(b, cfg, home);
        break;
      case 'restream':
        abuse = await buildRestream(b, cfg);
        break;
      case 'credential-sharing':
        abuse = await buildCredentialSharing(b, cfg, country);
        break;
      case 'bot':
        abuse = await buildBot(b, cfg, home);
        break;
      case 'no-session':
        abuse = await buildNoSession(b, cfg, home);
        break;
      case 'cat-replay':
        abuse = await buildCatReplay(b, cfg, country, home);
        break;
    }
    for (const p of b.players) {
      p.tenant = tenant;
      if (cdnOnly) p.heartbeats = false;
    }
    const accountPlan: AccountPlan = {
      accountId,
      tenant,
      planId: plan.planId,
      streamLimit: plan.streamLimit,
      perTitleLimit: plan.perTitleLimit,
      concurrencyGroups: plan.groups.map((g) => ({ ...g, contentIdPatterns: [...g.contentIdPatterns] })),
      updatedAtMs: cfg.startMs - 24 * 60 * MINUTE_MS,
    };
    accounts.push({
      plan: accountPlan,
      players: b.players,
      truth: {
        accountId,
        tenant,
        label: abuse ? 'abuser' : 'legit',
        class: cls,
        expectedRules: abuse?.expectedRules ?? [],
        abuseStartMs: abuse?.abuseStartMs ?? null,
        planId: plan.planId,
        streamLimit: plan.streamLimit,
        tokenHashes: [...new Set(b.tokens.map((t) => hasher.hash(t.value).hash))],
        facts: factsOf(b.players),
      },
    });
  }
  return { accounts, contentEpochMs };
}
