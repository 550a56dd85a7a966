/**
 * cat-replay: a Common Access Token (CTA-5007) whose `catreplay` claim is 1 (reuse forbidden)
 * presented by more than one client. One player fetching many segments with its token is one
 * client (same session / device on the same network); a second client presenting the same token
 * id, or the same URL (CMCD sid and all) replayed from another network, is a replay.
 */
import { z } from 'zod';
import type { Rule } from '../kit.ts';
import { type SpreadSpec, spreadApply, spreadNamespaces } from '../spread.ts';

export const catReplayConfig = z
  .object({
    enabled: z.boolean().default(true),
    /** How long a token id is remembered, ms (CAT lifetimes are minutes to hours). */
    windowMs: z
      .number()
      .int()
      .positive()
      .default(60 * 60_000),
    /** Distinct clients allowed to present one catreplay=1 token id. */
    maxClients: z.number().int().positive().default(1),
  })
  .strict();
export type CatReplayConfig = z.infer<typeof catReplayConfig>;

const SPEC: SpreadSpec = {
  rule: 'cat-replay',
  ns: spreadNamespaces('cat-replay'),
  primary: 'devices',
  secondary: 'networks',
  note: (n, max) => `CAT token id with catreplay=1 presented by ${n} clients (max ${max})`,
};

export const catReplay: Rule<CatReplayConfig> = {
  name: 'cat-replay',
  configSchema: catReplayConfig,
  horizonMs: (c) => c.windowMs,
  apply(view, event, config, ctx, out) {
    if (event.kind !== 'request') return;
    const v = event.value;
    if (v.catReplay !== 1 || v.tokenId === null) return;
    // The client: its playback session (else device) at its network. A replay re-sends the whole
    // URL, CMCD sid included, from another home: the same sid on another network is another client.
    const player = v.sessionId ?? v.deviceId;
    const where = v.networkPrefix ?? v.clientIp;
    if (player === null && where === null) return;
    const client = player === null ? (where as string) : where === null ? player : `${player}@${where}`;
    spreadApply(
      SPEC,
      view,
      event,
      'token',
      v.tokenHash ?? `cti:${v.tokenId}`,
      client,
      config.windowMs,
      config.maxClients,
      ctx,
      out,
    );
  },
};
