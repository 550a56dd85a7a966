/**
 * geo-spread: one token, or one account, seen in more far-apart regions than a traveller
 * crossing one border (or a family member abroad) shows within the window. A region is a group of
 * countries whose territories lie within `regionGapKm` of each other (neighbours share borders, so a
 * border household's home and mobile networks placed in two countries are one region), and only
 * positions that are evidence count (not mobile carriers, satellite / in-flight links or hosting /
 * VPN exits: see ../geo.ts).
 */
import { z } from 'zod';
import { countryPosition, minDistanceKm, positionOf } from '../geo.ts';
import type { Rule, SeenMap } from '../kit.ts';
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
    /** Most far-apart regions per token in the window: one long trip is two. */
    maxCountriesPerToken: z.number().int().positive().default(2),
    /** Most far-apart regions per account: the family at home plus a member abroad, travelling once. */
    maxCountriesPerAccount: z.number().int().positive().default(3),
    /**
     * Countries whose territories are closer than this are one region, km (the same bound as
     * impossible-travel's minDistanceKm: what is left of a position's error beyond its country).
     */
    regionGapKm: z.number().nonnegative().default(500),
    /** ASNs whose positions are not evidence, besides the built-in mobile and satellite lists. */
    unreliableAsns: z.array(z.number().int().nonnegative()).max(10_000).default([]),
  })
  .strict();
export type GeoSpreadConfig = z.infer<typeof geoSpreadConfig>;

const note = (n: number, max: number, w: number) =>
  `seen in ${n} far-apart regions in ${w / 60_000} min (max ${max})`;

/** Regions among the countries seen: groups linked by territories closer than `gapKm`. */
export function regionCount(countries: readonly string[], gapKm: number): number {
  const n = countries.length;
  if (n <= 1) return n;
  const pos = countries.map((cc) => countryPosition(cc) ?? null);
  const parent = countries.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]!]!;
    return i;
  };
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const a = pos[i];
      const b = pos[j];
      // A country without a known extent is a region of its own (small territories take the
      // extent of the country that holds them: core/country-extents.ts).
      if (a && b && minDistanceKm(a, b) < gapKm) parent[find(i)] = find(j);
    }
  }
  let roots = 0;
  for (let i = 0; i < n; i++) if (find(i) === i) roots++;
  return roots;
}

const RULED_OUT = [
  'neighbouring countries: countries whose territories are close are counted as one region',
  'mobile carrier, satellite / in-flight and hosting / VPN positions: not counted',
  'a small territory (Gibraltar, Kosovo, the Channel Islands): in the region of the country that holds it',
];

interface Built {
  config: GeoSpreadConfig;
  spec: SpreadSpec;
}
/** The spec of each config, built once; the last one used is at hand without a lookup. */
const builtByConfig = new WeakMap<GeoSpreadConfig, Built>();
let last: Built | undefined;

function specFor(config: GeoSpreadConfig): SpreadSpec {
  if (last?.config !== config) last = builtByConfig.get(config) ?? build(config);
  return last.spec;
}

function build(config: GeoSpreadConfig): Built {
  const gapKm = config.regionGapKm;
  const spec: SpreadSpec = {
    rule: 'geo-spread',
    ns: spreadNamespaces('geo-spread'),
    primary: 'countries',
    secondary: 'networks',
    note,
    measure: (p: SeenMap) =>
      regionCount(
        p.map((e) => e.v),
        gapKm,
      ),
    ruledOut: RULED_OUT,
  };
  const built = { config, spec };
  builtByConfig.set(config, built);
  return built;
}

export const geoSpread: Rule<GeoSpreadConfig> = {
  name: 'geo-spread',
  configSchema: geoSpreadConfig,
  horizonMs: (c) => c.windowMs,
  apply(view, event, config, ctx, out) {
    const v = event.value;
    if (v.country === null) return;
    const SPEC = specFor(config);
    if (typeof positionOf(event, config.unreliableAsns, 0) === 'string') return;
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
