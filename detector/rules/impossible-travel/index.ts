/**
 * impossible-travel: two consecutive uses of one token further apart than a plane could fly in
 * the time between them. Locations are city / country centroids, so short distances are ignored
 * (a border crossing by train between neighbouring centroids is not travel evidence).
 */
import { z } from 'zod';
import { common, distanceKm, emptyEvidence, type Rule, type StateValue, windowStart } from '../kit.ts';

export const impossibleTravelConfig = z
  .object({
    enabled: z.boolean().default(true),
    /** Fastest legitimate travel, km/h (a long-haul plane with margin). */
    maxSpeedKmh: z.number().positive().default(1000),
    /** Distances below this are centroid noise, km. */
    minDistanceKm: z.number().nonnegative().default(500),
    /** Flags of one token are grouped per window of this size, ms; also how long the last use is kept. */
    windowMs: z
      .number()
      .int()
      .positive()
      .default(60 * 60_000),
  })
  .strict();
export type ImpossibleTravelConfig = z.infer<typeof impossibleTravelConfig>;

interface LastUse extends StateValue {
  at: number;
  lat: number;
  lon: number;
  cc: string | null;
  net: string | null;
}

export const impossibleTravel: Rule<ImpossibleTravelConfig> = {
  name: 'impossible-travel',
  configSchema: impossibleTravelConfig,
  horizonMs: (c) => c.windowMs,
  apply(view, event, config, ctx, out) {
    const v = event.value;
    if (v.tokenHash === null || v.latitude === null || v.longitude === null) return;
    const c = common(event);
    const key = v.tokenHash;
    const last = view.get<LastUse>('impossible-travel', key);
    const here: LastUse = {
      x: Math.max(c.atMs, ctx.nowMs) + config.windowMs,
      at: c.atMs,
      lat: v.latitude,
      lon: v.longitude,
      cc: v.country,
      net: v.networkPrefix,
    };
    // Only a later use moves the remembered position; a late event is compared but not kept.
    if (!last || last.x < ctx.nowMs || c.atMs >= last.at)
      out.changes.push({ ns: 'impossible-travel', key, value: here });
    if (!last || last.x < ctx.nowMs) return;
    const km = distanceKm(last.lat, last.lon, here.lat, here.lon);
    if (km < config.minDistanceKm) return;
    const elapsedMs = Math.abs(c.atMs - last.at);
    // Under a minute apart counts as one minute: timestamps have second resolution in many logs.
    const speedKmh = km / (Math.max(elapsedMs, 60_000) / 3_600_000);
    if (speedKmh <= config.maxSpeedKmh) return;
    const start = windowStart(c.atMs, config.windowMs);
    const observed = Math.round(speedKmh);
    if (
      !ctx.wouldFlag(
        'impossible-travel',
        'token',
        v.tokenHash,
        start,
        observed,
        config.maxSpeedKmh,
        'increase',
      )
    )
      return;
    const [from, to] = c.atMs >= last.at ? [last, here] : [here, last];
    const evidence = emptyEvidence();
    evidence.eventCount = 2;
    evidence.travel = {
      fromCountry: from.cc,
      toCountry: to.cc,
      fromNetwork: from.net,
      toNetwork: to.net,
      distanceKm: Math.round(km),
      elapsedMs,
      speedKmh: Math.round(speedKmh),
    };
    evidence.note = `token moved ${Math.round(km)} km in ${Math.round(elapsedMs / 60_000)} min (${Math.round(speedKmh)} km/h, max ${config.maxSpeedKmh})`;
    out.flags.push({
      rule: 'impossible-travel',
      subjectKind: 'token',
      subjectKey: v.tokenHash,
      tenant: c.tenant,
      accountId: c.accountId,
      tokenHash: c.tokenHash,
      tokenExpiresAtMs: c.tokenExpiresAtMs,
      evictSessionId: null,
      threshold: config.maxSpeedKmh,
      observed,
      windowStartMs: start,
      windowEndMs: start + config.windowMs,
      detectedAtMs: c.atMs,
      triggerEventId: c.id,
      evidence,
    });
  },
};
