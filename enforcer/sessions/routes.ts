/**
 * Session admission over HTTP (bearer role `backend`):
 *   POST   /v1/sessions       {accountId, deviceId, contentId, tenant?, token?|tokenHash?, terminateSessionId?}
 *          → 201 {sessionId, nextHeartbeatAtMs, heartbeatIntervalMs, terminated}
 *          | 409 ENF_ERR_SESSION_LIMIT_REACHED, details {scope, limit, sessions: [{sessionId, deviceId,
 *            contentId, startedAtMs, lastSeenMs}]} | 403 ENF_ERR_SESSION_REVOKED
 *   PUT    /v1/sessions/:id   {accountId, deviceId?, contentId?, tenant?, token?|tokenHash?, startedAtMs?}
 *          → 200 {action: 'continue', nextHeartbeatAtMs, reregistered, decision?} | {action: 'stop', reason}
 *   DELETE /v1/sessions/:id?accountId=  → 200 {stopped: true} | 404 ENF_ERR_SESSION_NOT_FOUND
 *   GET    /v1/sessions?accountId=      → 200 {sessions: [...]} (the account's active sessions)
 */
import type { FastifyInstance } from 'fastify';
import type { RoleCheck } from '../../core/http.ts';
import { LIMITS } from '../../core/limits.ts';
import { decisionReply } from '../decision/routes.ts';
import type { HeartbeatInput, SessionService, StartInput } from './service.ts';

export interface SessionRouteDeps {
  sessions: SessionService;
  /** The HTTP service's role check (core/http.ts requireRole). */
  requireRole: (...roles: Array<'backend'>) => RoleCheck;
}

const id = { type: 'string', minLength: 1, maxLength: LIMITS.sessionIdCharsMax } as const;
const token = { type: 'string', minLength: 1, maxLength: LIMITS.decisionSubjectCharsMax } as const;
const params = { type: 'object', properties: { id }, required: ['id'] } as const;

// Reply schemas: serialized by fast-json-stringify instead of JSON.stringify. Every field the
// service returns is listed (a field missing here would be silently dropped from the reply).
const startReply = {
  type: 'object',
  properties: {
    sessionId: { type: 'string' },
    nextHeartbeatAtMs: { type: 'integer' },
    heartbeatIntervalMs: { type: 'integer' },
    terminated: { type: 'boolean' },
    decision: decisionReply,
  },
} as const;
const heartbeatReply = {
  type: 'object',
  properties: {
    action: { type: 'string' },
    nextHeartbeatAtMs: { type: 'integer' },
    reregistered: { type: 'boolean' },
    reason: { type: 'string' },
    decision: decisionReply,
  },
} as const;
const stopReply = { type: 'object', properties: { stopped: { type: 'boolean' } } } as const;

/** Mounts the session admission routes on `app`. */
export function registerSessionRoutes(app: FastifyInstance, deps: SessionRouteDeps): void {
  const { sessions } = deps;
  // onRequest, not preHandler: authentication comes before body validation.
  const onRequest = deps.requireRole('backend');

  app.post<{ Body: StartInput }>(
    '/v1/sessions',
    {
      onRequest,
      schema: {
        body: {
          type: 'object',
          properties: {
            accountId: id,
            deviceId: id,
            contentId: id,
            tenant: id,
            token,
            tokenHash: token,
            terminateSessionId: id,
          },
          required: ['accountId', 'deviceId', 'contentId'],
          additionalProperties: false,
        },
        response: { 201: startReply },
      },
    },
    async (req, reply) => reply.code(201).send(await sessions.start(req.body)),
  );

  app.put<{ Params: { id: string }; Body: HeartbeatInput }>(
    '/v1/sessions/:id',
    {
      onRequest,
      schema: {
        params,
        body: {
          type: 'object',
          properties: {
            accountId: id,
            deviceId: id,
            contentId: id,
            tenant: id,
            token,
            tokenHash: token,
            startedAtMs: { type: 'integer', minimum: 0 },
          },
          required: ['accountId'],
          additionalProperties: false,
        },
        response: { 200: heartbeatReply },
      },
    },
    async (req) => sessions.heartbeat(req.params.id, req.body),
  );

  app.delete<{ Params: { id: string }; Querystring: { accountId: string; tenant?: string } }>(
    '/v1/sessions/:id',
    {
      onRequest,
      schema: {
        params,
        querystring: {
          type: 'object',
          properties: { accountId: id, tenant: id },
          required: ['accountId'],
          additionalProperties: false,
        },
        response: { 200: stopReply },
      },
    },
    async (req) => {
      await sessions.stop(req.params.id, req.query.accountId, req.query.tenant);
      return { stopped: true };
    },
  );

  app.get<{ Querystring: { accountId: string } }>(
    '/v1/sessions',
    {
      onRequest,
      schema: {
        querystring: {
          type: 'object',
          properties: { accountId: id },
          required: ['accountId'],
          additionalProperties: false,
        },
      },
    },
    async (req) => ({ sessions: await sessions.list(req.query.accountId) }),
  );
}
