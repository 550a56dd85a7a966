/**
 * geo-spread: one token, or one account, seen in more distinct countries than a traveller
 * crossing one border (or a family member abroad) shows within the window.
 */
import { z } from 'zod';
import type { Rule } from '../kit.ts';
import { type SpreadSpec, spreadApply, spreadNamespaces } from '../spread.ts';

export const geoSpreadConfig = z
  .object({
    enabled: z.boolean().default(true),
    /** Sliding window the distinct countries are counted over, ms. */
    windowMs: z
      .number()
      .int()
      .positive()
      .default(60 * 60_000),
    /** Most distinct countries per token in the window: one border crossing is two. */
    maxCountriesPerToken: z.number().int().positive().default(2),
    /** Most distinct countries per account: the family at home plus a member abroad, crossing once. */
    maxCountriesPerAccount: z.number().int().positive().default(3),
  })
  .strict();
export type GeoSpreadConfig = z.infer<typeof geoSpreadConfig>;

const note = (n: number, max: number, w: number) =>
  `seen in ${n} distinct countries in ${w / 60_000} min (max ${max})`;

const SPEC: SpreadSpec = {
  rule: 'geo-spread',
  ns: spreadNamespaces('geo-spread'),
  primary: 'countries',
  secondary: 'networks',
  note,
};

export const geoSpread: Rule<GeoSpreadConfig> = {
  name: 'geo-spread',
  configSchema: geoSpreadConfig,
  horizonMs: (c) => c.windowMs,
  apply(view, event, config, ctx, out) {
    const v = event.value;
    if (v.country === null) return;
    if (v.tokenHash !== null) {
      spreadApply(
        SPEC,
        view,
        event,
        'token',
        v.tokenHash,
        v.country,
        config.windowMs,
        config.maxCountriesPerToken,
        ctx,
        out,
      );
    }
    if (v.accountId !== null) {
      spreadApply(
        SPEC,
        view,
        event,
        'account',
        v.accountId,
        v.country,
        config.windowMs,
        config.maxCountriesPerAccount,
        ctx,
        out,
      );
    }
  },
};
