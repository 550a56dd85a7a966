/**
 * One simulated client playing one content: a real player (heartbeats start / every 30 s / stop,
 * CMCD on every request) or a pirate / relay / bot / replayer (the same machinery with heartbeats,
 * CMCD or real-time pacing switched off). An actor yields its events in time order; the engine
 * merges all actors by time.
 */
import {
  type Content,
  liveEdge,
  manifestPath,
  type Rendition,
  renditionEntryPath,
  segmentPath,
} from './content.ts';
import type { CdnFormat, SimCmcd, SimEvent, SimRequest } from './model.ts';
import { Prng } from './prng.ts';
import type { IssuedToken } from './tokens.ts';
import type { Place } from './world/index.ts';

/** Player heartbeat period, ms (players send one every 30–60 s; 30 s is the common default). */
export const HEARTBEAT_INTERVAL_MS = 30_000;
/** Segments a live player stays behind the live edge. */
const LIVE_LATENCY_SEGMENTS = 3;
/** Segments fetched back to back at startup to fill the buffer. */
const STARTUP_SEGMENTS = 3;

export interface PlayerSpec {
  actorId: string;
  seed: string;
  tenant: string;
  accountId: string;
  startMs: number;
  endMs: number;
  content: Content;
  /** Segment numbering origin for live content. */
  contentEpochMs: number;
  token: IssuedToken;
  cdn: CdnFormat;
  host: string;
  userAgent: string;
  sessionId: string;
  deviceId: string;
  /** Network schedule: the place in effect from each time on (first entry from startMs). */
  places: ReadonlyArray<{ fromMs: number; place: Place }>;
  /** Sends start / heartbeat / stop. */
  heartbeats: boolean;
  /**
   * Ends with a stop heartbeat (default). False: the player just goes silent, as a TV switched off
   * at the remote, an app killed or a tab closed do.
   */
  sendsStop?: boolean;
  /** Sends CMCD on requests; sid is sessionId. */
  cmcd: boolean;
  /** Segments per segment duration: 1 = real time, 8 = eight times faster. */
  pace: number;
  /** Fetch each segment as soon as it is available (restream relays), not at a player's own phase. */
  alignToAvailability: boolean;
  /** First segment number (VOD); live players start near the live edge. */
  startSegment: number | null;
  /** Stops after this many segment requests (replayers); null = until endMs. */
  maxSegments: number | null;
  /** Starting rendition index into content.renditions (0 = top). */
  renditionIndex: number;
  /** Fetches the manifest, rendition playlist / init and a startup burst first (players do; replayers do not). */
  startup: boolean;
}

const EDGE_BY_COUNTRY: Record<string, string> = {
  FR: 'CDG50-P1',
  DE: 'FRA56-C2',
  GB: 'LHR61-P2',
  ES: 'MAD53-C1',
  IT: 'MXP64-P1',
  NL: 'AMS58-C1',
  BE: 'BRU50-C1',
  LU: 'FRA56-C2',
  SE: 'ARN54-C1',
  PL: 'WAW51-P1',
  US: 'IAD89-C1',
  BR: 'GRU3-C1',
  IN: 'BOM78-P1',
};

function edgeFor(country: string): string {
  return EDGE_BY_COUNTRY[country] ?? 'FRA56-C2';
}

/** CMCD as a `CMCD=` query value: keys sorted, strings quoted, true booleans as bare keys (CTA-5004). */
export function encodeCmcd(cmcd: SimCmcd): string {
  const parts: string[] = [];
  const keys = Object.keys(cmcd).sort() as Array<keyof SimCmcd>;
  for (const k of keys) {
    const v = cmcd[k];
    if (v === undefined) continue;
    if (typeof v === 'boolean') {
      if (v) parts.push(k);
    } else if (typeof v === 'string' && k !== 'ot' && k !== 'sf' && k !== 'st')
      parts.push(`${k}=${JSON.stringify(v)}`);
    else parts.push(`${k}=${v}`);
  }
  return parts.join(',');
}

