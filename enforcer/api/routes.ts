/**
 * The enforcer's HTTP API (issue 5): review queue, revocations, policies, would-have counts.
 * Mounted under /v1 by `enforcerRoutes`, an encapsulated fastify plugin, so the lead can mount it
 * beside the decision / session routes in one process. Bearer keys with roles analyst / operator.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Role } from '../../core/config.ts';
import { LeechguardError } from '../../core/errors.ts';
import type { RoleCheck } from '../../core/http.ts';
import { LIMITS } from '../../core/limits.ts';
import type { PolicyChange } from '../../core/schemas/generated.ts';
import { type PolicyTarget, parseTarget } from '../policy/store.ts';
import { viewOf } from '../review/queue.ts';
import type { Enforcement } from '../service.ts';
import { dayOf } from '../would-have/would-have.ts';

export interface EnforcerRoutesOptions {
  enforcement: Enforcement;
  requireRole: (...roles: Role[]) => RoleCheck;
  /** False until the state topics are read and the denylist restored: calls then answer 503. */
  isReady: () => boolean;
}

const limitQuery = {
  type: 'integer',
  minimum: 1,
  maximum: LIMITS.enforcerApiListLimitMax,
  default: 100,
  description: 'Entries returned at most',
} as const;
const comment = { type: 'string', maxLength: LIMITS.enforcerCommentCharsMax } as const;
const bearer = [{ bearer: [] }];
const DAY = '^\\d{4}-\\d{2}-\\d{2}$';

function principalName(req: FastifyRequest): string {
  return req.principal?.name ?? 'unknown';
}

