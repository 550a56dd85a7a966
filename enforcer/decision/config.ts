/**
 * Config section of the decision API (mounted in the enforcer process, or run standalone by
 * `leechguard edge`). Defaults are written with units.
 */
import { z } from 'zod';

export const decisionSection = z
  .object({
    /**
     * Answer when the denylist cannot be read (Redis down) and the in-process mirror does not know
     * the subject. `open` (default): allow, so a Redis outage never interrupts paying viewers; known
     * blocks still apply from the mirror. `closed`: block, so nothing revoked can slip through.
     */
    failMode: z.enum(['open', 'closed']).default('open'),
    /** Most denylist entries mirrored in process. */
    cacheEntriesMax: z.number().int().min(1).default(1_000_000),
    /** How long a "not denied" read from Redis is trusted while the mirror is incomplete, ms. */
    negativeTtlMs: z.number().int().min(0).default(1_000),
    /** Time a fallback Redis read may take before the fail mode answers, ms. */
    redisReadTimeoutMs: z.number().int().min(1).default(250),
  })
  .strict();

export type DecisionConfig = z.infer<typeof decisionSection>;
