/**
 * Builds the simulated population: accounts with plans, devices and sessions for each legitimate
 * class, and the abusers of each abuse class, with the ground truth of every account. Everything
 * is decided here from the seed; the engine only plays it out in time order.
 */
import type { AccountPlan } from '../core/schemas/generated.ts';
import { TokenHasher } from '../core/token-hash.ts';
import type { SimulationConfig } from './config.ts';
import { type Content, contentBase, contentById, LIVE_CONTENTS } from './content.ts';
import {
  ABUSE_CLASSES,
  type AbuseClass,
  type CdnFormat,
  type LegitClass,
  type TruthAccount,
  type ViewerClass,
} from './model.ts';
import type { PlayerSpec } from './player.ts';
import { Prng } from './prng.ts';
import { CatIssuer, type IssuedToken, issueEdgeAuth, issueJwt, type TokenKind } from './tokens.ts';
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
  randomPlace6,
  slash24Count,
} from './world/index.ts';
import type { City, NetworkSpec } from './world/types.ts';

const MINUTE_MS = 60_000;
/** Gap kept between one session's stop and the next on the same slot, ms: heartbeats are late sometimes. */
const SLOT_MARGIN_MS = 90_000;
/** Lifetime of a session's playback token, ms. */
const SESSION_TOKEN_TTL_MS = 4 * 60 * MINUTE_MS;
/** Lifetime of a resold (long-lived) token, ms. */
const RESALE_TOKEN_TTL_MS = 24 * 60 * MINUTE_MS;

interface PlanSpec {
  planId: string;
  streamLimit: number;
  perTitleLimit: number | null;
  groups: AccountPlan['concurrencyGroups'];
}

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

const LEGIT_WEIGHTS: ReadonlyArray<readonly [LegitClass, number]> = [
  ['household', 70],
  ['commuter', 12],
  ['cgnat', 8],
  ['traveller', 3],
  ['vpn', 4],
  ['family-abroad', 3],
];