export const enforcerRoutes: FastifyPluginAsync<EnforcerRoutesOptions> = async (
  app: FastifyInstance,
  opts,
) => {
  const { enforcement, requireRole, isReady } = opts;
  const { reviews, revocations, policies, wouldHave, clock } = enforcement.parts;
  const readers = requireRole('analyst', 'operator');

  /** Validates, writes and applies a change; the audit record is on Kafka, a log line here. */
  async function changePolicy(
    req: FastifyRequest,
    target: PolicyTarget,
    policy: unknown,
    by: string,
    comment: string | null,
  ): Promise<PolicyChange> {
    const change = await policies.change(target, policy, by, comment);
    req.log.info({ target, changedBy: by, changeId: change.id }, 'policy changed');
    return change;
  }

  app.addHook('preHandler', async () => {
    if (!isReady()) throw new LeechguardError('ENF_ERR_NOT_READY');
  });

  // ── review queue ──────────────────────────────────────────────────────────────────────────
  app.get<{ Querystring: { status?: 'pending' | 'approved' | 'rejected'; rule?: string; limit: number } }>(
    '/reviews',
    {
      onRequest: readers,
      schema: {
        tags: ['reviews'],
        summary: 'List review entries (moderate mode), oldest pending first',
        security: bearer,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: ['pending', 'approved', 'rejected'] },
            rule: { type: 'string' },
            limit: limitQuery,
          },
        },
      },
    },
    async (req) => ({ ...reviews.list(req.query), counts: reviews.counts() }),
  );

  app.get<{ Params: { anomalyId: string } }>(
    '/reviews/:anomalyId',
    {
      onRequest: readers,
      schema: { tags: ['reviews'], summary: 'One review entry with its flag and evidence', security: bearer },
    },
    async (req) => {
      const entry = reviews.get(req.params.anomalyId);
      if (!entry) throw new LeechguardError('ENF_ERR_REVIEW_NOT_FOUND', req.params.anomalyId);
      return viewOf(entry);
    },
  );

  app.post<{ Params: { anomalyId: string }; Body: { decision: 'approved' | 'rejected'; comment?: string } }>(
    '/reviews/:anomalyId/decision',
    {
      onRequest: requireRole('analyst'),
      schema: {
        tags: ['reviews'],
        summary: 'Approve (issues the revocation) or reject a pending entry',
        security: bearer,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['decision'],
          properties: { decision: { type: 'string', enum: ['approved', 'rejected'] }, comment },
        },
      },
    },
    async (req) =>
      enforcement.decideReview(
        req.params.anomalyId,
        req.body.decision,
        principalName(req),
        req.body.comment ?? null,
      ),
  );

  // ── revocations ───────────────────────────────────────────────────────────────────────────
  app.get<{
    Querystring: {
      status?: 'active' | 'lifted' | 'expired';
      accountId?: string;
      subjectKey?: string;
      rule?: string;
      limit: number;
    };
  }>(
    '/revocations',
    {
      onRequest: readers,
      schema: {
        tags: ['revocations'],
        summary: 'List revocations, newest first',
        security: bearer,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: ['active', 'lifted', 'expired'] },
            accountId: { type: 'string' },
            subjectKey: { type: 'string' },
            rule: { type: 'string' },
            limit: limitQuery,
          },
        },
      },
    },
    async (req) => revocations.list(req.query),
  );

  app.get<{ Params: { id: string } }>(
    '/revocations/:id',
    { onRequest: readers, schema: { tags: ['revocations'], summary: 'One revocation', security: bearer } },
    async (req) => {
      const r = revocations.get(req.params.id);
      if (!r) throw new LeechguardError('ENF_ERR_REVOCATION_NOT_FOUND', req.params.id);
      return r;
    },
  );

  app.post<{ Params: { id: string }; Body: { reason: string } }>(
    '/revocations/:id/lift',
    {
      onRequest: readers,
      schema: {
        tags: ['revocations'],
        summary:
          'Lift a revocation (appeal / support): removes the Redis entry, publishes, records the lifted state',
        security: bearer,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['reason'],
          properties: { reason: { ...comment, minLength: 1 } },
        },
      },
    },
    async (req) => revocations.lift(req.params.id, principalName(req), req.body.reason),
  );

  // ── policies ──────────────────────────────────────────────────────────────────────────────
  app.get(
    '/policies',
    {
      onRequest: readers,
      schema: {
        tags: ['policies'],
        summary: 'Current policies: default, per rule, allow-list',
        security: bearer,
      },
    },
    async () => policies.policies,
  );

  app.get<{ Querystring: { target?: string; limit: number } }>(
    '/policies/changes',
    {
      onRequest: readers,
      schema: {
        tags: ['policies'],
        summary: 'Audit trail of policy changes (who, when, before, after), newest first',
        security: bearer,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { target: { type: 'string' }, limit: limitQuery },
        },
      },
    },
    async (req) => ({ items: policies.history(req.query.limit, req.query.target) }),
  );

  const changeBody = {
    type: 'object',
    additionalProperties: false,
    required: ['policy'],
    properties: { policy: { type: 'object' }, comment },
  } as const;

  app.put<{ Params: { rule: string }; Body: { policy: unknown; comment?: string } }>(
    '/policies/rules/:rule',
    {
      onRequest: requireRole('operator'),
      schema: {
        tags: ['policies'],
        summary: "Set a rule's policy (mode, rolloutPercent, action, durationMs, slate, throttleKbps)",
        security: bearer,
        body: changeBody,
      },
    },
    async (req) =>
      changePolicy(
        req,
        parseTarget(`rule:${req.params.rule}`),
        req.body.policy,
        principalName(req),
        req.body.comment ?? null,
      ),
  );

  app.delete<{ Params: { rule: string } }>(
    '/policies/rules/:rule',
    {
      onRequest: requireRole('operator'),
      schema: {
        tags: ['policies'],
        summary: "Remove a rule's own policy (it falls back to the default)",
        security: bearer,
      },
    },
    async (req) => changePolicy(req, parseTarget(`rule:${req.params.rule}`), null, principalName(req), null),
  );

  app.put<{ Body: { policy: unknown; comment?: string } }>(
    '/policies/default',
    {
      onRequest: requireRole('operator'),
      schema: { tags: ['policies'], summary: 'Set the default policy', security: bearer, body: changeBody },
    },
    async (req) =>
      changePolicy(req, 'default', req.body.policy, principalName(req), req.body.comment ?? null),
  );

  app.put<{ Body: { policy: unknown; comment?: string } }>(
    '/policies/allow-list',
    {
      onRequest: requireRole('operator'),
      schema: {
        tags: ['policies'],
        summary: 'Set the allow-list: { accounts: [...], networks: [CIDR...] }, never enforced',
        security: bearer,
        body: changeBody,
      },
    },
    async (req) =>
      changePolicy(req, 'allow-list', req.body.policy, principalName(req), req.body.comment ?? null),
  );

  // ── would-have ────────────────────────────────────────────────────────────────────────────
  app.get<{ Querystring: { from?: string; to?: string; rule?: string } }>(
    '/would-have',
    {
      onRequest: readers,
      schema: {
        tags: ['would-have'],
        summary:
          'What monitor mode (and flags outside a rollout) would have revoked: counts per rule and UTC day',
        security: bearer,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            from: { type: 'string', pattern: DAY },
            to: { type: 'string', pattern: DAY },
            rule: { type: 'string' },
          },
        },
      },
    },
    async (req) => {
      const to = req.query.to ?? dayOf(clock.nowMs());
      const from = req.query.from ?? dayOf(clock.nowMs() - 7 * 24 * 60 * 60 * 1000);
      return { from, to, counts: await wouldHave.counts(from, to, req.query.rule) };
    },
  );

  app.get<{ Params: { rule: string; day: string }; Querystring: { limit: number } }>(
    '/would-have/:rule/:day',
    {
      onRequest: readers,
      schema: {
        tags: ['would-have'],
        summary: 'The flags one rule would have revoked on one UTC day, newest first',
        security: bearer,
        params: {
          type: 'object',
          properties: { rule: { type: 'string' }, day: { type: 'string', pattern: DAY } },
        },
        querystring: { type: 'object', additionalProperties: false, properties: { limit: limitQuery } },
      },
    },
    async (req) => ({ items: await wouldHave.items(req.params.rule, req.params.day, req.query.limit) }),
  );
};
