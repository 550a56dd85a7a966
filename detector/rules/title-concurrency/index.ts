/**
 * title-concurrency: more active sessions on one content id than the plan's perTitleLimit
 * (e.g. at most 2 on the same match). Plans without a per-title limit are not checked.
 */
import { z } from 'zod';
import { concurrencyApply } from '../concurrency.ts';
import type { Rule } from '../kit.ts';

export const titleConcurrencyConfig = z
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
  })
  .strict();
export type TitleConcurrencyConfig = z.infer<typeof titleConcurrencyConfig>;

export const titleConcurrency: Rule<TitleConcurrencyConfig> = {
  name: 'title-concurrency',
  requires: ['heartbeats'],
  configSchema: titleConcurrencyConfig,
  horizonMs: (c) => Math.max(c.graceMs, c.windowMs),
  apply(view, event, config, ctx, out) {
    if (event.kind !== 'heartbeat' || ctx.plan.perTitleLimit === null) return;
    const contentId = event.value.contentId;
    concurrencyApply(
      {
        rule: 'title-concurrency',
        limit: ctx.plan.perTitleLimit,
        graceMs: config.graceMs,
        windowMs: config.windowMs,
        filter: (row) => row.c === contentId,
        what: `on title ${contentId}`,
      },
      view,
      event.value,
      ctx,
      out,
    );
  },
};
