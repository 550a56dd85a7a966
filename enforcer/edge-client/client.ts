/**
 * The edge client: an in-process mirror of the Redis denylist for a Node edge / gateway / licence
 * server, and the engine behind the decision API.
 *
 * - `check()` is synchronous: Map lookups only, for the per-request hot path.
 * - The mirror is kept fresh by the `lg:deny:changes` channel; after every (re)connect of the
 *   subscription it is rebuilt by a full SCAN of `lg:deny:*` (changes arriving during the scan are
 *   replayed on top, so none is lost).
 * - While the mirror is incomplete (first sync pending, subscription down, denylist larger than
 *   maxEntries) a miss reads Redis: `decide()` awaits that read, `check()` answers allow and fills
 *   the cache in the background. "Not denied" answers from Redis are cached for negativeTtlMs and
 *   dropped by any change message about the subject.
 * - When Redis cannot be read and nothing cached matches, `failMode` answers: `open` allows (a
 *   Redis outage never stops paying viewers), `closed` blocks (a Redis outage never lets a
 *   revoked token through). Cached blocks keep applying in both modes.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { RevokedSubjectKind } from '../../core/schemas/generated.ts';
import type { TokenHasher } from '../../core/token-hash.ts';
import {
  DENY_CHANGES_CHANNEL,
  DENY_KEY_PREFIX,
  type DenyChange,
  type DenyEntry,
  denyKey,
  entryFromFields,
  parseDenyKey,
} from '../denylist/keys.ts';
import { allowDecision, type Decision, decisionFromEntry, failModeDecision, moreSevere } from './decision.ts';
import { DenyCache, type Lookup } from './deny-cache.ts';

export type FailMode = 'open' | 'closed';

/** One request to judge; any subset of subjects. `token` is raw and hashed here (never stored). */
export interface EdgeQuery {
  token?: string | undefined;
  tokenHash?: string | undefined;
  sessionId?: string | undefined;
  accountId?: string | undefined;
}

export interface EdgeClientOptions {
  redisUrl: string;
  /** Hashes raw tokens (all active key ids, for rotations). Needed only for `query.token`. */
  tokenHasher?: TokenHasher | undefined;
  /** Answer when Redis cannot be read and the cache does not know. Default open. */
  failMode?: FailMode;
  /** Most mirrored entries. Default 1,000,000 (~300 MB worst case). */
  maxEntries?: number;
  /** Trust in a "not denied" read from Redis while the mirror is incomplete, ms. Default 1,000. */
  negativeTtlMs?: number;
  /** Most negative entries. Default 100,000. */
  negativeMax?: number;
  /** Keys per SCAN step and per HGETALL pipeline during a resync. Default 1,000. */
  resyncBatch?: number;
  /** Period of the sweep that drops expired entries (Redis expires keys without a message), ms. Default 10,000. */
  sweepIntervalMs?: number;
  /** Pause before retrying a failed resync, ms. Default 500. */
  resyncRetryMs?: number;
  /** Time a fallback Redis read may take before the fail mode answers, ms. Default 250. */
  readTimeoutMs?: number;
  /**
   * First wait before a resync after the mirror overflowed maxEntries, ms (doubles while the
   * denylist still does not fit, up to 10x). Default 30,000: a full SCAN is not free.
   */
  overflowResyncMs?: number;
  /**
   * Period of the PING on the subscription connection, ms. A subscription that does not answer
   * within the same time (a half-open connection: no error, no message) marks the mirror
   * incomplete and reconnects; so the mirror is reported incomplete within twice this. Default 1,000.
   */
  subscriptionPingMs?: number;
  /** Clock for expiry checks; injected in tests. Default Date.now. */
  nowMs?: () => number;
  logger?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void } | undefined;
  redisOptions?: RedisOptions;
}

