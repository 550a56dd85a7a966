/**
 * Session admission: start / heartbeat / stop over scripts/session.lua (all state changes atomic,
 * one account per script), the plan view, the denylist mirror and the heartbeat sink.
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type { Clock } from '../../core/clock.ts';
import { isLeechguardError, LeechguardError } from '../../core/errors.ts';
import { LIMITS } from '../../core/limits.ts';
import type { HeartbeatEvent } from '../../core/schemas/generated.ts';
import type { TokenHasher } from '../../core/token-hash.ts';
import type { EdgeClient, EdgeQuery } from '../edge-client/client.ts';
import { allowDecision, type Decision } from '../edge-client/decision.ts';
import type { PlanLimits, SessionsConfig } from './config.ts';
import type { HeartbeatSinkLike } from './heartbeat-sink.ts';
import { makeSessionId, vouchesForStart } from './ids.ts';
import { sessionKeys } from './keys.ts';
import { limitsFor, type PlanView, type SessionLimits } from './plans.ts';
import { ScriptBatch } from './script-batch.ts';

const SCRIPT = readFileSync(new URL('./scripts/session.lua', import.meta.url), 'utf8');

/** A session as the Lua script stores it. */
interface StoredSession {
  s: number;
  l: number;
  d: string;
  c: string;
  g: string[] | Record<string, never>;
  t: string;
}

export interface ActiveSession {
  sessionId: string;
  deviceId: string;
  contentId: string;
  startedAtMs: number;
  lastSeenMs: number;
}

export interface StartInput {
  accountId: string;
  deviceId: string;
  contentId: string;
  tenant?: string | undefined;
  /** Raw playback token: hashed here, never stored. */
  token?: string | undefined;
  tokenHash?: string | undefined;
  /** Terminate-and-start: end this session of the account and admit the new one atomically. */
  terminateSessionId?: string | undefined;
}

export interface StartResult {
  sessionId: string;
  nextHeartbeatAtMs: number;
  heartbeatIntervalMs: number;
  terminated: boolean;
  /** Set when a throttle / substitute applies to the account or token (the player shows the slate). */
  decision?: Decision;
}

export interface HeartbeatInput {
  accountId: string;
  /** Needed to re-register a session whose state was lost. */
  deviceId?: string | undefined;
  contentId?: string | undefined;
  tenant?: string | undefined;
  token?: string | undefined;
  tokenHash?: string | undefined;
  /** The session's original start, so a re-registered session keeps its seniority. */
  startedAtMs?: number | undefined;
}

export type HeartbeatResult =
  | {
      action: 'continue';
      nextHeartbeatAtMs: number;
      reregistered: boolean;
      /** Set when a throttle / substitute applies to the session. */
      decision?: Decision;
    }
  | { action: 'stop'; reason: string; decision?: Decision };

export interface SessionServiceDeps {
  redis: Redis;
  plans: PlanView;
  edge: EdgeClient;
  sink: HeartbeatSinkLike;
  clock: Clock;
  hasher: TokenHasher;
  config: SessionsConfig;
}

/** The JSON reply of scripts/session.lua (all ops; shapes documented in the script). */
interface ScriptReply {
  ok?: boolean;
  scope?: string;
  limit?: number;
  sessions?: Array<{ id: string; s: number; l: number; d: string; c: string }> | Record<string, never>;
  terminated?: boolean;
  status?: 'continue' | 'stop';
  reason?: string;
  rec?: StoredSession;
  reregistered?: boolean;
  stopped?: boolean;
  /** Sessions this call ended (ghosts, terminated, evicted, stopped). */
  closed?: Array<{ id: string; r: string; d: string; c: string; t: string }> | Record<string, never>;
}

type ScriptFn = (k1: string, k2: string, ...argv: Array<string | number>) => Promise<string>;

export class SessionService {
  private readonly deps: SessionServiceDeps;
  private readonly run: ScriptFn;
  private readonly keyTtlMs: number;
  /** Limits and their script JSON by plan, for plans without groups (content does not change them). */
  private readonly limitsByPlan = new WeakMap<PlanLimits, { limits: SessionLimits; json: string }>();

  constructor(deps: SessionServiceDeps) {
    this.deps = deps;
    const name = 'lgSessionV1';
    if (!(name in deps.redis)) deps.redis.defineCommand(name, { numberOfKeys: 2, lua: SCRIPT });
    const batch = new ScriptBatch(deps.redis, name);
    this.run = batch.call.bind(batch);
    // Keys outlive both the ghost grace and the ended-reason retention (real time, not the clock).
    this.keyTtlMs = deps.config.ghostGraceMs + deps.config.endedRetentionMs;
  }

