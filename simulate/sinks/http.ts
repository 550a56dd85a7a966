/**
 * Live mode: plays a simulation against ingest's HTTP endpoints in (scaled) real time:
 * account plans to POST /v1/accounts, CDN lines to POST /v1/logs/:format, heartbeats to
 * POST /v1/heartbeats, in batches flushed every flushIntervalMs or at batchLinesMax.
 * Bounded: at most inFlightMax requests in flight (back-pressure on the generator), a 503 or
 * network error is retried with back-off (Retry-After honoured) up to retriesMax times, then the
 * run fails loudly; nothing is dropped silently.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Simulation } from '../engine.ts';
import {
  CLOUDFRONT_REALTIME_FIELDS,
  formatAccount,
  formatHeartbeat,
  formatPreamble,
  requestFormatters,
} from '../formats/index.ts';
import { CDN_FORMATS, type CdnFormat } from '../model.ts';

export interface LiveOptions {
  ingestUrl: string;
  apiKey: string;
  /**
   * Bearer key per tenant for the CDN lines of tenants other than the simulation's own (the
   * CDN-logs-only tenant of heartbeats 'some'): ingest takes a batch's tenant from the source its
   * key names. Lines of a tenant without a key here fail the run.
   */
  tenantApiKeys?: Record<string, string>;
  /** Simulated ms per wall ms (1 = real time). */
  speed: number;
  /** Most events sent per wall second; a denser simulation plays slower than `speed`. */
  rateMax: number;
  /** Lines per HTTP request, most. */
  batchLinesMax: number;
  /** A partial batch waits at most this long, ms. */
  flushIntervalMs: number;
  inFlightMax: number;
  retriesMax: number;
  /** Stop after this much wall time, ms (the run is bounded even for long spans). */
  wallMsMax: number;
  /** Progress callback, called about once a second. */
  onProgress?: (s: LiveStats) => void;
  /** Stops the run early (Ctrl-C). */
  signal?: AbortSignal;
  /** Content-Type per endpoint kind; defaults: text/plain for the tab-separated CloudFront logs, application/x-ndjson otherwise. */
  contentTypes?: Partial<Record<Endpoint, string>>;
  /** Wall clock (injected for tests). */
  nowMs?: () => number;
}

export interface LiveStats {
  sentLines: Record<string, number>;
  requests: number;
  retries: number;
  /** How far behind its due time the last event went out, ms. */
  lagMs: number;
  /** p99 of that lag over the run, ms: the error bound on "event time = send time". */
  lagMsP99: number;
  lastEventMs: number | null;
  stoppedEarly: boolean;
}

/** A real-time run anchors event time to wall time when its start is at most this far from now, ms. */
const EVENT_TIME_ANCHOR_MAX_MS = 60_000;

/** Lag histogram size, 1 ms buckets: lags of a minute or more all land in the last one. */
const LAG_BUCKETS = 60_000;

/** Where a line goes: a CDN format's log endpoint, heartbeats or accounts. */
export type Endpoint = CdnFormat | 'heartbeats' | 'accounts';

function pathOf(e: Endpoint): string {
  if (e === 'heartbeats') return '/v1/heartbeats';
  if (e === 'accounts') return '/v1/accounts';
  return `/v1/logs/${e}`;
}

