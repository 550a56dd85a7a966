/**
 * The fastify helper every service uses: `/healthz` (process alive), `/readyz` (each real
 * dependency answers), `/metrics` (Prometheus), bearer-key auth with roles, one error shape
 * `{ code, message, retriable, details? }` from the error table, and graceful shutdown.
 */
import { hash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'pino';
import type { ApiKey, HttpConfig, Role } from './config.ts';
import { isLeechguardError, LeechguardError } from './errors.ts';
import { LIMITS } from './limits.ts';
import type { Logger } from './log.ts';
import { Gauge, Histogram, type Registry } from './metrics.ts';

export type ReadinessCheck = () => Promise<void>;

export interface HttpServiceOptions {
  name: string;
  logger: Logger;
  metrics: Registry;
  apiKeys: readonly ApiKey[];
  /** Named checks of real dependencies; /readyz answers 503 naming each one that fails. */
  readiness: Record<string, ReadinessCheck>;
  /** What the service currently works with, shown under `details` in /readyz (never a failure). */
  readinessDetails?: () => Record<string, unknown>;
  bodyLimitBytes?: number;
  /**
   * A second way in beside bearer keys (the console's session cookie): the request's principal,
   * or undefined when it carries none. Asked only when there is no Authorization header.
   */
  sessionPrincipal?: (req: FastifyRequest) => Principal | undefined;
  /** The service's `http` config section: TLS, bytes-in-flight bounds, keyed ops endpoints. */
  http?: Partial<
    Pick<
      HttpConfig,
      'tls' | 'inFlightBytesMax' | 'inFlightBytesPerKeyMax' | 'opsEndpointsNeedKey' | 'trustedProxies'
    >
  >;
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
  return withRole(principal, allowed);
}

/** The principal when it holds one of the roles; throws LG_ERR_AUTH_FORBIDDEN otherwise. */
/** True when the request carries a valid monitor or operator key. */
function canSeeDetails(keys: KeyIndex, req: FastifyRequest): boolean {
  if (req.principal) return req.principal.roles.some((r) => r === 'monitor' || r === 'operator');
  try {
    authenticate(keys, req.headers.authorization, ['monitor', 'operator']);
    return true;
  } catch {
    return false;
  }
}

export function withRole(principal: Principal, allowed: readonly Role[]): Principal {
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

/**
 * Body bytes a request will send, known from its headers alone: the Content-Length, the body
 * limit when the body is chunked (its length is unknown until read), 0 without a body.
 */
function declaredBodyBytes(req: FastifyRequest, bodyLimit: number): number {
  const length = req.headers['content-length'];
  if (length !== undefined) {
    const n = Number(length);
    return Number.isSafeInteger(n) && n >= 0 ? n : bodyLimit + 1;
  }
  return req.headers['transfer-encoding'] !== undefined ? bodyLimit : 0;
}

/**
 * Request-body bytes being received, per process and per key, reserved from headers before a byte
 * of the body is read and released when the response closes (sent or aborted).
 */
class BodyBudget {
  private total = 0;
  private readonly perKey = new Map<string, number>();
  private readonly totalMax: number;
  private readonly perKeyMax: number;

  constructor(totalMax: number, perKeyMax: number) {
    this.totalMax = totalMax;
    this.perKeyMax = perKeyMax;
  }

  /** Bytes reserved now across the process (tests, metrics). */
  get inFlightBytes(): number {
    return this.total;
  }

  /** Reserves against the process; false when it would go over. */
  reserve(bytes: number, onRelease: (fn: () => void) => void): boolean {
    if (bytes === 0) return true;
    if (this.total + bytes > this.totalMax) return false;
    this.total += bytes;
    onRelease(() => {
      this.total -= bytes;
    });
    return true;
  }

  /** Reserves against one key; false when it would go over. */
  reserveKey(key: string, bytes: number, onRelease: (fn: () => void) => void): boolean {
    if (bytes === 0) return true;
    const held = this.perKey.get(key) ?? 0;
    if (held + bytes > this.perKeyMax) return false;
    this.perKey.set(key, held + bytes);
    onRelease(() => {
      const left = (this.perKey.get(key) ?? bytes) - bytes;
      if (left <= 0) this.perKey.delete(key);
      else this.perKey.set(key, left);
    });
    return true;
  }
}

/**
 * Runs `fn` once when the response is handed to the OS (`finish`, before the client can read it) or
 * the connection closes without it (`close`).
 */
function onResponseClosed(reply: FastifyReply): (fn: () => void) => void {
  return (fn) => {
    let done = false;
    const once = () => {
      if (done) return;
      done = true;
      fn();
    };
    reply.raw.once('finish', once);
    reply.raw.once('close', once);
  };
}

export function sendError(reply: FastifyReply, err: LeechguardError): FastifyReply {
  if (err.retriable && err.httpStatus === 503) reply.header('retry-after', '1');
  return reply.code(err.httpStatus).send(err.toJSON());
}

/** A callback-style hook (onRequest / preHandler): no promise per request on the hot path. */
export type RoleCheck = (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => void;

export interface HttpService {
  app: FastifyInstance;
  /**
   * onRequest hook that admits only keys holding one of the roles, then reserves the request's
   * body bytes against the key's allowance: a refused request (401 / 403 / 413 / 503) is answered
   * before its body is read, and its connection is closed rather than drained.
   */
  requireRole(...roles: Role[]): RoleCheck;
  /** onRequest hook for operational endpoints: open, or `monitor` / `operator` keys when configured. */
  readonly opsAccess: RoleCheck;
  listen(host: string, port: number): Promise<string>;
  /** Registers a closer run on shutdown, in reverse order of registration, after the server stops. */
  onShutdown(fn: () => Promise<void> | void): void;
  shutdown(): Promise<void>;
}

function httpsOptions(tls: NonNullable<HttpServiceOptions['http']>['tls']) {
  if (!tls) return undefined;
  const read = (file: string, key: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (cause) {
      throw new LeechguardError('LG_ERR_CONFIG_INVALID', `http.tls.${key}: ${(cause as Error).message}`, {
        cause,
      });
    }
  };
  return {
    cert: read(tls.certFile, 'certFile'),
    key: read(tls.keyFile, 'keyFile'),
    ...(tls.caFile ? { ca: read(tls.caFile, 'caFile') } : {}),
    requestCert: tls.requestClientCert,
    rejectUnauthorized: tls.requestClientCert,
  };
}

/** Names of the properties a querystring / params schema types as numbers. */
function numericFields(schema: unknown): string[] {
  const props = (schema as { properties?: Record<string, { type?: unknown }> } | undefined)?.properties;
  if (!props) return [];
  return Object.keys(props).filter((name) => {
    const types = [props[name]?.type].flat();
    return types.includes('integer') || types.includes('number');
  });
}

/**
 * Refuses a query or path number that is not finite. Ajv (8.20) coerces the strings "Infinity",
 * "-Infinity" and "1e400" to ±Infinity for an integer field and then skips its minimum / maximum
 * (its bound checks run on finite numbers only), so `?limit=Infinity` reached the handlers
 * unbounded. Runs after validation (coercion is done) and after the route's own preHandlers (auth).
 */
function finiteNumbersCheck(queryFields: string[], paramFields: string[]): RoleCheck {
  return (req, _reply, done) => {
    const query = req.query as Record<string, unknown>;
    const params = req.params as Record<string, unknown>;
    for (const [where, fields, values] of [
      ['querystring', queryFields, query],
      ['params', paramFields, params],
    ] as const) {
      for (const name of fields) {
        const v = values?.[name];
        if (typeof v === 'number' && !Number.isFinite(v)) {
          return done(
            new LeechguardError('LG_ERR_REQUEST_INVALID', `${where}/${name} must be a finite number`),
          );
        }
      }
    }
    done();
  };
}

export function createHttpService(options: HttpServiceOptions): HttpService {
  const bodyLimit = options.bodyLimitBytes ?? LIMITS.httpBodyBytesMax;
  const https = httpsOptions(options.http?.tls);
  const app = Fastify({
    ...(https ? { https } : {}),
    // Without configured proxies req.ip is the socket's peer: a forwarded header is never believed.
    ...(options.http?.trustedProxies !== undefined ? { trustProxy: options.http.trustedProxies } : {}),
    loggerInstance: options.logger as FastifyBaseLogger,
    // Per-request lines would dominate the log at edge rates; durations go to /metrics instead.
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: (logger, bindings, options) =>
      new LazyRequestLogger(logger, bindings, options) as unknown as FastifyBaseLogger,
    bodyLimit,
    requestTimeout: LIMITS.httpRequestTimeoutMs,
    return503OnClosing: true,
    // A URL the router refuses (a path segment over its length cap, bad percent-encoding) gets a
    // coded 400 like any other bad request; the path is not echoed (it may carry a token).
    frameworkErrors: (err, _req, reply) =>
      sendError(
        reply,
        new LeechguardError('LG_ERR_REQUEST_INVALID', `the URL path is not accepted (${String(err.code)})`),
      ),
  }) as unknown as FastifyInstance;
  // Every route whose query or path has a number field gets the finite check (no cost elsewhere).
  app.addHook('onRoute', (route) => {
    const queryFields = numericFields(route.schema?.querystring);
    const paramFields = numericFields(route.schema?.params);
    if (queryFields.length === 0 && paramFields.length === 0) return;
    const own = route.preHandler === undefined ? [] : [route.preHandler].flat();
    route.preHandler = [...own, finiteNumbersCheck(queryFields, paramFields)];
  });
  const inFlightMax = options.http?.inFlightBytesMax ?? LIMITS.httpInFlightBytesMax;
  const perKeyMax = options.http?.inFlightBytesPerKeyMax ?? LIMITS.httpInFlightBytesPerKeyMax;
  if (perKeyMax > inFlightMax || bodyLimit > perKeyMax) {
    throw new LeechguardError(
      'LG_ERR_CONFIG_INVALID',
      `http: body limit ${bodyLimit} <= inFlightBytesPerKeyMax ${perKeyMax} <= inFlightBytesMax ${inFlightMax} must hold (else a largest body never fits)`,
    );
  }
  const budget = new BodyBudget(inFlightMax, perKeyMax);
  /** Refuses before the body is read; the connection closes after the answer instead of draining it. */
  const refuse = (req: FastifyRequest, reply: FastifyReply, err: LeechguardError | Error): Error => {
    if (declaredBodyBytes(req, bodyLimit) > 0) reply.header('connection', 'close');
    return err;
  };
  // Every request's body counts against the process, keyed or not, before any route hook runs.
  app.addHook('onRequest', (req, reply, done) => {
    const bytes = declaredBodyBytes(req, bodyLimit);
    if (bytes > bodyLimit) return done(refuse(req, reply, new LeechguardError('LG_ERR_BODY_TOO_LARGE')));
    if (!budget.reserve(bytes, onResponseClosed(reply))) {
      return done(
        refuse(req, reply, new LeechguardError('LG_ERR_OVERLOADED', 'request bodies in flight at the limit')),
      );
    }
    done();
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

  new Gauge({
    name: `leechguard_${options.name}_http_body_bytes_in_flight`,
    help: 'Request-body bytes reserved by requests being received (declared lengths)',
    registers: [options.metrics],
    collect() {
      this.set(budget.inFlightBytes);
    },
  });

  const keys = indexKeys(options.apiKeys);
  const requireRole =
    (...roles: Role[]): RoleCheck =>
    (req, reply, done) => {
      let principal: Principal;
      try {
        // The console's session cookie is a second way in, asked only without an Authorization header.
        const bySession =
          req.headers.authorization === undefined ? options.sessionPrincipal?.(req) : undefined;
        principal = bySession
          ? withRole(bySession, roles)
          : authenticate(keys, req.headers.authorization, roles);
      } catch (err) {
        return done(refuse(req, reply, err as Error));
      }
      req.principal = principal;
      if (!budget.reserveKey(principal.name, declaredBodyBytes(req, bodyLimit), onResponseClosed(reply))) {
        return done(
          refuse(
            req,
            reply,
            new LeechguardError('LG_ERR_OVERLOADED', 'this key has request bodies in flight at its limit'),
          ),
        );
      }
      done();
    };
  const opsAccess: RoleCheck = options.http?.opsEndpointsNeedKey
    ? requireRole('monitor', 'operator')
    : (_req, _reply, done) => done();

  app.get('/healthz', async () => ({ status: 'ok', service: options.name }));
  app.get('/readyz', { onRequest: opsAccess }, async (req, reply) => {
    if (shuttingDown) return sendError(reply, new LeechguardError('LG_ERR_SHUTTING_DOWN'));
    const results: Record<string, string> = {};
    let ready = true;
    await Promise.all(
      Object.entries(options.readiness).map(async ([name, check]) => {
        try {
          await check();
          results[name] = 'ok';
        } catch (err) {
          // The answer names the failing dependency only: hosts and raw errors go to the log.
          ready = false;
          results[name] = 'failing';
          req.log.warn({ err, check: name }, 'readiness check failed');
        }
      }),
    );
    // What the service works with (e.g. the tenants' signals) is shown to a monitor / operator key only.
    const details =
      options.readinessDetails && canSeeDetails(keys, req) ? options.readinessDetails() : undefined;
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'not ready', checks: results, ...(details ? { details } : {}) });
  });
  app.get('/metrics', { onRequest: opsAccess }, async (_req, reply) => {
    reply.header('content-type', options.metrics.contentType);
    return options.metrics.metrics();
  });

  const service: HttpService = {
    app,
    requireRole,
    opsAccess,
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
