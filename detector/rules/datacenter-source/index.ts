/**
 * datacenter-source: a token used from hosting / VPN ASNs (ingest marks them `datacenter`),
 * typical of restreamers and bots. A single probe is tolerated; repeated use is flagged. Requests
 * inside an active heartbeat session (a viewer behind a VPN) are not counted, so the rule needs
 * heartbeats: the engine keeps it silent for a tenant without them, and it waits for heartbeats
 * delivered late (a request newer than the tenant's heartbeats plus the grace is not judged).
 */
import { z } from 'zod';
import type { Rule } from '../kit.ts';
import { accountOfSession, isActive, SESSIONS_NS, type SessionTable } from '../sessions/index.ts';
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
    /**
     * Datacenter requests per token tolerated in a run (a link-preview probe, a monitor, and a VPN
     * player's start-up: manifest, init / rendition playlist and three segments may be logged before
     * its start heartbeat (whole-second log times): up to six requests on HLS, plus margin).
     */
    maxRequests: z.number().int().nonnegative().default(8),
    /**
     * Requests naming (CMCD sid) an active heartbeat session are not counted and end the run of
     * counted ones: a viewer behind a commercial VPN plays inside its session; relays and scrapers
     * send no heartbeats.
     */
    skipCoveredBySession: z.boolean().default(true),
    /** A session without a heartbeat for this long no longer covers requests, ms. */
    sessionGraceMs: z.number().int().positive().default(90_000),
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
  requires: ['heartbeats'],
  configSchema: datacenterSourceConfig,
  horizonMs: (c) => c.windowMs,
  apply(view, event, config, ctx, out) {
    const v = event.value;
    if (!v.datacenter) return;
    const subject = v.tokenHash ?? v.accountId;
    if (subject === null) return;
    const kind = v.tokenHash !== null ? 'token' : 'account';
    if (config.skipCoveredBySession && v.sessionId !== null) {
      // A player behind a VPN plays inside its heartbeat session; relays and scrapers have none.
      // Like segment-without-session, a covered request ends the run: the manifest and init
      // segment a player fetches just before its start heartbeat are not held against it.
      const account = v.accountId ?? accountOfSession(view, v.sessionId, ctx.nowMs);
      const row = account === null ? undefined : view.get<SessionTable>(SESSIONS_NS, account)?.s[v.sessionId];
      if (row !== undefined && isActive(row, ctx.heartbeatNowMs, config.sessionGraceMs)) {
        const ns = SPEC.ns[kind] as string;
        if (view.get(ns, subject) !== undefined) out.changes.push({ ns, key: subject, value: undefined });
        return;
      }
    }
    // Heartbeats this far behind cannot tell yet whether a session covers the request.
    if (config.skipCoveredBySession && v.timestampMs > ctx.heartbeatNowMs + config.sessionGraceMs) {
      out.silenced++;
      return;
    }
    spreadApply(
      SPEC,
      view,
      event,
      kind,
      subject,
      v.asn === null ? 'unknown' : String(v.asn),
      config.windowMs,
      config.maxRequests,
      ctx,
      out,
    );
  },
};