const COUNTRY_WEIGHTS: ReadonlyArray<readonly [string, number]> = [
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

type DeviceType = 'tv' | 'phone' | 'tablet' | 'laptop';

const USER_AGENTS: Record<DeviceType, ReadonlyArray<string>> = {
  tv: [
    'Mozilla/5.0 (SMART-TV; Linux; Tizen 6.5) AppleWebKit/537.36 (KHTML, like Gecko) Version/6.5 TV Safari/537.36',
    'Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/87.0.4280.88 Safari/537.36 WebAppManager',
  ],
  phone: [
    'AppleCoreMedia/1.0.0.21C62 (iPhone; U; CPU OS 17_2 like Mac OS X; en_us)',
    'ExoPlayerLib/2.19.1 (Linux; Android 14) ExoPlayerLib/2.19.1',
  ],
  tablet: ['AppleCoreMedia/1.0.0.21C62 (iPad; U; CPU OS 17_2 like Mac OS X; en_us)'],
  laptop: [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  ],
};
const PIRATE_USER_AGENTS = ['VLC/3.0.20 LibVLC/3.0.20', 'Kodi/20.2 (Linux; Android 11)', 'Lavf/58.76.100'];
const RELAY_USER_AGENTS = ['Lavf/60.16.100', 'Lavf/61.1.100'];
const BOT_USER_AGENTS = ['Go-http-client/1.1', 'python-requests/2.31.0'];

export const CDN_HOSTS: Record<CdnFormat, string> = {
  'cloudfront-standard': 'd1a2b3c4d5e6f7.cloudfront.net',
  'cloudfront-realtime': 'd9e8f7a6b5c4d3.cloudfront.net',
  'akamai-ds2': 'live-ak.example-ott.com',
  fastly: 'live-fy.example-ott.com',
};

/** One simulated account, ready to be played. */
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

interface Device {
  id: string;
  type: DeviceType;
  userAgent: string;
}

interface Session {
  startMs: number;
  endMs: number;
  content: Content;
  device: Device;
  places: Array<{ fromMs: number; place: Place }>;
}

/** Everything the class builders share for one account. */
class AccountBuilder {
  readonly rng: Prng;
  readonly accountId: string;
  readonly plan: PlanSpec;
  readonly players: PlayerSpec[] = [];
  readonly sessions: Session[] = [];
  readonly tokens: IssuedToken[] = [];
  readonly tokenKind: TokenKind;
  private readonly cfg: SimulationConfig;
  private readonly cats: CatIssuer;
  private readonly contentEpochMs: number;

  constructor(
    cfg: SimulationConfig,
    cats: CatIssuer,
    accountId: string,
    plan: PlanSpec,
    contentEpochMs: number,
    catShare: number,
  ) {
    this.cfg = cfg;
    this.cats = cats;
    this.accountId = accountId;
    this.plan = plan;
    this.contentEpochMs = contentEpochMs;
    this.rng = Prng.fork(cfg.seed, `account:${accountId}`);
    this.tokenKind = this.rng.weighted<TokenKind>([
      ['jwt', 1 - 0.2 - catShare],
      ['edgeauth', 0.2],
      ['cat', catShare],
    ]);
  }

  get startMs(): number {
    return this.cfg.startMs;
  }
  get endMs(): number {
    return this.cfg.startMs + this.cfg.durationMs;
  }

  cdnFor(kind: TokenKind): CdnFormat {
    if (kind === 'edgeauth') return 'akamai-ds2';
    if (kind === 'cat') return this.rng.pick<CdnFormat>(['cloudfront-realtime', 'fastly']);
    return this.rng.weighted<CdnFormat>([
      ['cloudfront-standard', 35],
      ['cloudfront-realtime', 30],
      ['fastly', 20],
      ['akamai-ds2', 15],
    ]);
  }

  async token(
    iatMs: number,
    ttlMs: number,
    content: Content,
    kind: TokenKind = this.tokenKind,
    catReplay: 0 | 1 = 0,
  ): Promise<IssuedToken> {
    const tokenId = this.rng.hex(16);
    let token: IssuedToken;
    if (kind === 'cat')
      token = await this.cats.issue(this.accountId, tokenId, iatMs, iatMs + ttlMs, catReplay);
    else if (kind === 'edgeauth')
      token = issueEdgeAuth(
        this.cfg.tokenSigningKey,
        this.accountId,
        tokenId,
        `${contentBase(content).replaceAll('/', '%2f')}%2f*`,
        iatMs + ttlMs,
      );
    else token = issueJwt(this.cfg.tokenSigningKey, this.accountId, tokenId, iatMs, iatMs + ttlMs);
    this.tokens.push(token);
    return token;
  }

  device(type: DeviceType): Device {
    return { id: `dev-${this.rng.hex(12)}`, type, userAgent: this.rng.pick(USER_AGENTS[type]) };
  }

  sessionId(): string {
    return this.rng.uuid();
  }

  pickContent(): Content {
    return this.rng.weighted(LIVE_CONTENTS.map((c) => [c, c.weight] as const));
  }

  /** Whether a session fits the plan next to the accepted ones (with a margin for late heartbeats). */
  fits(startMs: number, endMs: number, content: Content, device: Device): boolean {
    const overlapping = this.sessions.filter(
      (s) => s.startMs < endMs + SLOT_MARGIN_MS && startMs < s.endMs + SLOT_MARGIN_MS,
    );
    if (overlapping.some((s) => s.device.id === device.id)) return false;
    if (overlapping.length + 1 > this.plan.streamLimit) return false;
    const sameTitle = overlapping.filter((s) => s.content.id === content.id).length + 1;
    if (this.plan.perTitleLimit !== null && sameTitle > this.plan.perTitleLimit) return false;
    for (const g of this.plan.groups) {
      const inGroup = (c: Content) => g.contentIdPatterns.some((p) => matchesPattern(p, c.id));
      if (inGroup(content) && overlapping.filter((s) => inGroup(s.content)).length + 1 > g.limit)
        return false;
    }
    return true;
  }

  /** Tries to place a session within the plan; returns it or null. */
  trySession(
    device: Device,
    placesFor: (startMs: number, endMs: number) => Array<{ fromMs: number; place: Place }>,
    window?: { fromMs: number; toMs: number },
  ): Session | null {
    const [minMin, maxMin] = this.cfg.sessionMinutes;
    for (let attempt = 0; attempt < 8; attempt++) {
      const durationMs = Math.round(this.rng.range(minMin, maxMin) * MINUTE_MS);
      const from = window?.fromMs ?? this.startMs;
      const to = Math.max(from, (window?.toMs ?? this.endMs) - Math.min(durationMs, MINUTE_MS));
      const startMs = Math.round(this.rng.range(from, to));
      const endMs = Math.min(this.endMs, startMs + durationMs);
      if (endMs - startMs < 30_000) continue;
      const content = this.pickContent();
      if (!this.fits(startMs, endMs, content, device)) continue;
      const session: Session = { startMs, endMs, content, device, places: placesFor(startMs, endMs) };
      this.sessions.push(session);
      return session;
    }
    return null;
  }

  /** A real player for a session: heartbeats, CMCD, real-time pace. */
  async playSession(session: Session, overrides: Partial<PlayerSpec> = {}): Promise<PlayerSpec> {
    const token =
      overrides.token ?? (await this.token(session.startMs, SESSION_TOKEN_TTL_MS, session.content));
    const spec: PlayerSpec = {
      actorId: `${this.accountId}/p${this.players.length}`,
      seed: this.cfg.seed,
      tenant: this.cfg.tenant,
      accountId: this.accountId,
      startMs: session.startMs,
      endMs: session.endMs,
      content: session.content,
      contentEpochMs: this.contentEpochMs,
      token,
      cdn: this.cdnFor(token.kind),
      host: '',
      userAgent: session.device.userAgent,
      sessionId: this.sessionId(),
      deviceId: session.device.id,
      places: session.places,
      heartbeats: true,
      cmcd: true,
      pace: 1,
      alignToAvailability: false,
      startSegment: null,
      maxSegments: null,
      renditionIndex: this.rng.int(0, 2),
      startup: true,
      ...overrides,
    };
    spec.host = CDN_HOSTS[spec.cdn];
    this.players.push(spec);
    return spec;
  }

  /** A non-player client (pirate, relay, bot, replayer) using a given token. */
  client(
    token: IssuedToken,
    startMs: number,
    endMs: number,
    content: Content,
    place: Place,
    userAgent: string,
    overrides: Partial<PlayerSpec> = {},
  ): PlayerSpec {
    const spec: PlayerSpec = {
      actorId: `${this.accountId}/c${this.players.length}`,
      seed: this.cfg.seed,
      tenant: this.cfg.tenant,
      accountId: this.accountId,
      startMs,
      endMs,
      content,
      contentEpochMs: this.contentEpochMs,
      token,
      cdn: this.cdnFor(token.kind),
      host: '',
      userAgent,
      sessionId: this.rng.uuid(),
      deviceId: `dev-${this.rng.hex(12)}`,
      places: [{ fromMs: startMs, place }],
      heartbeats: false,
      cmcd: false,
      pace: 1,
      alignToAvailability: false,
      startSegment: null,
      maxSegments: null,
      renditionIndex: this.rng.int(0, 1),
      startup: true,
      ...overrides,
    };
    spec.host = CDN_HOSTS[spec.cdn];
    this.players.push(spec);
    return spec;
  }
}

export function matchesPattern(pattern: string, contentId: string): boolean {
  return pattern.endsWith('*') ? contentId.startsWith(pattern.slice(0, -1)) : contentId === pattern;
}

function homePlace(rng: Prng, country: string, city: City, ipv6Share = 0): Place {
  const net = rng.pick(networksOf(country, 'fixed'));
  // Drawn whatever the share, so changing ipv6Share does not shift the other draws.
  const v6 = rng.chance(ipv6Share);
  return v6 && hasIpv6(net) ? randomPlace6(rng, net, city) : randomPlace(rng, net, city);
}

function mobilePlace(rng: Prng, country: string, city: City): Place {
  return randomPlace(rng, rng.pick(networksOf(country, 'mobile')), city);
}

const once = (place: Place, fromMs: number) => [{ fromMs, place }];

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
  const expectedRules = ['account-concurrency'];
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
    const place = homePlace(b.rng, c, pickCity(b.rng, c));
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
  const allowed = new Set<ViewerClass>(cfg.classes ?? [...ABUSE_CLASSES, ...LEGIT_WEIGHTS.map(([c]) => c)]);
  const abuseClasses = ABUSE_CLASSES.filter((c) => allowed.has(c));
  const legitWeights = LEGIT_WEIGHTS.filter(([c]) => allowed.has(c));
  let abusers = abuseClasses.length === 0 ? 0 : Math.round(cfg.viewers * cfg.abuserFraction);
  if (legitWeights.length === 0) abusers = cfg.viewers;
  const classes: ViewerClass[] = [];
  for (let i = 0; i < abusers; i++) classes.push(abuseClasses[i % abuseClasses.length] as AbuseClass);
  for (let i = abusers; i < cfg.viewers; i++) classes.push(rng.weighted(legitWeights));
  rng.shuffle(classes);
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
    const country = cls === 'traveller' ? 'LU' : b.rng.weighted(COUNTRY_WEIGHTS);
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
    const accountPlan: AccountPlan = {
      accountId,
      tenant: cfg.tenant,
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