interface Pending {
  t: number;
  kind: 'manifest' | 'entry' | 'segment';
  segment: number;
  startup: boolean;
}

export class Player {
  readonly spec: PlayerSpec;
  /** Time of the next event, or Infinity when done. */
  nextMs: number;
  /** Tie-break among actors with the same nextMs (set by the engine). */
  heapOrder = 0;
  private readonly rng: Prng;
  private readonly queue: Pending[] = [];
  private nextHbMs: number;
  private hbState: 'start' | 'beat' | 'stop' | 'done';
  private rendition: Rendition;
  private renditionIdx: number;
  private segment: number;
  private segmentsFetched = 0;
  private nextTickMs: number;
  private readonly tickMs: number;
  private placeIdx = 0;
  /** URL-encoded CMCD fragments constant over the session, precomputed (the hot path). */
  private readonly cmcdCid: string;
  private readonly cmcdSession: string;
  private readonly tokenQuery: string;
  /** Request ids: a random per-actor prefix plus a counter (unique, cheap, reproducible). */
  private readonly requestIdPrefix: string;
  private requestSeq = 0;
  private ticksDone = false;
  private bufferMs = 0;

  constructor(spec: PlayerSpec) {
    this.spec = spec;
    this.rng = Prng.fork(spec.seed, spec.actorId);
    this.renditionIdx = Math.min(spec.renditionIndex, spec.content.renditions.length - 1);
    this.rendition = spec.content.renditions[this.renditionIdx] as Rendition;
    this.tickMs = spec.content.segmentDurationMs / spec.pace;
    const sf = spec.content.format === 'hls' ? 'h' : 'd';
    const st = spec.content.kind === 'live' ? 'l' : 'v';
    this.cmcdCid = `cid%3D%22${encodeURIComponent(spec.content.id)}%22`;
    this.cmcdSession = `sf%3D${sf}%2Csid%3D%22${encodeURIComponent(spec.sessionId)}%22%2Cst%3D${st}`;
    this.tokenQuery = `${spec.token.param}=${spec.token.value}`;
    this.requestIdPrefix = this.rng.hex(16);
    const t0 = spec.startMs;
    this.hbState = spec.heartbeats ? 'start' : 'done';
    this.nextHbMs = spec.heartbeats ? t0 : Number.POSITIVE_INFINITY;
    const c = spec.content;
    if (spec.startSegment !== null) this.segment = spec.startSegment;
    else
      this.segment =
        liveEdge(c, spec.contentEpochMs, t0) - (spec.alignToAvailability ? 0 : LIVE_LATENCY_SEGMENTS);
    if (spec.alignToAvailability) {
      // A relay polls for each segment right after the packager publishes it.
      this.nextTickMs =
        spec.contentEpochMs + (this.segment + 1) * c.segmentDurationMs + this.rng.int(150, 900);
      if (this.nextTickMs < t0) this.nextTickMs = t0 + this.rng.int(50, 300);
    } else if (!spec.startup) {
      this.nextTickMs = t0;
    } else {
      let t = t0 + (spec.heartbeats ? this.rng.int(80, 250) : 0);
      this.queue.push({ t, kind: 'manifest', segment: 0, startup: true });
      t += this.rng.int(60, 200);
      this.queue.push({ t, kind: 'entry', segment: 0, startup: true });
      for (let i = 0; i < STARTUP_SEGMENTS - 1; i++) {
        t += this.rng.int(120, 350);
        this.queue.push({ t, kind: 'segment', segment: this.segment++, startup: true });
      }
      this.nextTickMs = t + this.rng.int(120, 350);
    }
    this.nextMs = t0;
    this.computeNext();
  }

  private placeAt(t: number): Place {
    const places = this.spec.places;
    while (
      this.placeIdx + 1 < places.length &&
      (places[this.placeIdx + 1] as { fromMs: number }).fromMs <= t
    ) {
      this.placeIdx++;
    }
    return (places[this.placeIdx] as { place: Place }).place;
  }

