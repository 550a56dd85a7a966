/**
 * account-concurrency: more active heartbeat sessions on an account than its plan's streamLimit.
 * The newest session is named in evictSessionId; the earliest keep playing.
 */
import { z } from 'zod';
import { concurrencyApply } from '../concurrency.ts';
import type { Rule } from '../kit.ts';

export const accountConcurrencyConfig = z
  .object({
    enabled: z.boolean().default(true),
    /** A session without a heartbeat for this long is a ghost and frees its slot, ms. */
    graceMs: z.number().int().positive().default(90_000),
    /** Flags of one account are grouped per window of this size, ms. */
    windowMs: z
      .number()
      .int()
      .positive()
      .default(60 * 60_000),
    /** Extra sessions tolerated above the plan's limit (0: the plan's limit exactly). */
    toleranceSessions: z.number().int().nonnegative().default(0),
  })
  .strict();
export type AccountConcurrencyConfig = z.infer<typeof accountConcurrencyConfig>;

export const accountConcurrency: Rule<AccountConcurrencyConfig> = {
  name: 'account-concurrency',
  requires: ['heartbeats'],
  configSchema: accountConcurrencyConfig,
  horizonMs: (c) => Math.max(c.graceMs, c.windowMs),
  apply(view, event, config, ctx, out) {
    if (event.kind !== 'heartbeat') return;
    concurrencyApply(
      {
        rule: 'account-concurrency',
        limit: ctx.plan.streamLimit + config.toleranceSessions,
        graceMs: config.graceMs,
        windowMs: config.windowMs,
        what: `on plan ${ctx.plan.planId}`,
      },
      view,
      event.value,
      ctx,
      out,
    );
  },
};
