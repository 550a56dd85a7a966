/**
 * The enforcer's configuration (one zod schema, validated at boot, unknown keys rejected, frozen).
 * `policies` seeds the policy per rule; changes made through the API are kept on Kafka and win
 * over the configured value of the same target (see enforcer/policy/store.ts).
 */
import { z } from 'zod';
import { httpSection, kafkaSection, logSection, redisSection, registrySection } from '../core/config.ts';
import { tokenHashingSection } from '../core/token-hash.ts';
import { decisionSection } from './decision/config.ts';
import { policiesSchema } from './policy/policy.ts';
import { sessionsSection } from './sessions/config.ts';

/** Default HTTP port of the enforcer (decision / session APIs and the analyst page share it). */
export const ENFORCER_HTTP_PORT = 8083;

export const anomaliesSection = z
  .object({
    /** Consumer group of the flag consumer; every enforcer instance of a site shares it. */
    groupId: z.string().min(1).default('leechguard-enforcer'),
    /**
     * Where a group with no committed offsets starts: this far back from now, ms (0 = only new
     * flags). Offsets are committed at once, so a crash right after boot replays from there.
     */
    startLookbackMs: z.number().int().min(0).default(0),
  })
  .strict();

export const enforcerConfigSchema = z
  .object({
    kafka: kafkaSection.prefault({}),
    registry: registrySection.prefault({}),
    redis: redisSection.prefault({}),
    http: httpSection(ENFORCER_HTTP_PORT).prefault({}),
    log: logSection.prefault({}),
    anomalies: anomaliesSection.prefault({}),
    policies: policiesSchema.prefault({}),
    // The edge APIs (decision, session admission) served by the same process.
    tokenHashing: tokenHashingSection.prefault({}),
    decision: decisionSection.prefault({}),
    sessions: sessionsSection.prefault({}),
  })
  .strict();

export type EnforcerConfig = z.infer<typeof enforcerConfigSchema>;