  /** Schedules the next tick's requests (a playlist refresh for live HLS, then the segment). */
  private scheduleTick(): void {
    const s = this.spec;
    const t = this.nextTickMs;
    // A tick's requests span up to ~200 ms; none may fall after the session's stop.
    if (t + 200 >= s.endMs || (s.maxSegments !== null && this.segmentsFetched >= s.maxSegments)) {
      this.ticksDone = true;
      return;
    }
    if (s.startup && this.rng.chance(0.03)) {
      // Adaptive bitrate switch: same session, different rendition (not a second stream).
      const step = this.rng.chance(0.5) ? 1 : -1;
      this.renditionIdx = Math.max(0, Math.min(s.content.renditions.length - 1, this.renditionIdx + step));
      this.rendition = s.content.renditions[this.renditionIdx] as Rendition;
      if (s.content.format === 'dash') this.queue.push({ t, kind: 'entry', segment: 0, startup: false });
    }
    let segT = t;
    // Players refresh the live playlist each tick; replayers only re-send copied segment URLs.
    if (s.content.format === 'hls' && s.content.kind === 'live' && !s.alignToAvailability && s.startup) {
      this.queue.push({ t, kind: 'entry', segment: 0, startup: false });
      segT = t + this.rng.int(40, 160);
    }
    this.queue.push({ t: segT, kind: 'segment', segment: this.segment++, startup: false });
    if (s.alignToAvailability) {
      this.nextTickMs =
        s.contentEpochMs + (this.segment + 1) * s.content.segmentDurationMs + this.rng.int(150, 900);
    } else {
      // Jitter stays well under the tick so requests keep their order and real-time pace.
      this.nextTickMs = Math.round(t + this.tickMs + this.rng.int(-60, 60));
    }
  }

  private computeNext(): void {
    if (this.queue.length === 0 && !this.ticksDone) this.scheduleTick();
    const q = this.queue[0]?.t ?? Number.POSITIVE_INFINITY;
    this.nextMs = Math.min(q, this.nextHbMs);
  }

  /** The next event (at nextMs). */
  next(): SimEvent {
    const head = this.queue[0];
    let event: SimEvent;
    if (head !== undefined && head.t <= this.nextHbMs) {
      this.queue.shift();
      event = { type: 'request', timestampMs: head.t, request: this.request(head) };
    } else {
      event = this.heartbeat();
    }
    this.computeNext();
    return event;
  }

  private heartbeat(): SimEvent {
    const s = this.spec;
    const t = this.nextHbMs;
    const place = this.placeAt(t);
    const kind = this.hbState === 'start' ? 'start' : this.hbState === 'stop' ? 'stop' : 'heartbeat';
    if (this.hbState === 'start') {
      this.hbState = 'beat';
      this.nextHbMs = t + HEARTBEAT_INTERVAL_MS;
    } else if (this.hbState === 'beat') {
      this.nextHbMs = t + HEARTBEAT_INTERVAL_MS;
      if (this.nextHbMs >= s.endMs) {
        if (s.sendsStop === false) {
          this.hbState = 'done';
          this.nextHbMs = Number.POSITIVE_INFINITY;
        } else {
          this.hbState = 'stop';
          this.nextHbMs = Math.max(s.endMs, t + 1);
        }
      }
    } else {
      this.hbState = 'done';
      this.nextHbMs = Number.POSITIVE_INFINITY;
    }
    const sf = s.content.format === 'hls' ? 'h' : 'd';
    return {
      type: 'heartbeat',
      timestampMs: t,
      heartbeat: {
        event: kind,
        timestampMs: t,
        tenant: s.tenant,
        accountId: s.accountId,
        sessionId: s.sessionId,
        deviceId: s.deviceId,
        contentId: s.content.id,
        token: s.token.value,
        clientIp: place.ip,
        playheadMs: Math.max(0, t - s.startMs),
        bitrateKbps: this.rendition.bitrateKbps,
        cmcd: { cid: s.content.id, sid: s.sessionId, sf, st: s.content.kind === 'live' ? 'l' : 'v', v: 1 },
      },
    };
  }

