/**
 * The fastify helper every service uses: `/healthz` (process alive), `/readyz` (each real
 * dependency answers), `/metrics` (Prometheus), bearer-key auth with roles, one error shape
 * `{ code, message, retriable, details? }` from the error table, and graceful shutdown.
 */
import { hash } from 'node:crypto';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'pino';
import type { ApiKey, Role } from './config.ts';
import { isLeechguardError, LeechguardError } from './errors.ts';
import { LIMITS } from './limits.ts';
import type { Logger } from './log.ts';
import { Histogram, type Registry } from './metrics.ts';

export type ReadinessCheck = () => Promise<void>;

export interface HttpServiceOptions {
  name: string;
  logger: Logger;
  metrics: Registry;
  apiKeys: readonly ApiKey[];
  /** Named checks of real dependencies; /readyz answers 503 naming each one that fails. */
  readiness: Record<string, ReadinessCheck>;
  bodyLimitBytes?: number;
}

export interface Principal {
  name: string;
  roles: readonly Role[];
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** Principals by the SHA-256 digest of their secret: the lookup key for `authenticate`. */
export type KeyIndex = ReadonlyMap<string, Principal>;

// The map is keyed by a digest, never by the secret: a string compare against a secret leaks, by
// its timing, how much of it a guess got right; against a digest it reveals nothing usable. No
// cache keyed by the presented header for the same reason (the digest costs ~0.4 µs).
function digest(secret: string): string {
  return hash('sha256', secret, 'base64');
}

/** Indexes the configured keys once, at boot. */
export function indexKeys(apiKeys: readonly ApiKey[]): KeyIndex {
  const index = new Map<string, Principal>();
  for (const k of apiKeys) index.set(digest(k.key), Object.freeze({ name: k.name, roles: k.roles }));
  return index;
}

/** Finds the key's principal; throws LG_ERR_AUTH_* (401 / 403). */
export function authenticate(
  keys: KeyIndex,
  authorization: string | undefined,
  allowed: readonly Role[],
): Principal {
  if (!authorization?.startsWith('Bearer ')) throw new LeechguardError('LG_ERR_AUTH_MISSING');
  const principal = keys.get(digest(authorization.slice('Bearer '.length).trim()));
  if (!principal) throw new LeechguardError('LG_ERR_AUTH_INVALID');
  if (!principal.roles.some((r) => allowed.includes(r))) {
    throw new LeechguardError('LG_ERR_AUTH_FORBIDDEN', `needs one of ${allowed.join(', ')}`);
  }
  return principal;
}

/**
 * A request's logger, made on its first use: a pino child per request (bindings serialized and
 * redacted) costs ~1.5 µs, and with request logging off most requests never log. Lines it writes
 * are those of the child it stands for (reqId included).
 */
class LazyRequestLogger {
  private real: FastifyBaseLogger | undefined;
  private readonly parent: FastifyBaseLogger;
  private readonly bindings: Bindings;
  private readonly options: ChildLoggerOptions;

  constructor(parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions) {
    this.parent = parent;
    this.bindings = bindings;
    this.options = options;
  }

  private get logger(): Record<LogLevel, (...args: unknown[]) => void> & FastifyBaseLogger {
    this.real ??= this.parent.child(this.bindings, this.options);
    return this.real as Record<LogLevel, (...args: unknown[]) => void> & FastifyBaseLogger;
  }

  get level(): string {
    return this.real?.level ?? this.parent.level;
  }

  set level(level: string) {
    this.logger.level = level;
  }

  // Prototype methods, not per-instance closures: nothing is allocated for a request that never logs.
  fatal(...args: unknown[]): void {
    this.logger.fatal(...args);
  }
  error(...args: unknown[]): void {
    this.logger.error(...args);
  }
  warn(...args: unknown[]): void {
    this.logger.warn(...args);
  }
  info(...args: unknown[]): void {
    this.logger.info(...args);
  }
  debug(...args: unknown[]): void {
    this.logger.debug(...args);
  }
  trace(...args: unknown[]): void {
    this.logger.trace(...args);
  }
  silent(...args: unknown[]): void {
    this.logger.silent(...args);
  }
  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.logger.child(bindings, options);
  }
}

type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export function sendError(reply: FastifyReply, err: LeechguardError): FastifyReply {
  if (err.retriable && err.httpStatus === 503) reply.header('retry-after', '1');
  return reply.code(err.httpStatus).send(err.toJSON());
}