  async start(input: StartInput): Promise<StartResult> {
    const { config, clock, plans, hasher } = this.deps;
    const denied = await this.judge({
      token: input.token,
      tokenHash: input.tokenHash,
      accountId: input.accountId,
    });
    if (denied.decision === 'block') {
      throw new LeechguardError('ENF_ERR_SESSION_REVOKED', denied.reason ?? undefined, {
        details: { rule: denied.rule, revocationId: denied.revocationId, expiresAtMs: denied.expiresAtMs },
      });
    }
    const { plan, tenant } = plans.get(input.accountId, input.tenant);
    const { limits, json: limitsArg } = this.limitsOf(plan, input.contentId);
    const token = input.token !== undefined ? hasher.hash(input.token) : undefined;
    const tokenHash = token?.hash ?? input.tokenHash ?? '';
    const nowMs = clock.nowMs();
    const sessionId = makeSessionId(hasher, input.accountId, nowMs);
    const rec = { d: input.deviceId, c: input.contentId, g: limits.groups, t: tokenHash };
    const out = await this.call(
      'start',
      nowMs,
      input.accountId,
      tenant,
      sessionId,
      JSON.stringify(rec),
      limitsArg,
      [input.terminateSessionId ?? ''],
    );
    if (!out.ok) {
      throw new LeechguardError('ENF_ERR_SESSION_LIMIT_REACHED', `${out.scope} limit ${out.limit}`, {
        details: {
          scope: out.scope,
          limit: out.limit,
          sessions: asArray(out.sessions).map(toActive),
        },
      });
    }
    this.emit('start', nowMs, tenant, input.accountId, sessionId, { ...rec, keyId: token?.keyId ?? null });
    return {
      sessionId,
      nextHeartbeatAtMs: nowMs + config.heartbeatIntervalMs,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      terminated: out.terminated === true,
      ...(denied.decision === 'allow' ? {} : { decision: denied }),
    };
  }

  async heartbeat(sessionId: string, input: HeartbeatInput): Promise<HeartbeatResult> {
    const { config, clock, plans, hasher } = this.deps;
    const { plan, tenant } = plans.get(input.accountId, input.tenant);
    const { limits, json: limitsArg } = this.limitsOf(plan, input.contentId ?? '');
    const nowMs = clock.nowMs();
    // With device and content this heartbeat may re-register the session (and evict a later one):
    // a revoked token, session or account is stopped before it can, and a claimed start counts
    // only when the session id vouches for it (ids.ts; else the script counts it from now).
    const mayReregister = Boolean(input.deviceId && input.contentId);
    let pre: Decision | undefined;
    if (mayReregister) {
      pre = await this.judgeSession(sessionId, input, '');
      if (pre.decision === 'block') return this.stopRevoked(sessionId, input.accountId, tenant, nowMs, pre);
    }
    const vouched =
      mayReregister &&
      input.startedAtMs !== undefined &&
      vouchesForStart(hasher, sessionId, input.accountId, input.startedAtMs);
    const claimed = {
      s: vouched ? input.startedAtMs : undefined, // omitted: the script counts it from now
      d: input.deviceId ?? '',
      c: input.contentId ?? '',
      g: limits.groups,
      t: input.token !== undefined ? hasher.hash(input.token).hash : (input.tokenHash ?? ''),
    };
    const out = await this.call(
      'heartbeat',
      nowMs,
      input.accountId,
      tenant,
      sessionId,
      JSON.stringify(claimed),
      limitsArg,
    );
    if (out.status === 'stop') return { action: 'stop', reason: out.reason ?? 'unknown' };
    const rec = out.rec as StoredSession;
    // The judgement made before the script holds unless the stored token is one it did not see.
    const unseenToken = input.token === undefined && rec.t !== '' && rec.t !== input.tokenHash;
    const d = pre !== undefined && !unseenToken ? pre : await this.judgeSession(sessionId, input, rec.t);
    if (d.decision === 'block') return this.stopRevoked(sessionId, input.accountId, tenant, nowMs, d);
    this.emit(out.reregistered ? 'start' : 'heartbeat', nowMs, tenant, input.accountId, sessionId, rec);
    return {
      action: 'continue',
      nextHeartbeatAtMs: nowMs + config.heartbeatIntervalMs,
      reregistered: out.reregistered === true,
      ...(d.decision === 'allow' ? {} : { decision: d }),
    };
  }

  /**
   * Ends a session the denylist blocks (if it is active) and tells the player why; later heartbeats
   * get the same reason from the ended record. An eviction of this very session (enforcer
   * evict_session) reads as such.
   */
  private async stopRevoked(
    sessionId: string,
    accountId: string,
    tenant: string,
    nowMs: number,
    d: Decision,
  ): Promise<HeartbeatResult> {
    const reason = d.subjectKind === 'session' ? 'evicted' : 'revoked';
    await this.call('stop', nowMs, accountId, tenant, sessionId, reason, '{}');
    return { action: 'stop', reason, decision: d };
  }

