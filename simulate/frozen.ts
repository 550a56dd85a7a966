/**
 * The frozen seed set: detection quality is reported on these seeds separately
 * (`leechguard quality --frozen`), as a held-out measurement.
 *
 * No threshold, rule parameter, policy or population share may be tuned on runs of these seeds.
 * Tune on any other seed (the default `leechguard`, or your own), then measure here. A change to
 * this list, or to the simulated population, makes earlier frozen figures incomparable: say so
 * where the figures are recorded.
 */
export const FROZEN_SEEDS = ['frozen-2026-12-a', 'frozen-2026-12-b', 'frozen-2026-12-c'] as const;

/** The seed `--frozen` runs (the quality gate's). The other frozen seeds are for a wider look by `--seed`. */
export const FROZEN_SEED = FROZEN_SEEDS[0];