/** A callback-style hook (onRequest / preHandler): no promise per request on the hot path. */
export type RoleCheck = (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => void;

export interface HttpService {
  app: FastifyInstance;
  /** onRequest / preHandler hook that admits only keys holding one of the roles. */
  requireRole(...roles: Role[]): RoleCheck;
  listen(host: string, port: number): Promise<string>;
  /** Registers a closer run on shutdown, in reverse order of registration, after the server stops. */
  onShutdown(fn: () => Promise<void> | void): void;
  shutdown(): Promise<void>;
}

export function createHttpService(options: HttpServiceOptions): HttpService {
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    // Per-request lines would dominate the log at edge rates; durations go to /metrics instead.
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: (logger, bindings, options) =>
      new LazyRequestLogger(logger, bindings, options) as unknown as FastifyBaseLogger,
    bodyLimit: options.bodyLimitBytes ?? LIMITS.httpBodyBytesMax,
    requestTimeout: LIMITS.httpRequestTimeoutMs,
    return503OnClosing: true,
    // A URL the router refuses (a path segment over its length cap, bad percent-encoding) gets a
    // coded 400 like any other bad request; the path is not echoed (it may carry a token).
    frameworkErrors: (err, _req, reply) =>
      sendError(
        reply,
        new LeechguardError('LG_ERR_REQUEST_INVALID', `the URL path is not accepted (${String(err.code)})`),
      ),
  });
  const closers: Array<() => Promise<void> | void> = [];
  let shuttingDown = false;

  const duration = new Histogram({
    name: `leechguard_${options.name}_http_request_duration_seconds`,
    help: 'HTTP request duration by route and status',
    labelNames: ['route', 'method', 'status'],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [options.metrics],
  });
  // A callback hook, not an async one: no promise per request. (Caching prom-client children per
  // label tuple was measured and dropped: a child re-validates and re-hashes its labels per call.)
  app.addHook('onResponse', (req, reply, done) => {
    duration.observe(
      { route: req.routeOptions.url ?? 'unknown', method: req.method, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    done();
  });

  app.setErrorHandler((err, req, reply) => {
    if (isLeechguardError(err)) return sendError(reply, err);
    const e = err as { code?: string; statusCode?: number; validation?: unknown; message: string };
    if (e.validation) return sendError(reply, new LeechguardError('LG_ERR_REQUEST_INVALID', e.message));
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return sendError(reply, new LeechguardError('LG_ERR_BODY_TOO_LARGE'));
    if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || e.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') {
      return sendError(reply, new LeechguardError('LG_ERR_UNSUPPORTED_MEDIA_TYPE', e.message));
    }
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
      return sendError(reply, new LeechguardError('LG_ERR_REQUEST_INVALID', e.message));
    }
    req.log.error({ err }, 'unhandled error');
    return sendError(reply, new LeechguardError('LG_ERR_INTERNAL'));
  });
  app.setNotFoundHandler((req, reply) =>
    sendError(reply, new LeechguardError('LG_ERR_NOT_FOUND', `${req.method} ${req.url}`)),
  );

  app.get('/healthz', async () => ({ status: 'ok', service: options.name }));
  app.get('/readyz', async (_req, reply) => {
    if (shuttingDown) return sendError(reply, new LeechguardError('LG_ERR_SHUTTING_DOWN'));
    const results: Record<string, string> = {};
    let ready = true;
    await Promise.all(
      Object.entries(options.readiness).map(async ([name, check]) => {
        try {
          await check();
          results[name] = 'ok';
        } catch (err) {
          ready = false;
          results[name] = (err as Error).message;
        }
      }),
    );
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks: results });
  });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', options.metrics.contentType);
    return options.metrics.metrics();
  });

  const keys = indexKeys(options.apiKeys);
  const service: HttpService = {
    app,
    requireRole:
      (...roles) =>
      (req, _reply, done) => {
        try {
          req.principal = authenticate(keys, req.headers.authorization, roles);
        } catch (err) {
          return done(err as Error);
        }
        done();
      },
    async listen(host, port) {
      return app.listen({ host, port });
    },
    onShutdown(fn) {
      closers.push(fn);
    },
    async shutdown() {
      if (shuttingDown) return;
      shuttingDown = true;
      const timer = setTimeout(() => {
        options.logger.error('graceful shutdown timed out; exiting');
        process.exit(1);
      }, LIMITS.shutdownGraceMs);
      timer.unref();
      try {
        await app.close();
        for (const fn of closers.reverse()) await fn();
      } finally {
        clearTimeout(timer);
      }
    },
  };
  return service;
}

/** On SIGTERM / SIGINT: stop accepting, finish in-flight work, close clients, exit 0. */
export function exitOnSignals(shutdown: () => Promise<void>, logger: Logger): void {
  let called = false;
  const handler = (signal: string) => {
    if (called) return;
    called = true;
    logger.info({ signal }, 'shutting down');
    shutdown().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => handler('SIGTERM'));
  process.once('SIGINT', () => handler('SIGINT'));
}