  private request(p: Pending): SimRequest {
    const s = this.spec;
    const c = s.content;
    const place = this.placeAt(p.t);
    const rng = this.rng;
    let path: string;
    let bytes: number;
    let contentType: string;
    let ot: string;
    if (p.kind === 'manifest') {
      path = manifestPath(c);
      bytes = rng.int(900, 2400);
      contentType = c.format === 'hls' ? 'application/vnd.apple.mpegurl' : 'application/dash+xml';
      ot = 'm';
    } else if (p.kind === 'entry') {
      path = renditionEntryPath(c, this.rendition);
      if (c.format === 'hls') {
        bytes = rng.int(400, 900);
        contentType = 'application/vnd.apple.mpegurl';
        ot = 'm';
      } else {
        bytes = rng.int(700, 1100);
        contentType = 'video/mp4';
        ot = 'i';
      }
    } else {
      path = segmentPath(c, this.rendition, p.segment);
      bytes = Math.round(((this.rendition.bitrateKbps * c.segmentDurationMs) / 8) * rng.range(0.92, 1.08));
      contentType = c.format === 'hls' ? 'video/mp2t' : 'video/iso.segment';
      ot = c.format === 'hls' ? 'av' : 'v';
      this.segmentsFetched++;
      this.bufferMs = Math.min(30_000, this.bufferMs + c.segmentDurationMs);
    }
    let cmcd: SimCmcd | null = null;
    let query = this.tokenQuery;
    if (s.cmcd) {
      const br = this.rendition.bitrateKbps;
      const sf = c.format === 'hls' ? 'h' : 'd';
      const st = c.kind === 'live' ? 'l' : 'v';
      cmcd = { br, cid: c.id, ot, sf, sid: s.sessionId, st, v: 1 };
      // Keys in alphabetical order, as CTA-5004 recommends; the query value is URL-encoded.
      if (p.kind === 'segment') {
        const bl = Math.round(this.bufferMs / 100) * 100;
        const mtp = Math.round((br * rng.range(1.5, 4)) / 100) * 100;
        const tb = (c.renditions[0] as Rendition).bitrateKbps;
        cmcd.bl = bl;
        cmcd.d = c.segmentDurationMs;
        cmcd.mtp = mtp;
        cmcd.tb = tb;
        if (p.startup) cmcd.su = true;
        query += `&CMCD=bl%3D${bl}%2Cbr%3D${br}%2C${this.cmcdCid}%2Cd%3D${c.segmentDurationMs}%2Cmtp%3D${mtp}%2Cot%3D${ot}%2C${this.cmcdSession}${p.startup ? '%2Csu' : ''}%2Ctb%3D${tb}%2Cv%3D1`;
      } else {
        query += `&CMCD=br%3D${br}%2C${this.cmcdCid}%2Cot%3D${ot}%2C${this.cmcdSession}%2Cv%3D1`;
      }
    }
    const hit = p.kind === 'segment' ? rng.chance(0.95) : rng.chance(0.6);
    const timeTakenMs = p.kind === 'segment' ? rng.int(20, 400) : rng.int(5, 60);
    return {
      timestampMs: p.t,
      cdn: s.cdn,
      requestId: this.requestIdPrefix + (this.requestSeq++).toString(36),
      clientIp: place.ip,
      clientPort: rng.int(20000, 65000),
      country: place.country,
      city: place.city,
      asn: place.asn,
      method: 'GET',
      host: s.host,
      path,
      query,
      status: 200,
      bytes,
      contentType,
      userAgent: s.userAgent,
      edgeLocation: edgeFor(place.country),
      cacheResult: hit ? 'Hit' : p.kind === 'segment' ? 'Miss' : 'RefreshHit',
      timeTakenMs,
      ttfbMs: Math.max(1, Math.round(timeTakenMs * 0.3)),
      cmcd,
      accountId: s.accountId,
      tenant: s.tenant,
    };
  }
}