/** Counters for hits / misses / staleness; see `stats()`. */
export interface EdgeClientStats {
  /** Subject lookups answered from the mirror (including authoritative absence). */
  hits: number;
  /** Subject lookups the mirror could not answer. */
  misses: number;
  /** Redis reads made on misses. */
  redisReads: number;
  /** Answers given by the fail mode because Redis could not be read. */
  failModeAnswers: number;
  changesApplied: number;
  resyncs: number;
  entries: number;
  /** 0 while the mirror is complete and subscribed; else ms since it stopped being so. */
  stalenessMs: number;
  complete: boolean;
}

const KINDS: readonly RevokedSubjectKind[] = ['token', 'session', 'account'];

export class EdgeClient {
  readonly cache: DenyCache;
  readonly failMode: FailMode;
  private readonly redis: Redis;
  private readonly sub: Redis;
  private readonly hasher: TokenHasher | undefined;
  private readonly nowMs: () => number;
  private readonly resyncBatch: number;
  private readonly resyncRetryMs: number;
  private readonly readTimeoutMs: number;
  private readonly logger: EdgeClientOptions['logger'];
  private readonly inflight = new Set<string>();
  /** Changes received while a resync scans; replayed on top of its result. */
  private buffered: DenyChange[] | null = null;
  private resyncGeneration = 0;
  private resyncTimer: NodeJS.Timeout | undefined;
  private readonly overflowResyncBaseMs: number;
  private overflowResyncMs: number;
  /**
   * Subjects with a read in flight for an entry-less change message, by a counter every later
   * message for the subject bumps: the read applies only if no newer change came meanwhile.
   */
  private readonly rereads = new Map<string, number>();
  private rereadSeq = 0;
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly pingTimer: NodeJS.Timeout;
  private readonly subscriptionPingMs: number;
  private pinging = false;
  private unsyncedSinceMs: number;
  private closed = false;
  private firstSync: { promise: Promise<void>; resolve: () => void };
  private counters = { hits: 0, misses: 0, redisReads: 0, failModeAnswers: 0, changesApplied: 0, resyncs: 0 };

  constructor(options: EdgeClientOptions) {
    this.cache = new DenyCache({
      maxEntries: options.maxEntries ?? 1_000_000,
      negativeTtlMs: options.negativeTtlMs ?? 1_000,
      negativeMax: options.negativeMax ?? 100_000,
    });
    this.failMode = options.failMode ?? 'open';
    this.hasher = options.tokenHasher;
    this.nowMs = options.nowMs ?? Date.now;
    this.resyncBatch = options.resyncBatch ?? 1_000;
    this.resyncRetryMs = options.resyncRetryMs ?? 500;
    this.readTimeoutMs = options.readTimeoutMs ?? 250;
    this.overflowResyncBaseMs = options.overflowResyncMs ?? 30_000;
    this.overflowResyncMs = this.overflowResyncBaseMs;
    this.logger = options.logger;
    this.unsyncedSinceMs = this.nowMs();
    let resolve!: () => void;
    this.firstSync = { promise: new Promise<void>((r) => (resolve = r)), resolve };
    const base: RedisOptions = {
      lazyConnect: true,
      // Fail fast on the read path: a queued command behind a dead connection is a slow answer.
      enableOfflineQueue: true,
      maxRetriesPerRequest: 1,
      retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
      ...options.redisOptions,
    };
    this.redis = new Redis(options.redisUrl, { ...base, commandTimeout: this.readTimeoutMs * 4 });
    this.sub = new Redis(options.redisUrl, base);
    for (const conn of [this.redis, this.sub]) conn.on('error', () => {}); // state is tracked via events below
    this.sub.on('message', (channel: string, message: string) => {
      if (channel === DENY_CHANGES_CHANNEL) this.onMessage(message);
    });
    this.sub.on('ready', () => this.scheduleResync(0));
    this.sub.on('close', () => this.onSubscriptionLost());
    this.sweepTimer = setInterval(() => this.sweepSlice(), options.sweepIntervalMs ?? 10_000);
    this.sweepTimer.unref();
    this.subscriptionPingMs = options.subscriptionPingMs ?? 1_000;
    this.pingTimer = setInterval(() => void this.pingSubscription(), this.subscriptionPingMs);
    this.pingTimer.unref();
  }