export async function playLive(sim: Simulation, options: LiveOptions): Promise<LiveStats> {
  const now = options.nowMs ?? (() => Date.now());
  const formatters = requestFormatters(CLOUDFRONT_REALTIME_FIELDS);
  // Batches per (key, endpoint): each tenant's lines go out under its own source key.
  const buffers = new Map<string, { endpoint: Endpoint; apiKey: string; lines: string[] }>();
  const stats: LiveStats = {
    sentLines: {},
    requests: 0,
    retries: 0,
    lagMs: 0,
    lagMsP99: 0,
    lastEventMs: null,
    stoppedEarly: false,
  };
  // Lag histogram in 1 ms buckets, the last one catching everything above (bounded memory).
  const lagBuckets = new Uint32Array(LAG_BUCKETS);
  let lagCount = 0;
  const inFlight = new Set<Promise<void>>();
  let failure: Error | null = null;
  const base = options.ingestUrl.replace(/\/+$/, '');

  async function post(endpoint: Endpoint, apiKey: string, lines: string[]): Promise<void> {
    const body = (CDN_FORMATS as ReadonlyArray<string>).includes(endpoint)
      ? formatPreamble(endpoint as CdnFormat) + lines.join('')
      : lines.join('');
    const contentType =
      options.contentTypes?.[endpoint] ??
      (endpoint === 'cloudfront-standard' || endpoint === 'cloudfront-realtime'
        ? 'text/plain'
        : 'application/x-ndjson');
    for (let attempt = 0; ; attempt++) {
      let retryAfterMs = Math.min(5_000, 100 * 2 ** attempt);
      try {
        const res = await fetch(base + pathOf(endpoint), {
          method: 'POST',
          headers: { authorization: `Bearer ${apiKey}`, 'content-type': contentType },
          body,
        });
        await res.arrayBuffer();
        if (res.ok) {
          stats.requests++;
          stats.sentLines[endpoint] = (stats.sentLines[endpoint] ?? 0) + lines.length;
          return;
        }
        if (res.status !== 503 && res.status !== 429) {
          throw new Error(`POST ${pathOf(endpoint)} answered ${res.status}: not retriable`);
        }
        const header = Number(res.headers.get('retry-after'));
        if (Number.isFinite(header) && header > 0) retryAfterMs = header * 1000;
      } catch (err) {
        if ((err as Error).message.includes('not retriable')) throw err;
        if (attempt >= options.retriesMax) throw err;
      }
      if (attempt >= options.retriesMax)
        throw new Error(`POST ${pathOf(endpoint)}: still unavailable after ${attempt + 1} tries`);
      stats.retries++;
      await sleep(retryAfterMs);
    }
  }

  async function send(endpoint: Endpoint, apiKey: string, lines: string[]): Promise<void> {
    while (inFlight.size >= options.inFlightMax) await Promise.race(inFlight);
    if (failure) throw failure;
    const p: Promise<void> = post(endpoint, apiKey, lines)
      .catch((err: Error) => {
        failure ??= err;
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }

  async function flushAll(): Promise<void> {
    for (const buffer of buffers.values()) {
      if (buffer.lines.length === 0) continue;
      const lines = buffer.lines;
      buffer.lines = [];
      await send(buffer.endpoint, buffer.apiKey, lines);
    }
  }

  /** The key a tenant's lines are posted with. */
  function keyOf(tenant: string): string {
    if (tenant === sim.config.tenant) return options.apiKey;
    const key = options.tenantApiKeys?.[tenant];
    if (!key) throw new Error(`live: no API key for tenant ${tenant} (tenantApiKeys)`);
    return key;
  }

  async function add(endpoint: Endpoint, line: string, apiKey = options.apiKey): Promise<void> {
    const id = `${apiKey}\t${endpoint}`;
    let buffer = buffers.get(id);
    if (!buffer) {
      buffer = { endpoint, apiKey, lines: [] };
      buffers.set(id, buffer);
    }
    buffer.lines.push(line);
    if (buffer.lines.length >= options.batchLinesMax) {
      const lines = buffer.lines;
      buffer.lines = [];
      await send(endpoint, apiKey, lines);
    }
  }

  const simStart = sim.config.startMs;
  // At real-time speed with a start near now, event time IS wall time (events built before the
  // first send just go out at once): then a flag's detectedAtMs is the wall time its request was
  // sent, and revocation delays measured against it are real.
  const wallStart =
    options.speed === 1 && Math.abs(simStart - now()) < EVENT_TIME_ANCHOR_MAX_MS ? simStart : now();
  let lastFlush = wallStart;
  let lastProgress = wallStart;
  let count = 0;
  // Plans first, all of them, so the detector knows every limit before the first request.
  const events = sim.events();
  let pendingEvent = events.next();
  while (!pendingEvent.done && pendingEvent.value.type === 'account') {
    await add('accounts', formatAccount(pendingEvent.value.plan));
    pendingEvent = events.next();
  }
  await flushAll();
  await Promise.all(inFlight);
  if (failure) throw failure;
  for (; !pendingEvent.done; pendingEvent = events.next()) {
    const e = pendingEvent.value;
    if (options.signal?.aborted || now() - wallStart > options.wallMsMax) {
      stats.stoppedEarly = true;
      break;
    }
    const dueMs = Math.max(
      wallStart + (e.timestampMs - simStart) / options.speed,
      wallStart + (count / options.rateMax) * 1000,
    );
    let t = now();
    if (dueMs - t > 5) {
      if (t - lastFlush >= options.flushIntervalMs) {
        await flushAll();
        lastFlush = t;
      }
      // Ctrl-C wakes the wait at once; the loop then stops and flushes.
      await sleep(dueMs - t, undefined, options.signal ? { signal: options.signal } : undefined).catch(
        () => {},
      );
      t = now();
    }
    stats.lagMs = Math.max(0, t - dueMs);
    const bucket = Math.min(LAG_BUCKETS - 1, Math.floor(stats.lagMs));
    lagBuckets[bucket] = (lagBuckets[bucket] ?? 0) + 1;
    lagCount++;
    if (e.type === 'request')
      await add(e.request.cdn, formatters[e.request.cdn](e.request), keyOf(e.request.tenant));
    else if (e.type === 'heartbeat') await add('heartbeats', formatHeartbeat(e.heartbeat));
    else await add('accounts', formatAccount(e.plan));
    count++;
    stats.lastEventMs = e.timestampMs;
    if (t - lastFlush >= options.flushIntervalMs) {
      await flushAll();
      lastFlush = t;
    }
    if (failure) throw failure;
    if (options.onProgress && t - lastProgress >= 1000) {
      options.onProgress(stats);
      lastProgress = t;
    }
  }
  await flushAll();
  await Promise.all(inFlight);
  if (failure) throw failure;
  let seen = 0;
  for (let ms = 0; ms < LAG_BUCKETS; ms++) {
    seen += lagBuckets[ms] ?? 0;
    if (seen >= 0.99 * lagCount) {
      stats.lagMsP99 = ms;
      break;
    }
  }
  return stats;
}