  /** Ends a session; throws ENF_ERR_SESSION_NOT_FOUND when it is not active. */
  async stop(sessionId: string, accountId: string, tenant?: string): Promise<void> {
    const nowMs = this.deps.clock.nowMs();
    const out = await this.call(
      'stop',
      nowMs,
      accountId,
      this.deps.plans.get(accountId, tenant).tenant,
      sessionId,
      'stopped',
      '{}',
    );
    if (!out.stopped) throw new LeechguardError('ENF_ERR_SESSION_NOT_FOUND', sessionId);
  }

  /** The account's active sessions, earliest first (a read: ghosts are skipped, not pruned). */
  async list(accountId: string): Promise<ActiveSession[]> {
    const all = await this.deps.redis.hgetall(sessionKeys(accountId)[0]);
    const nowMs = this.deps.clock.nowMs();
    return Object.entries(all)
      .map(([id, json]) => ({ id, ...(JSON.parse(json) as StoredSession) }))
      .filter((s) => s.l + this.deps.config.ghostGraceMs >= nowMs)
      .map(toActive)
      .sort((a, b) => a.startedAtMs - b.startedAtMs);
  }

  private limitsOf(plan: PlanLimits, contentId: string): { limits: SessionLimits; json: string } {
    if (plan.concurrencyGroups.length > 0) {
      const limits = limitsFor(plan, contentId);
      return { limits, json: limitsJson(limits) };
    }
    let cached = this.limitsByPlan.get(plan);
    if (!cached) {
      const limits = limitsFor(plan, contentId);
      cached = { limits, json: limitsJson(limits) };
      this.limitsByPlan.set(plan, cached);
    }
    return cached;
  }

  /** The denylist's answer for a heartbeat: its token (else the stored one), the session, the account. */
  private judgeSession(
    sessionId: string,
    input: HeartbeatInput,
    storedTokenHash: string,
  ): Promise<Decision> | Decision {
    return this.judge({
      token: input.token,
      tokenHash: input.token === undefined ? input.tokenHash || storedTokenHash || undefined : undefined,
      sessionId,
      accountId: input.accountId,
    });
  }

  private judge(q: EdgeQuery): Promise<Decision> | Decision {
    if (
      q.token === undefined &&
      q.tokenHash === undefined &&
      q.sessionId === undefined &&
      q.accountId === undefined
    ) {
      return allowDecision('cache');
    }
    const { edge } = this.deps;
    return edge.cache.complete ? edge.check(q) : edge.decide(q);
  }

  private async call(
    op: string,
    nowMs: number,
    accountId: string,
    tenant: string,
    sessionId: string,
    rec: string,
    limits: string,
    extra: string[] = [],
  ): Promise<ScriptReply> {
    const { config } = this.deps;
    const [active, ended] = sessionKeys(accountId);
    try {
      const reply = await this.run(
        active,
        ended,
        op,
        nowMs,
        config.ghostGraceMs,
        this.keyTtlMs,
        config.endedRetentionMs,
        LIMITS.sessionEndedPerAccountMax,
        sessionId,
        rec,
        limits,
        ...extra,
      );
      const out = JSON.parse(reply) as ScriptReply;
      for (const c of asArray(out.closed)) {
        this.emit('stop', nowMs, tenant, accountId, c.id, c);
      }
      return out;
    } catch (cause) {
      if (isLeechguardError(cause)) throw cause;
      throw new LeechguardError('LG_ERR_REDIS_UNAVAILABLE', (cause as Error).message, { cause });
    }
  }

  private emit(
    event: HeartbeatEvent,
    nowMs: number,
    tenant: string,
    accountId: string,
    sessionId: string,
    rec: { d: string; c: string; t: string; keyId?: string | null } | undefined,
  ): void {
    this.deps.sink.push({
      event,
      timestampMs: nowMs,
      tenant,
      accountId,
      sessionId,
      deviceId: rec?.d ?? '',
      contentId: rec?.c ?? '',
      tokenHash: rec?.t ? rec.t : null,
      tokenKeyId: rec?.t ? (rec.keyId ?? this.deps.hasher.currentKeyId) : null,
    });
  }
}

function limitsJson(l: { n: number; p: number; g: Record<string, number> }): string {
  return JSON.stringify({ n: l.n, p: l.p, g: l.g });
}

/** cjson encodes an empty array as {}. */
function asArray<T>(v: T[] | Record<string, never> | undefined): T[] {
  return Array.isArray(v) ? v : [];
}

function toActive(s: { id: string; s: number; l: number; d: string; c: string }): ActiveSession {
  return { sessionId: s.id, deviceId: s.d, contentId: s.c, startedAtMs: s.s, lastSeenMs: s.l };
}
