/**
 * Console sign-in: the analyst's bearer key is exchanged once for a short-lived session cookie
 * (HttpOnly: page scripts never hold the key; SameSite=Strict: other sites' requests do not carry
 * it). Every write signed in by cookie must also send the session's CSRF token in `x-csrf-token`.
 * Sessions live in this process's memory, bounded in count and age: a restart signs everyone out.
 */
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../../core/clock.ts';
import { LeechguardError } from '../../core/errors.ts';
import { authenticate, type KeyIndex, type Principal } from '../../core/http.ts';
import { LIMITS } from '../../core/limits.ts';

export const SESSION_COOKIE = 'lg_console';
export const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

interface ConsoleSession {
  principal: Principal;
  csrfToken: string;
  expiresAtMs: number;
}

/** The value of one cookie in a Cookie header; undefined when absent. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

// Held by digest, never by the cookie's value (as the bearer keys are).
const digest = (id: string) => hash('sha256', id, 'base64');

export class ConsoleSessions {
  private readonly byDigest = new Map<string, ConsoleSession>();
  private readonly clock: Clock;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  create(principal: Principal): { id: string; csrfToken: string; expiresAtMs: number } {
    const id = randomBytes(32).toString('base64url');
    const session = {
      principal,
      csrfToken: randomBytes(32).toString('base64url'),
      expiresAtMs: this.clock.nowMs() + LIMITS.enforcerConsoleSessionTtlMs,
    };
    this.byDigest.set(digest(id), session);
    while (this.byDigest.size > LIMITS.enforcerConsoleSessionsMax) {
      const oldest = this.byDigest.keys().next().value;
      if (oldest === undefined) break;
      this.byDigest.delete(oldest);
    }
    return { id, ...session };
  }

  /** The request's live session, or undefined (no cookie, unknown, expired). */
  find(req: FastifyRequest): ConsoleSession | undefined {
    const id = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (!id) return undefined;
    const key = digest(id);
    const session = this.byDigest.get(key);
    if (!session) return undefined;
    if (session.expiresAtMs <= this.clock.nowMs()) {
      this.byDigest.delete(key);
      return undefined;
    }
    return session;
  }

  /**
   * The principal of the request's session; a write must carry the session's CSRF token
   * (ENF_ERR_CSRF_INVALID otherwise). For `createHttpService({ sessionPrincipal })`.
   */
  principalOf(req: FastifyRequest): Principal | undefined {
    const session = this.find(req);
    if (!session) return undefined;
    if (!SAFE_METHODS.has(req.method)) {
      const sent = req.headers[CSRF_HEADER];
      if (typeof sent !== 'string' || !sameSecret(sent, session.csrfToken)) {
        throw new LeechguardError('ENF_ERR_CSRF_INVALID');
      }
    }
    return session.principal;
  }

  end(req: FastifyRequest): void {
    const id = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (id) this.byDigest.delete(digest(id));
  }
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function setCookie(req: FastifyRequest, reply: FastifyReply, value: string, maxAgeS: number): void {
  const secure = req.protocol === 'https' ? '; Secure' : '';
  reply.header(
    'set-cookie',
    `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${secure}`,
  );
}

/** POST /ui/session (sign in with a key), GET (who am I + CSRF token), DELETE (sign out). */
export function registerConsoleSession(
  app: FastifyInstance,
  sessions: ConsoleSessions,
  keys: KeyIndex,
): void {
  const view = (s: { principal: Principal; csrfToken: string; expiresAtMs: number }) => ({
    name: s.principal.name,
    roles: s.principal.roles,
    csrfToken: s.csrfToken,
    expiresAtMs: s.expiresAtMs,
  });
  app.post<{ Body: { key: string } }>(
    '/ui/session',
    {
      schema: {
        hide: true,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['key'],
          properties: { key: { type: 'string', minLength: 1, maxLength: 512 } },
        },
      },
    },
    async (req, reply) => {
      const principal = authenticate(keys, `Bearer ${req.body.key}`, ['analyst', 'operator']);
      const created = sessions.create(principal);
      setCookie(req, reply, created.id, Math.floor(LIMITS.enforcerConsoleSessionTtlMs / 1000));
      req.log.info({ principal: principal.name }, 'console sign-in');
      return { signedIn: true, ...view({ principal, ...created }) };
    },
  );
  // 200 either way: the page asks this on load, and "not signed in" is an answer, not an error.
  app.get('/ui/session', { schema: { hide: true } }, async (req) => {
    const session = sessions.find(req);
    return session ? { signedIn: true, ...view(session) } : { signedIn: false };
  });
  app.delete('/ui/session', { schema: { hide: true } }, async (req, reply) => {
    if (sessions.principalOf(req)) sessions.end(req);
    setCookie(req, reply, '', 0);
    return { signedOut: true };
  });
}
