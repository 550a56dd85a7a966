/** Config section of session admission; defaults written with units. */
import { z } from 'zod';
import { LIMITS } from '../../core/limits.ts';
import { concurrencyGroupSchema } from '../../core/plans.ts';

export const planLimitsSchema = z
  .object({
    streamLimit: z.number().int().min(0).max(LIMITS.sessionsPerAccountMax),
    perTitleLimit: z.number().int().min(1).nullable().default(null),
    concurrencyGroups: z.array(concurrencyGroupSchema).default([]),
  })
  .strict();
export type PlanLimits = z.infer<typeof planLimitsSchema>;

export const sessionsSection = z
  .object({
    /** How often players are asked to heartbeat, ms (answered as nextHeartbeatAtMs). */
    heartbeatIntervalMs: z.number().int().min(1_000).default(30_000),
    /** A session not seen for longer is a ghost and frees its slot, ms (3 missed heartbeats). */
    ghostGraceMs: z.number().int().min(1_000).default(90_000),
    /** How long an ended session's reason answers its late heartbeats, ms. */
    endedRetentionMs: z.number().int().min(1_000).default(600_000),
    /** Plan of accounts absent from leechguard.accounts.v1, by tenant (`default` when unnamed). */
    defaultPlans: z
      .record(z.string(), planLimitsSchema)
      .default({ default: { streamLimit: 2, perTitleLimit: null, concurrencyGroups: [] } }),
    /** Source written on player.heartbeats.v1 records produced by admission. */
    heartbeatSource: z.string().min(1).default('admission'),
    /**
     * Where admission records are Avro-encoded and produced: `worker` (a worker thread; the request
     * thread only queues plain records) or `request` (the request thread itself).
     */
    heartbeatSinkThread: z.enum(['worker', 'request']).default('worker'),
  })
  .strict()
  .refine((s) => s.ghostGraceMs > s.heartbeatIntervalMs, {
    message: 'ghostGraceMs must exceed heartbeatIntervalMs, or live sessions would be pruned as ghosts',
  });
export type SessionsConfig = z.infer<typeof sessionsSection>;