  /**
   * A subscription that stops answering is lost even if its socket never errors (a peer that went
   * away without a FIN, a stalled proxy): the mirror could be missing changes, so it is reported
   * incomplete and the connection is dropped and made again (which resyncs).
   */
  private async pingSubscription(): Promise<void> {
    if (this.closed || this.pinging || this.sub.status !== 'ready') return;
    this.pinging = true;
    try {
      await withTimeout(this.sub.ping(), this.subscriptionPingMs);
    } catch (err) {
      if (this.closed) return;
      this.logger?.warn({ err: (err as Error).message }, 'denylist subscription unanswered; reconnecting');
      this.onSubscriptionLost();
      this.sub.disconnect(true);
    } finally {
      this.pinging = false;
    }
  }

  /** Sweeps expired entries in slices of 20,000, yielding to I/O between slices. */
  private sweepSlice(): void {
    if (this.closed) return;
    if (!this.cache.sweep(this.nowMs(), 20_000)) setImmediate(() => this.sweepSlice());
  }

  /**
   * Connects, subscribes and waits up to timeoutMs for the first full sync. Returns whether it is
   * done: a denylist too large to mirror in that time keeps syncing in the background (until then
   * misses read Redis, and `stats().complete` is false), rather than failing the caller's boot.
   */
  async start(timeoutMs = 5_000): Promise<boolean> {
    await Promise.all([this.redis.connect(), this.sub.connect()]);
    let timer: NodeJS.Timeout | undefined;
    const synced = await Promise.race([
      this.firstSync.promise.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
    if (!synced) {
      this.logger?.warn({ timeoutMs }, 'denylist mirror not synced yet; misses read Redis meanwhile');
    }
    return synced;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.resyncTimer);
    clearInterval(this.sweepTimer);
    clearInterval(this.pingTimer);
    this.redis.disconnect();
    this.sub.disconnect();
  }

  /** The Redis command connection (for readiness probes). */
  get connection(): Redis {
    return this.redis;
  }

  /**
   * Synchronous decision from the mirror. A subject the mirror cannot answer is allowed and read
   * from Redis in the background (or answered by the fail mode if Redis is down).
   */
  check(query: EdgeQuery): Decision {
    if (this.cache.complete && query.token === undefined) return this.checkComplete(query);
    const now = this.nowMs();
    let result: Decision | undefined;
    let unknown = false;
    if (query.token !== undefined) {
      if (!this.hasher) throw new Error('EdgeClient needs a tokenHasher to judge raw tokens');
      for (const h of this.hasher.hashAll(query.token)) {
        const r = this.lookupSync('token', h.hash, now);
        if (r === undefined) unknown = true;
        else if (r !== null) result = pick(result, decisionFromEntry('token', r, 'cache'));
      }
    }
    if (query.tokenHash !== undefined) {
      const r = this.lookupSync('token', query.tokenHash, now);
      if (r === undefined) unknown = true;
      else if (r !== null) result = pick(result, decisionFromEntry('token', r, 'cache'));
    }
    if (query.sessionId !== undefined) {
      const r = this.lookupSync('session', query.sessionId, now);
      if (r === undefined) unknown = true;
      else if (r !== null) result = pick(result, decisionFromEntry('session', r, 'cache'));
    }
    if (query.accountId !== undefined) {
      const r = this.lookupSync('account', query.accountId, now);
      if (r === undefined) unknown = true;
      else if (r !== null) result = pick(result, decisionFromEntry('account', r, 'cache'));
    }
    if (result !== undefined && result.decision === 'block') return result;
    if (unknown && this.redis.status !== 'ready') {
      // As decide(): a known throttle / substitute still applies, but never instead of fail-closed.
      const fail = failModeDecision(this.failMode);
      const d = result === undefined ? fail : moreSevere(result, fail);
      if (d === fail) this.counters.failModeAnswers++;
      return d;
    }
    return result ?? ALLOW_FROM_CACHE;
  }

  /**
   * Hot path while the mirror is complete: an absent subject is allowed without reading the clock;
   * the clock is read only to check the expiry of an entry found.
   */
  private checkComplete(query: EdgeQuery): Decision {
    const cache = this.cache;
    let result: Decision | undefined;
    let subjects = 0;
    let e: DenyEntry | undefined;
    let now = 0;
    if (query.tokenHash !== undefined) {
      subjects++;
      e = cache.positiveOf('token', query.tokenHash);
      if (e !== undefined) {
        if (now === 0) now = this.nowMs();
        if (e.expiresAtMs > now) result = decisionFromEntry('token', e, 'cache');
      }
    }
    if (query.sessionId !== undefined) {
      subjects++;
      e = cache.positiveOf('session', query.sessionId);
      if (e !== undefined) {
        if (now === 0) now = this.nowMs();
        if (e.expiresAtMs > now) result = pick(result, decisionFromEntry('session', e, 'cache'));
      }
    }
    if (query.accountId !== undefined) {
      subjects++;
      e = cache.positiveOf('account', query.accountId);
      if (e !== undefined) {
        if (now === 0) now = this.nowMs();
        if (e.expiresAtMs > now) result = pick(result, decisionFromEntry('account', e, 'cache'));
      }
    }
    this.counters.hits += subjects;
    return result ?? ALLOW_FROM_CACHE;
  }

  /** Like check(), but a subject the mirror cannot answer is read from Redis before answering. */
  async decide(query: EdgeQuery): Promise<Decision> {
    const now = this.nowMs();
    const subjects: Array<[RevokedSubjectKind, string]> = [];
    if (query.token !== undefined) {
      if (!this.hasher) throw new Error('EdgeClient needs a tokenHasher to judge raw tokens');
      for (const h of this.hasher.hashAll(query.token)) subjects.push(['token', h.hash]);
    }
    if (query.tokenHash !== undefined) subjects.push(['token', query.tokenHash]);
    if (query.sessionId !== undefined) subjects.push(['session', query.sessionId]);
    if (query.accountId !== undefined) subjects.push(['account', query.accountId]);
    let result: Decision = ALLOW_FROM_CACHE;
    const unknown: Array<[RevokedSubjectKind, string]> = [];
    for (const [kind, subject] of subjects) {
      const r = this.cache.lookup(kind, subject, now);
      if (r === undefined) {
        this.counters.misses++;
        unknown.push([kind, subject]);
      } else {
        this.counters.hits++;
        if (r !== null) result = moreSevere(result, decisionFromEntry(kind, r, 'cache'));
      }
    }
    if (unknown.length === 0) return result;
    try {
      const found = await this.readThrough(unknown);
      for (const [kind, entry] of found) result = moreSevere(result, decisionFromEntry(kind, entry, 'redis'));
      return result.decision === 'allow' ? ALLOW_FROM_REDIS : result;
    } catch {
      this.counters.failModeAnswers++;
      // A known block / throttle / substitute still applies; otherwise the fail mode answers.
      const fail = failModeDecision(this.failMode);
      return result.decision === 'allow' ? fail : moreSevere(result, fail);
    }
  }

  stats(): EdgeClientStats {
    return {
      ...this.counters,
      entries: this.cache.size,
      stalenessMs: this.cache.complete ? 0 : Math.max(0, this.nowMs() - this.unsyncedSinceMs),
      complete: this.cache.complete,
    };
  }

  private lookupSync(kind: RevokedSubjectKind, subject: string, now: number): Lookup {
    const r = this.cache.lookup(kind, subject, now);
    if (r === undefined) {
      this.counters.misses++;
      if (this.redis.status === 'ready') this.fillInBackground(kind, subject);
    } else {
      this.counters.hits++;
    }
    return r;
  }

  private fillInBackground(kind: RevokedSubjectKind, subject: string): void {
    const id = `${kind}\u0000${subject}`;
    if (this.inflight.has(id)) return;
    this.inflight.add(id);
    this.readThrough([[kind, subject]])
      .catch(() => {})
      .finally(() => this.inflight.delete(id));
  }

  /** Reads subjects from Redis in one round trip; caches what it learns. */
  private async readThrough(
    subjects: Array<[RevokedSubjectKind, string]>,
  ): Promise<Array<[RevokedSubjectKind, DenyEntry]>> {
    const seq = this.cache.changeSeq;
    this.counters.redisReads++;
    const pipeline = this.redis.pipeline();
    for (const [kind, subject] of subjects) pipeline.hgetall(denyKey(kind, subject));
    const replies = await withTimeout(pipeline.exec(), this.readTimeoutMs);
    const now = this.nowMs();
    const found: Array<[RevokedSubjectKind, DenyEntry]> = [];
    subjects.forEach(([kind, subject], i) => {
      const [err, fields] = replies?.[i] ?? [new Error('no reply'), null];
      if (err) throw err;
      const entry = entryFromFields(fields as Record<string, string>);
      if (entry && entry.expiresAtMs > now) {
        found.push([kind, entry]);
        if (seq === this.cache.changeSeq) this.cache.putPositive(kind, subject, entry);
      } else {
        this.cache.putNegative(kind, subject, now, seq);
      }
    });
    return found;
  }

  private onMessage(message: string): void {
    let change: DenyChange;
    try {
      change = JSON.parse(message) as DenyChange;
    } catch {
      this.logger?.warn({ message: message.slice(0, 200) }, 'denylist change message is not JSON; ignored');
      return;
    }
    if (!KINDS.includes(change.kind) || typeof change.subject !== 'string') return;
    const id = `${change.kind}\u0000${change.subject}`;
    if (change.op === 'set' && change.entry === undefined) {
      this.reread(change.kind, change.subject, id, ++this.rereadSeq);
      return;
    }
    this.rereads.delete(id); // a read in flight for the subject is older than this change: dropped
    if (change.entry) change = { ...change, entry: normaliseEntry(change.entry) };
    this.apply(change);
  }

  /** Applies one change to the mirror (and to a resync in progress); notices an overflow. */
  private apply(change: DenyChange): void {
    const wasComplete = this.cache.complete;
    this.cache.applyChange(change);
    this.counters.changesApplied++;
    this.buffered?.push(change);
    if (wasComplete && !this.cache.complete) {
      this.unsyncedSinceMs = this.nowMs();
      this.logger?.warn(
        { maxEntries: this.cache.options.maxEntries },
        'denylist mirror overflowed: misses read Redis until a resync fits',
      );
      this.scheduleOverflowResync();
    }
  }

  /**
   * A writer may announce a set without its entry: read the key, and apply what it holds as the
   * change (set, or del when gone), unless another change for the subject came meanwhile (then
   * that one, or its own read, is newer). Until the read is back (one round trip) the subject
   * keeps the answer it had.
   */
  private reread(kind: RevokedSubjectKind, subject: string, id: string, generation: number): void {
    this.rereads.set(id, generation);
    this.cache.forgetNegative(kind, subject);
    this.counters.redisReads++;
    withTimeout(this.redis.hgetall(denyKey(kind, subject)), this.readTimeoutMs).then(
      (fields) => {
        if (this.rereads.get(id) !== generation) return;
        this.rereads.delete(id);
        const entry = entryFromFields(fields);
        this.apply(
          entry && entry.expiresAtMs > this.nowMs()
            ? { op: 'set', kind, subject, entry }
            : { op: 'del', kind, subject },
        );
      },
      (err: Error) => {
        if (this.rereads.get(id) === generation) this.rereads.delete(id);
        // The change is known only to Redis now: the mirror cannot vouch for it until a resync.
        this.logger?.warn({ err: err.message, kind }, 'denylist entry read failed; resyncing');
        this.markIncomplete();
        if (this.sub.status === 'ready') this.scheduleResync(this.resyncRetryMs);
      },
    );
  }

  private markIncomplete(): void {
    if (this.cache.complete) this.unsyncedSinceMs = this.nowMs();
    this.cache.markUnsynced();
  }

  private onSubscriptionLost(): void {
    this.markIncomplete();
    this.resyncGeneration++; // abandons a resync in progress
    this.buffered = null;
  }

  /** After an overflow: resync later (the denylist may shrink back), backing off while it does not fit. */
  private scheduleOverflowResync(): void {
    if (this.resyncTimer === undefined) this.scheduleResync(this.overflowResyncMs);
    this.overflowResyncMs = Math.min(this.overflowResyncMs * 2, this.overflowResyncBaseMs * 10);
  }

  private scheduleResync(delayMs: number): void {
    if (this.closed) return;
    clearTimeout(this.resyncTimer);
    this.resyncTimer = setTimeout(() => {
      this.resyncTimer = undefined;
      this.resync().catch((err: Error) => {
        this.logger?.warn({ err: err.message }, 'denylist resync failed; retrying');
        if (this.sub.status === 'ready') this.scheduleResync(this.resyncRetryMs);
      });
    }, delayMs);
  }

  /** Full resync: subscribe first, then SCAN + HGETALL every key, then replay changes seen meanwhile. */
  private async resync(): Promise<void> {
    const generation = ++this.resyncGeneration;
    this.buffered = [];
    await this.sub.subscribe(DENY_CHANGES_CHANNEL);
    const entries = new Map<string, { kind: RevokedSubjectKind; subject: string; entry: DenyEntry }>();
    let cursor = '0';
    const now = this.nowMs();
    do {
      const [next, keys] = await this.redis.scan(
        cursor,
        'MATCH',
        `${DENY_KEY_PREFIX}*`,
        'COUNT',
        this.resyncBatch,
      );
      cursor = next;
      const parsed = keys.map((k) => ({ key: k, id: parseDenyKey(k) })).filter((k) => k.id !== undefined);
      if (parsed.length === 0) continue;
      const pipeline = this.redis.pipeline();
      for (const p of parsed) pipeline.hgetall(p.key);
      const replies = (await pipeline.exec()) ?? [];
      parsed.forEach((p, i) => {
        const fields = replies[i]?.[1] as Record<string, string> | undefined;
        const entry = fields ? entryFromFields(fields) : undefined;
        if (entry && entry.expiresAtMs > now && p.id) {
          entries.set(`${p.id.kind}\u0000${p.id.subject}`, { kind: p.id.kind, subject: p.id.subject, entry });
        }
      });
      if (generation !== this.resyncGeneration) return;
    } while (cursor !== '0');
    if (generation !== this.resyncGeneration || this.buffered === null) return;
    for (const c of this.buffered) {
      const id = `${c.kind}\u0000${c.subject}`;
      if (c.op === 'del' || !c.entry) entries.delete(id);
      else entries.set(id, { kind: c.kind, subject: c.subject, entry: c.entry });
    }
    this.buffered = null;
    const wasComplete = this.cache.complete;
    this.cache.replaceAll(entries.values());
    this.counters.resyncs++;
    if (this.cache.complete) {
      this.overflowResyncMs = this.overflowResyncBaseMs;
      this.logger?.info({ entries: this.cache.size }, 'denylist mirror synced');
    } else {
      if (wasComplete) this.unsyncedSinceMs = this.nowMs(); // still incomplete: the clock keeps running
      this.logger?.warn(
        { entries: entries.size, maxEntries: this.cache.options.maxEntries },
        'denylist larger than the mirror: misses read Redis',
      );
      this.scheduleOverflowResync();
    }
    this.firstSync.resolve();
  }
}

const ALLOW_FROM_CACHE: Decision = Object.freeze(allowDecision('cache')) as Decision;
const ALLOW_FROM_REDIS: Decision = Object.freeze(allowDecision('redis')) as Decision;

function pick(a: Decision | undefined, b: Decision): Decision {
  return a === undefined ? b : moreSevere(a, b);
}

/** Change messages carry JSON numbers or strings depending on the writer; keep numbers numbers. */
function normaliseEntry(e: DenyEntry): DenyEntry {
  return {
    ...e,
    expiresAtMs: Number(e.expiresAtMs),
    issuedAtMs: Number(e.issuedAtMs ?? 0),
    slate: e.slate ? e.slate : null,
    throttleKbps: e.throttleKbps === null || e.throttleKbps === undefined ? null : Number(e.throttleKbps),
  };
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`redis read timed out after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
