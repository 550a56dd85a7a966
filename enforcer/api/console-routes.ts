/**
 * The API behind the analyst console, mounted under /v1 beside `enforcerRoutes`: the flag index
 * (filters, time range, cursor, CSV / NDJSON export), the overview, one account's page, the rules
 * page (precision from reviews, would-have per day, policy preview), bulk review decisions with
 * reason codes, and revocations made by hand. Bearer keys or the console's session cookie.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Role } from '../../core/config.ts';
import { LeechguardError } from '../../core/errors.ts';
import type { RoleCheck } from '../../core/http.ts';
import { LIMITS } from '../../core/limits.ts';
import { SeverityValues } from '../../core/schemas/generated.ts';
import {
  FLAG_CSV_COLUMNS,
  FLAG_OUTCOMES,
  type FlagQuery,
  flagCsvRow,
  type IndexedFlag,
} from '../flags/index.ts';
import { rulePolicySchema } from '../policy/policy.ts';
import { REASON_CODES, type ReasonCode, reasonOf, withReason } from '../review/reason-codes.ts';
import { precisionOf, previewPolicy } from '../rules/measure.ts';
import { type Enforcement, MANUAL_RULE } from '../service.ts';
import { dayOf } from '../would-have/would-have.ts';

/** What the account page shows of the edge's view of an account, when the edge APIs are mounted. */
export interface AccountLive {
  plan: unknown;
  sessions: unknown[];
}

export interface ConsoleRoutesOptions {
  enforcement: Enforcement;
  requireRole: (...roles: Role[]) => RoleCheck;
  isReady: () => boolean;
  /** The account's plan and active sessions; set once the session service is mounted. */
  accountLive: { get?: (accountId: string, tenant: string) => Promise<AccountLive> };
}

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
const bearer = [{ bearer: [] }];
const str = { type: 'string', minLength: 1, maxLength: 512 } as const;

function who(req: FastifyRequest): string {
  return req.principal?.name ?? 'unknown';
}

