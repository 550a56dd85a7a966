/**
 * datacenter-source: a token used from hosting / VPN ASNs (ingest marks them `datacenter`),
 * typical of restreamers and bots. A single probe is tolerated; repeated use is flagged.
 */
import { z } from 'zod';
import type { Rule } from '../kit.ts';
import { type SpreadSpec, spreadApply, spreadNamespaces } from '../spread.ts';

export const datacenterSourceConfig = z
  .object({
    enabled: z.boolean().default(true),
    /** Sliding window the datacenter requests are counted over, ms. */
    windowMs: z
      .number()
      .int()
      .positive()
      .default(10 * 60_000),
    /** Datacenter requests per token tolerated in the window (a link-preview probe, a monitor). */
    maxRequests: z.number().int().nonnegative().default(2),
  })
  .strict();
export type DatacenterSourceConfig = z.infer<typeof datacenterSourceConfig>;

const SPEC: SpreadSpec = {
  rule: 'datacenter-source',
  ns: spreadNamespaces('datacenter-source'),
  primary: 'asns',
  secondary: 'networks',
  measure: 'events',
  note: (n, max, w) => `${n} requests from hosting / VPN networks in ${w / 60_000} min (max ${max})`,
};

export const datacenterSource: Rule<DatacenterSourceConfig> = {
  name: 'datacenter-source',
  configSchema: datacenterSourceConfig,
  horizonMs: (c) => c.windowMs,
  apply(view, event, config, ctx, out) {
    const v = event.value;
    if (!v.datacenter) return;
    const subject = v.tokenHash ?? v.accountId;
    if (subject === null) return;
    spreadApply(
      SPEC,
      view,
      event,
      v.tokenHash !== null ? 'token' : 'account',
      subject,
      v.asn === null ? 'unknown' : String(v.asn),
      config.windowMs,
      config.maxRequests,
      ctx,
      out,
    );
  },
};
