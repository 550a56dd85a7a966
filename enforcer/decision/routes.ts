/**
 * `GET /v1/decision?tokenHash=|session=|account=` (bearer role `edge`), a raw token in the
 * `x-leechguard-token` header: what the edge does with a request: allow | block | throttle |
 * substitute, with reason, rule, revocation id and expiry. A raw token is hashed on arrival under
 * every active key id and never logged or stored; it never travels in the URL (URLs end up in
 * access logs and proxies' caches), so `?token=` is refused (400).
 */
import type { FastifyInstance } from 'fastify';
import { LeechguardError } from '../../core/errors.ts';
import type { RoleCheck } from '../../core/http.ts';
import { LIMITS } from '../../core/limits.ts';
import { Counter, Gauge, type Registry } from '../../core/metrics.ts';
import type { EdgeClient } from '../edge-client/client.ts';
import type { Decision } from '../edge-client/decision.ts';

export interface DecisionRouteDeps {
  edge: EdgeClient;
  /** The HTTP service's role check (core/http.ts requireRole). */
  requireRole: (...roles: Array<'edge'>) => RoleCheck;
  metrics?: Registry | undefined;
}

/** The header carrying a raw playback token. */
export const TOKEN_HEADER = 'x-leechguard-token';

interface DecisionQuery {
  tokenHash?: string;
  session?: string;
  account?: string;
}

const subject = { type: 'string', minLength: 1, maxLength: LIMITS.decisionSubjectCharsMax } as const;
const nullableString = { type: ['string', 'null'] } as const;

/** Reply schema of a Decision (also nested in session replies): fast-json-stringify serializes it. */
export const decisionReply = {
  type: 'object',
  properties: {
    decision: { type: 'string' },
    reason: nullableString,
    rule: nullableString,
    revocationId: nullableString,
    expiresAtMs: { type: ['integer', 'null'] },
    action: nullableString,
    subjectKind: nullableString,
    slate: nullableString,
    throttleKbps: { type: ['integer', 'null'] },
    source: { type: 'string' },
  },
} as const;

/** Mounts GET /v1/decision on `app`. */
export function registerDecisionRoutes(app: FastifyInstance, deps: DecisionRouteDeps): void {
  const { edge } = deps;
  const decisions = deps.metrics
    ? new Counter({
        name: 'leechguard_edge_decisions_total',
        help: 'Decisions answered, by verdict and source (cache, redis, fail-open, fail-closed)',
        labelNames: ['decision', 'source'],
        registers: [deps.metrics],
      })
    : undefined;
  if (deps.metrics) registerEdgeClientMetrics(deps.metrics, edge);
  const count = (d: Decision): void => {
    decisions?.inc({ decision: d.decision, source: d.source });
  };

  app.get<{ Querystring: DecisionQuery; Headers: { [TOKEN_HEADER]?: string } }>(
    '/v1/decision',
    {
      onRequest: deps.requireRole('edge'),
      schema: {
        querystring: {
          type: 'object',
          properties: { tokenHash: subject, session: subject, account: subject },
          additionalProperties: false,
        },
        headers: { type: 'object', properties: { [TOKEN_HEADER]: subject } },
        response: { 200: decisionReply },
      },
    },
    (req, reply) => {
      const q = req.query;
      const token = req.headers[TOKEN_HEADER];
      if (!token && !q.tokenHash && !q.session && !q.account) {
        throw new LeechguardError('ENF_ERR_DECISION_NO_SUBJECT');
      }
      const query = { token, tokenHash: q.tokenHash, sessionId: q.session, accountId: q.account };
      // Hot path: a complete mirror answers synchronously (no promise); only a miss awaits Redis.
      if (edge.cache.complete) {
        const d = edge.check(query);
        count(d);
        return reply.send(d);
      }
      return edge.decide(query).then((d) => {
        count(d);
        return d;
      });
    },
  );
}

/** Exposes the edge client's hits / misses / staleness as Prometheus gauges, read at scrape time. */
export function registerEdgeClientMetrics(registry: Registry, edge: EdgeClient): void {
  const fields = [
    ['hits', 'Denylist lookups answered from the in-process mirror'],
    ['misses', 'Denylist lookups the mirror could not answer'],
    ['redisReads', 'Redis reads made on misses'],
    ['failModeAnswers', 'Answers given by the fail mode because Redis could not be read'],
    ['changesApplied', 'Change messages applied to the mirror'],
    ['resyncs', 'Full resyncs of the mirror'],
    ['entries', 'Entries in the mirror'],
    ['stalenessMs', 'Milliseconds since the mirror stopped being complete (0 when complete)'],
  ] as const;
  for (const [field, help] of fields) {
    const name = `leechguard_edge_cache_${field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`;
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(edge.stats()[field]);
      },
    });
  }
}