export const consoleRoutes: FastifyPluginAsync<ConsoleRoutesOptions> = async (app: FastifyInstance, opts) => {
  const { enforcement, requireRole, isReady, accountLive } = opts;
  const { reviews, revocations, policies, wouldHave, flags, clock } = enforcement.parts;
  const readers = requireRole('analyst', 'operator');

  app.addHook('preHandler', async () => {
    if (!isReady()) throw new LeechguardError('ENF_ERR_NOT_READY');
  });

  // ── flags ─────────────────────────────────────────────────────────────────────────────────
  type FlagsQuery = Omit<FlagQuery, 'limit'> & { limit: number; format: 'json' | 'csv' | 'ndjson' };
  app.get<{ Querystring: FlagsQuery }>(
    '/flags',
    {
      preHandler: readers,
      schema: {
        tags: ['flags'],
        summary:
          'Recent flags of every mode, newest detection first: filters, time range (detectedAtMs), cursor pagination; format csv / ndjson exports every match (bounded)',
        security: bearer,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            rule: str,
            tenant: str,
            accountId: str,
            subjectKey: str,
            severity: { type: 'string', enum: [...SeverityValues] },
            outcome: { type: 'string', enum: [...FLAG_OUTCOMES] },
            fromMs: { type: 'integer', minimum: 0 },
            toMs: { type: 'integer', minimum: 0 },
            cursor: { type: 'string', maxLength: 40 },
            limit: { type: 'integer', minimum: 1, maximum: LIMITS.enforcerApiListLimitMax, default: 100 },
            format: { type: 'string', enum: ['json', 'csv', 'ndjson'], default: 'json' },
          },
        },
      },
    },
    async (req, reply) => {
      const { format, ...q } = req.query;
      if (format === 'json') {
        const page = flags.query(q);
        return { items: page.items.map(flagView), nextCursor: page.nextCursor, held: flags.size };
      }
      const page = flags.query({ ...q, limit: LIMITS.enforcerFlagExportRowsMax });
      const stamp = new Date(clock.nowMs()).toISOString().replaceAll(':', '-').slice(0, 19);
      reply.header('content-disposition', `attachment; filename="leechguard-flags-${stamp}.${format}"`);
      if (page.nextCursor) reply.header('x-leechguard-truncated', page.nextCursor);
      if (format === 'csv') {
        reply.type('text/csv; charset=utf-8');
        return [FLAG_CSV_COLUMNS.join(','), ...page.items.map(flagCsvRow)].join('\r\n') + '\r\n';
      }
      reply.type('application/x-ndjson; charset=utf-8');
      return page.items.map((f) => JSON.stringify(flagView(f)) + '\n').join('');
    },
  );

  app.get<{ Params: { id: string } }>(
    '/flags/:id',
    {
      preHandler: readers,
      schema: { tags: ['flags'], summary: 'One flag from the index', security: bearer },
    },
    async (req) => {
      const f = flags.get(req.params.id);
      if (!f) throw new LeechguardError('LG_ERR_NOT_FOUND', `flag ${req.params.id} is not in the index`);
      return flagView(f);
    },
  );

  // ── overview ──────────────────────────────────────────────────────────────────────────────
  app.get<{ Querystring: { hours: number; bucketMinutes: number } }>(
    '/overview',
    {
      preHandler: readers,
      schema: {
        tags: ['flags'],
        summary:
          'Flags, revocations and review decisions per time bucket by rule (the 8 busiest, the rest as "other rules"); review backlog and age; detector lag and signals per tenant; top accounts',
        security: bearer,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            hours: { type: 'integer', minimum: 1, maximum: 24 * 35, default: 6 },
            bucketMinutes: { type: 'integer', minimum: 1, maximum: 24 * 60, default: 10 },
          },
        },
      },
    },
    async (req) => {
      const nowMs = clock.nowMs();
      const bucketMs = req.query.bucketMinutes * 60_000;
      const buckets = Math.ceil((req.query.hours * HOUR_MS) / bucketMs);
      if (buckets > OVERVIEW_BUCKETS_MAX) {
        throw new LeechguardError(
          'LG_ERR_REQUEST_INVALID',
          `${buckets} buckets; at most ${OVERVIEW_BUCKETS_MAX}`,
        );
      }
      const startMs = (Math.floor(nowMs / bucketMs) + 1 - buckets) * bucketMs;
      const series = () => new Map<string, number[]>();
      const add = (m: Map<string, number[]>, rule: string, atMs: number) => {
        const i = Math.floor((atMs - startMs) / bucketMs);
        if (i < 0 || i >= buckets) return;
        const row = m.get(rule) ?? new Array<number>(buckets).fill(0);
        row[i]! += 1;
        m.set(rule, row);
      };
      const flagSeries = series();
      const revocationSeries = series();
      const reviewSeries = series();
      const tenants = new Map<
        string,
        { flags: number; lagsMs: number[]; rules: Record<string, number>; lastMs: number }
      >();
      const accounts = new Map<string, { flags: number; rules: Set<string>; tenant: string }>();
      for (const f of flags.all()) {
        const a = f.anomaly;
        add(flagSeries, a.rule, a.detectedAtMs);
        if (a.detectedAtMs < startMs) continue;
        const t = tenants.get(a.tenant) ?? { flags: 0, lagsMs: [], rules: {}, lastMs: 0 };
        t.flags++;
        t.lagsMs.push(Math.max(0, f.receivedAtMs - a.detectedAtMs));
        t.rules[a.rule] = (t.rules[a.rule] ?? 0) + 1;
        t.lastMs = Math.max(t.lastMs, a.detectedAtMs);
        tenants.set(a.tenant, t);
        if (a.accountId) {
          const acc = accounts.get(a.accountId) ?? { flags: 0, rules: new Set<string>(), tenant: a.tenant };
          acc.flags++;
          acc.rules.add(a.rule);
          accounts.set(a.accountId, acc);
        }
      }
      for (const r of revocations.table.values()) add(revocationSeries, r.rule, r.issuedAtMs);
      const pendingAges: number[] = [];
      for (const e of reviews.table.values()) {
        if (e.status === 'pending') pendingAges.push(nowMs - e.createdAtMs);
        else if (e.decidedAtMs !== null) add(reviewSeries, e.status, e.decidedAtMs);
      }
      pendingAges.sort((x, y) => x - y);
      const toObj = (m: Map<string, number[]>) => busiest(m, OVERVIEW_SERIES_MAX, buckets);
      return {
        startMs,
        bucketMs,
        buckets,
        flags: toObj(flagSeries),
        revocations: toObj(revocationSeries),
        reviews: toObj(reviewSeries),
        backlog: {
          pending: pendingAges.length,
          oldestAgeMs: pendingAges.at(-1) ?? null,
          medianAgeMs: pendingAges.length > 0 ? pendingAges[Math.floor(pendingAges.length / 2)]! : null,
          olderThan1h: pendingAges.filter((x) => x > HOUR_MS).length,
          olderThan24h: pendingAges.filter((x) => x > DAY_MS).length,
        },
        revocationsActive: revocations.list({ status: 'active', limit: 0 }).total,
        tenants: [...tenants].map(([tenant, t]) => {
          t.lagsMs.sort((x, y) => x - y);
          return {
            tenant,
            flags: t.flags,
            lastFlagMs: t.lastMs,
            lagP50Ms: t.lagsMs[Math.floor(t.lagsMs.length * 0.5)] ?? null,
            lagP95Ms: t.lagsMs[Math.min(t.lagsMs.length - 1, Math.floor(t.lagsMs.length * 0.95))] ?? null,
            rules: t.rules,
          };
        }),
        topAccounts: [...accounts]
          .sort(([, x], [, y]) => y.flags - x.flags)
          .slice(0, 10)
          .map(([accountId, x]) => ({
            accountId,
            tenant: x.tenant,
            flags: x.flags,
            rules: [...x.rules].sort(),
          })),
      };
    },
  );

  // ── accounts ──────────────────────────────────────────────────────────────────────────────
  app.get<{ Params: { accountId: string } }>(
    '/accounts/:accountId',
    {
      preHandler: readers,
      schema: {
        tags: ['accounts'],
        summary:
          'One account: plan and active sessions (when served here), flags, reviews, revocations, timeline',
        security: bearer,
        params: { type: 'object', properties: { accountId: str } },
      },
    },
    async (req) => {
      const { accountId } = req.params;
      const accountFlags = flags.query({ accountId, limit: LIMITS.enforcerApiListLimitMax }).items;
      const accountReviews = [...reviews.table.values()]
        .filter((e) => e.accountId === accountId)
        .sort((x, y) => y.createdAtMs - x.createdAtMs)
        .slice(0, LIMITS.enforcerApiListLimitMax);
      const subjectRevocations = revocations.list({
        subjectKey: accountId,
        limit: LIMITS.enforcerApiListLimitMax,
      }).items;
      const byAccount = revocations.list({ accountId, limit: LIMITS.enforcerApiListLimitMax }).items;
      const accountRevocations = [
        ...new Map([...byAccount, ...subjectRevocations].map((r) => [r.id, r])).values(),
      ];
      const tenant =
        accountFlags[0]?.anomaly.tenant ??
        accountReviews[0]?.tenant ??
        accountRevocations[0]?.tenant ??
        'default';
      let live: AccountLive | null = null;
      if (accountLive.get) {
        try {
          live = await accountLive.get(accountId, tenant);
        } catch (err) {
          req.log.warn({ err: (err as Error).message }, 'account page: sessions unavailable');
        }
      }
      const timeline: Array<{ atMs: number; kind: string; text: string; ref: string }> = [];
      for (const f of accountFlags) {
        const a = f.anomaly;
        timeline.push({
          atMs: a.detectedAtMs,
          kind: 'flag',
          text: `${a.rule} flagged (${a.severity}, ${f.outcome})`,
          ref: a.id,
        });
      }
      for (const e of accountReviews) {
        if (e.decidedAtMs !== null) {
          timeline.push({
            atMs: e.decidedAtMs,
            kind: 'review',
            text: `review ${e.status} by ${e.decidedBy ?? '?'}${e.comment ? `: ${e.comment}` : ''}`,
            ref: e.anomalyId,
          });
        }
      }
      for (const r of accountRevocations) {
        timeline.push({
          atMs: r.issuedAtMs,
          kind: 'revocation',
          text: `${r.action} ${r.subjectKind} by ${r.issuedBy}: ${r.reason}`,
          ref: r.id,
        });
        if (r.liftedAtMs !== null) {
          timeline.push({
            atMs: r.liftedAtMs,
            kind: 'lift',
            text: `lifted by ${r.liftedBy ?? '?'}: ${r.liftReason ?? ''}`,
            ref: r.id,
          });
        }
      }
      timeline.sort((x, y) => y.atMs - x.atMs);
      return {
        accountId,
        tenant,
        plan: live?.plan ?? null,
        sessions: live?.sessions ?? null,
        flags: accountFlags.map(flagView),
        reviews: accountReviews.map(({ anomalyJson: _omit, ...rest }) => ({
          ...rest,
          reason: reasonOf(rest.comment) ?? null,
        })),
        revocations: accountRevocations,
        timeline,
      };
    },
  );

  // ── rules ─────────────────────────────────────────────────────────────────────────────────
  app.get<{ Querystring: { days: number } }>(
    '/rules',
    {
      preHandler: readers,
      schema: {
        tags: ['policies'],
        summary:
          'Every rule seen or configured: its policy, flags and would-have counts per day, review precision with a 95 % Wilson interval',
        security: bearer,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            days: { type: 'integer', minimum: 1, maximum: LIMITS.enforcerPreviewDaysMax, default: 14 },
          },
        },
      },
    },
    async (req) => {
      const nowMs = clock.nowMs();
      const days: string[] = [];
      for (let i = req.query.days - 1; i >= 0; i--) days.push(dayOf(nowMs - i * DAY_MS));
      const current = policies.policies;
      const names = new Set<string>(Object.keys(current.rules));
      const flagDays = new Map<string, Record<string, number>>();
      for (const f of flags.all()) {
        names.add(f.anomaly.rule);
        const day = dayOf(f.anomaly.detectedAtMs);
        const row = flagDays.get(f.anomaly.rule) ?? {};
        row[day] = (row[day] ?? 0) + 1;
        flagDays.set(f.anomaly.rule, row);
      }
      const decided = new Map<string, { approved: number; rejected: number; pending: number }>();
      for (const e of reviews.table.values()) {
        names.add(e.rule);
        const d = decided.get(e.rule) ?? { approved: 0, rejected: 0, pending: 0 };
        d[e.status]++;
        decided.set(e.rule, d);
      }
      const wh = await wouldHave.counts(days[0]!, days.at(-1)!);
      for (const c of wh) names.add(c.rule);
      names.delete(MANUAL_RULE);
      return {
        days,
        defaultPolicy: current.defaultPolicy,
        rules: [...names].sort().map((rule) => {
          const d = decided.get(rule) ?? { approved: 0, rejected: 0, pending: 0 };
          const fd = flagDays.get(rule) ?? {};
          return {
            rule,
            policy: current.rules[rule] ?? current.defaultPolicy,
            ownPolicy: rule in current.rules,
            flagsPerDay: days.map((day) => fd[day] ?? 0),
            wouldHavePerDay: days.map((day) => wh.find((c) => c.rule === rule && c.day === day)?.count ?? 0),
            reviews: { pending: d.pending },
            precision: precisionOf(d.approved, d.rejected),
          };
        }),
      };
    },
  );

  app.post<{ Params: { rule: string }; Body: { policy: unknown; days: number } }>(
    '/rules/:rule/preview',
    {
      preHandler: readers,
      schema: {
        tags: ['policies'],
        summary:
          "Preview a rule's policy change over the flags of the last N days: what it would have revoked, how many accounts (changes nothing)",
        security: bearer,
        params: { type: 'object', properties: { rule: str } },
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['policy'],
          properties: {
            policy: { type: 'object' },
            days: { type: 'integer', minimum: 1, maximum: LIMITS.enforcerPreviewDaysMax, default: 7 },
          },
        },
      },
    },
    async (req) => {
      const parsed = rulePolicySchema.safeParse(req.body.policy);
      if (!parsed.success) throw new LeechguardError('ENF_ERR_POLICY_INVALID', parsed.error.message);
      const nowMs = clock.nowMs();
      return previewPolicy(
        policies.compiled,
        req.params.rule,
        parsed.data,
        flags.all(),
        nowMs - req.body.days * DAY_MS,
        nowMs,
      );
    },
  );

  // ── bulk review decisions ─────────────────────────────────────────────────────────────────
  app.post<{
    Body: {
      anomalyIds: string[];
      decision: 'approved' | 'rejected';
      reasonCode: ReasonCode;
      comment?: string;
    };
  }>(
    '/reviews/decisions',
    {
      preHandler: requireRole('analyst'),
      schema: {
        tags: ['reviews'],
        summary:
          'Approve or reject several pending entries with one reason code (kept at the head of each comment, a label for the rule); each answers on its own',
        security: bearer,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['anomalyIds', 'decision', 'reasonCode'],
          properties: {
            anomalyIds: { type: 'array', minItems: 1, maxItems: LIMITS.enforcerBulkDecisionsMax, items: str },
            decision: { type: 'string', enum: ['approved', 'rejected'] },
            reasonCode: { type: 'string', enum: REASON_CODES },
            comment: { type: 'string', maxLength: LIMITS.enforcerCommentCharsMax - 40 },
          },
        },
      },
    },
    async (req) => {
      const comment = withReason(req.body.reasonCode, req.body.comment?.trim() || null);
      const results = [];
      for (const id of new Set(req.body.anomalyIds)) {
        try {
          const r = await enforcement.decideReview(id, req.body.decision, who(req), comment);
          results.push({ anomalyId: id, ok: true, revocationId: r.revocation?.id ?? null });
        } catch (err) {
          const e = err as LeechguardError;
          results.push({ anomalyId: id, ok: false, code: e.code ?? 'LG_ERR_INTERNAL', message: e.message });
        }
      }
      return { results };
    },
  );

  app.put<{ Params: { anomalyId: string }; Body: { assignee: string | null } }>(
    '/reviews/:anomalyId/assignee',
    {
      preHandler: requireRole('analyst'),
      schema: {
        tags: ['reviews'],
        summary: 'Assign a review entry to an analyst (null: unassign); kept on the review-queue record',
        security: bearer,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['assignee'],
          properties: { assignee: { anyOf: [str, { type: 'null' }] } },
        },
      },
    },
    async (req) => enforcement.assignReview(req.params.anomalyId, req.body.assignee),
  );

  app.post<{ Params: { anomalyId: string }; Body: { text: string } }>(
    '/reviews/:anomalyId/notes',
    {
      preHandler: requireRole('analyst'),
      schema: {
        tags: ['reviews'],
        summary: `Add a note to a review entry (the last ${LIMITS.enforcerReviewNotesMax} are kept)`,
        security: bearer,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['text'],
          properties: { text: { type: 'string', minLength: 1, maxLength: LIMITS.enforcerCommentCharsMax } },
        },
      },
    },
    async (req) => enforcement.noteReview(req.params.anomalyId, who(req), req.body.text),
  );

  // ── manual revocations ────────────────────────────────────────────────────────────────────
  app.post<{
    Body: {
      subjectKind: 'token' | 'session' | 'account';
      subjectKey: string;
      accountId?: string;
      tenant?: string;
      reason: string;
      durationMs: number;
    };
  }>(
    '/revocations',
    {
      preHandler: readers,
      schema: {
        tags: ['revocations'],
        summary:
          'Revoke a token (hash), session or account by hand, with a reason and an expiry; issued like a policy revocation, issuedBy manual:<who>',
        security: bearer,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['subjectKind', 'subjectKey', 'reason', 'durationMs'],
          properties: {
            subjectKind: { type: 'string', enum: ['token', 'session', 'account'] },
            subjectKey: str,
            accountId: str,
            tenant: str,
            reason: { type: 'string', minLength: 1, maxLength: LIMITS.enforcerCommentCharsMax },
            durationMs: {
              type: 'integer',
              minimum: LIMITS.enforcerRevocationDurationMsMin,
              maximum: LIMITS.enforcerRevocationDurationMsMax,
            },
          },
        },
      },
    },
    async (req) =>
      enforcement.revokeByHand(
        {
          subjectKind: req.body.subjectKind,
          subjectKey: req.body.subjectKey,
          accountId: req.body.accountId ?? null,
          tenant: req.body.tenant ?? 'default',
          reason: req.body.reason,
          durationMs: req.body.durationMs,
        },
        who(req),
      ),
  );
};

/** Buckets one overview answers at most (a chart wider than a screen gains nothing). */
const OVERVIEW_BUCKETS_MAX = 1_000;
/** Series one overview chart shows; the rest are summed as "other rules" (a legend stays readable). */
const OVERVIEW_SERIES_MAX = 8;

/** The `max` busiest series by name, the rest summed into "other rules". */
function busiest(m: Map<string, number[]>, max: number, buckets: number): Record<string, number[]> {
  const total = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const sorted = [...m].sort(([, x], [, y]) => total(y) - total(x));
  const out = Object.fromEntries(sorted.slice(0, max).sort(([x], [y]) => x.localeCompare(y)));
  if (sorted.length > max) {
    const other = new Array<number>(buckets).fill(0);
    for (const [, xs] of sorted.slice(max)) {
      for (let i = 0; i < buckets; i++) other[i]! += xs[i] ?? 0;
    }
    out['other rules'] = other;
  }
  return out;
}

function flagView(f: IndexedFlag) {
  return { outcome: f.outcome, mode: f.mode, receivedAtMs: f.receivedAtMs, ...f.anomaly };
}
