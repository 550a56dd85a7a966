/**
 * The fastify helper every service uses: `/healthz` (process alive), `/readyz` (each real
 * dependency answers), `/metrics` (Prometheus), bearer-key auth with roles, one error shape
 * `{ code, message, retriable, details? }` from the error table, and graceful shutdown.
 */
import { timingSafeEqual } from 'node:crypto';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
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

function sameSecret(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

/** Finds the key's principal; throws LG_ERR_AUTH_* (401 / 403). */
export function authenticate(
  apiKeys: readonly ApiKey[],
  authorization: string | undefined,
  allowed: readonly Role[],
): Principal {
  if (!authorization?.startsWith('Bearer ')) throw new LeechguardError('LG_ERR_AUTH_MISSING');
  const presented = authorization.slice('Bearer '.length).trim();
  const key = apiKeys.find((k) => sameSecret(k.key, presented));
  if (!key) throw new LeechguardError('LG_ERR_AUTH_INVALID');
  if (!key.roles.some((r) => allowed.includes(r))) {
    throw new LeechguardError('LG_ERR_AUTH_FORBIDDEN', `needs one of ${allowed.join(', ')}`);
  }
  return { name: key.name, roles: key.roles };
}

export function sendError(reply: FastifyReply, err: LeechguardError): FastifyReply {
  if (err.retriable && err.httpStatus === 503) reply.header('retry-after', '1');
  return reply.code(err.httpStatus).send(err.toJSON());
}

export interface HttpService {
  app: FastifyInstance;
  /** preHandler that admits only keys holding one of the roles. */
  requireRole(...roles: Role[]): (req: FastifyRequest) => Promise<void>;
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
    bodyLimit: options.bodyLimitBytes ?? LIMITS.httpBodyBytesMax,
    requestTimeout: LIMITS.httpRequestTimeoutMs,
    return503OnClosing: true,
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
  app.addHook('onResponse', async (req, reply) => {
    duration.observe(
      { route: req.routeOptions.url ?? 'unknown', method: req.method, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
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

  const service: HttpService = {
    app,
    requireRole:
      (...roles) =>
      async (req) => {
        req.principal = authenticate(options.apiKeys, req.headers.authorization, roles);
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
