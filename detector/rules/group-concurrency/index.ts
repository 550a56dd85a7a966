/**
 * group-concurrency: more active sessions on the content of one concurrency group (e.g. a
 * studio's titles) than the group's limit in the account's plan.
 */
import { z } from 'zod';
import { concurrencyApply } from '../concurrency.ts';
import type { Rule } from '../kit.ts';

export const groupConcurrencyConfig = z
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
export type GroupConcurrencyConfig = z.infer<typeof groupConcurrencyConfig>;

/** True when `contentId` matches a pattern (exact, or a prefix when the pattern ends with *). */
export function matchesGroup(patterns: readonly string[], contentId: string | null): boolean {
  if (contentId === null) return false;
  for (const p of patterns) {
    if (p.endsWith('*') ? contentId.startsWith(p.slice(0, -1)) : contentId === p) return true;
  }
  return false;
}

export const groupConcurrency: Rule<GroupConcurrencyConfig> = {
  name: 'group-concurrency',
  requires: ['heartbeats'],
  configSchema: groupConcurrencyConfig,
  horizonMs: (c) => Math.max(c.graceMs, c.windowMs),
  apply(view, event, config, ctx, out) {
    if (event.kind !== 'heartbeat') return;
    for (const group of ctx.plan.concurrencyGroups) {
      if (!matchesGroup(group.contentIdPatterns, event.value.contentId)) continue;
      concurrencyApply(
        {
          rule: 'group-concurrency',
          limit: group.limit,
          graceMs: config.graceMs,
          windowMs: config.windowMs,
          filter: (row) => matchesGroup(group.contentIdPatterns, row.c),
          what: `in concurrency group ${group.groupId}`,
          // One flag per group: the group is part of the subject so two groups never share an id.
          subjectKey: `${event.value.accountId}|${group.groupId}`,
        },
        view,
        event.value,
        ctx,
        out,
      );
    }
  },
};
