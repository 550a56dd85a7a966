/**
 * What every class builder shares: an account's plan, devices, sessions placed within the plan,
 * tokens, and the players (or non-player clients) that play them. The legitimate and abusive class
 * builders (population.ts, legit-classes.ts) compose these.
 */
import type { AccountPlan } from '../core/schemas/generated.ts';
import type { SimulationConfig } from './config.ts';
import { type Content, contentBase, LIVE_CONTENTS } from './content.ts';
import type { CdnFormat } from './model.ts';
import type { PlayerSpec } from './player.ts';
import { Prng } from './prng.ts';
import { type CatIssuer, type IssuedToken, issueEdgeAuth, issueJwt, type TokenKind } from './tokens.ts';
import { hasIpv6, networksOf, type Place, randomPlace, randomPlace6 } from './world/index.ts';
import type { City } from './world/types.ts';

export const MINUTE_MS = 60_000;
/** Gap kept between one session's stop and the next on the same slot, ms: heartbeats are late sometimes. */
const SLOT_MARGIN_MS = 90_000;
/** Lifetime of a session's playback token, ms. */
export const SESSION_TOKEN_TTL_MS = 4 * 60 * MINUTE_MS;
/** Lifetime of a resold (long-lived) token, ms. */
export const RESALE_TOKEN_TTL_MS = 24 * 60 * MINUTE_MS;

export interface PlanSpec {
  planId: string;
  streamLimit: number;
  perTitleLimit: number | null;
  groups: AccountPlan['concurrencyGroups'];
}

export type DeviceType = 'tv' | 'phone' | 'tablet' | 'laptop';

export const USER_AGENTS: Record<DeviceType, ReadonlyArray<string>> = {
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

export const CDN_HOSTS: Record<CdnFormat, string> = {
  'cloudfront-standard': 'd1a2b3c4d5e6f7.cloudfront.net',
  'cloudfront-realtime': 'd9e8f7a6b5c4d3.cloudfront.net',
  'akamai-ds2': 'live-ak.example-ott.com',
  fastly: 'live-fy.example-ott.com',
};

/** One simulated account, ready to be played. */
export interface Device {
  id: string;
  type: DeviceType;
  userAgent: string;
}

/** Where a client is from each time on (the first entry from the session's start). */
export type Schedule = Array<{ fromMs: number; place: Place }>;

export interface Session {
  startMs: number;
  endMs: number;
  content: Content;
  device: Device;
  places: Schedule;
}

/** Everything the class builders share for one account. */
export class AccountBuilder {
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
    placesFor: (startMs: number, endMs: number) => Schedule,
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

export function homePlace(rng: Prng, country: string, city: City, ipv6Share = 0): Place {
  const net = rng.pick(networksOf(country, 'fixed'));
  // Drawn whatever the share, so changing ipv6Share does not shift the other draws.
  const v6 = rng.chance(ipv6Share);
  return v6 && hasIpv6(net) ? randomPlace6(rng, net, city) : randomPlace(rng, net, city);
}

export function mobilePlace(rng: Prng, country: string, city: City): Place {
  return randomPlace(rng, rng.pick(networksOf(country, 'mobile')), city);
}

export const once = (place: Place, fromMs: number): Schedule => [{ fromMs, place }];
