/**
 * token-network-spread: one token used from more distinct client networks (IPv4 /24, IPv6 /48 as
 * ingest computed them) than a household has in a short window. Networks, not addresses: mobile
 * carriers and CGNAT rotate addresses inside a pool, which stays one network.
 */
import { z } from 'zod';
import type { Rule } from '../kit.ts';
import { type SpreadSpec, spreadApply, spreadNamespaces } from '../spread.ts';

export const tokenNetworkSpreadConfig = z
  .object({
    enabled: z.boolean().default(true),
    /** Sliding window the distinct networks are counted over, ms. */
    windowMs: z
      .number()
      .int()
      .positive()
      .default(10 * 60_000),
    /** Most distinct networks a legitimate token shows in the window (home wifi, 4G, a cell change or two). */
    maxNetworks: z.number().int().positive().default(4),
  })
  .strict();
export type TokenNetworkSpreadConfig = z.infer<typeof tokenNetworkSpreadConfig>;

const SPEC: SpreadSpec = {
  rule: 'token-network-spread',
  ns: spreadNamespaces('token-network-spread'),
  primary: 'networks',
  secondary: 'asns',
  note: (n, max, w) => `token used from ${n} distinct networks in ${w / 60_000} min (max ${max})`,
};

export const tokenNetworkSpread: Rule<TokenNetworkSpreadConfig> = {
  name: 'token-network-spread',
  configSchema: tokenNetworkSpreadConfig,
  horizonMs: (c) => c.windowMs,
  apply(view, event, config, ctx, out) {
    const v = event.value;
    if (event.kind !== 'request' || v.tokenHash === null || v.networkPrefix === null) return;
    spreadApply(
      SPEC,
      view,
      event,
      'token',
      v.tokenHash,
      v.networkPrefix,
      config.windowMs,
      config.maxNetworks,
      ctx,
      out,
    );
  },
};
