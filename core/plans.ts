/**
 * Config shapes that mirror the AccountPlan record (schemas/account-plan.avsc), shared by every
 * service that takes a default plan per tenant in its config (ingest, detector, session admission).
 */
import { z } from 'zod';

/** Content limited as a group (e.g. one studio's titles): at most `limit` concurrent sessions. */
export const concurrencyGroupSchema = z
  .object({
    groupId: z.string().min(1),
    /** 0 means no session at all may play content of the group. */
    limit: z.number().int().min(0),
    /** Content ids in the group; an entry ending in * matches by prefix. */
    contentIdPatterns: z.array(z.string().min(1)),
  })
  .strict();

export type ConcurrencyGroupConfig = z.infer<typeof concurrencyGroupSchema>;
