/**
 * The simulator's configuration: one zod schema, validated once, unknown keys rejected, frozen.
 * The CLI maps its flags onto it; the programmatic API takes a partial object.
 */
import { z } from 'zod';
import { deepFreeze } from '../core/config.ts';
import { LeechguardError } from '../core/errors.ts';
import { tokenHashingSection } from '../core/token-hash.ts';
import { ABUSE_CLASSES, LEGIT_CLASSES } from './model.ts';

/** 2026-06-14T19:00:00Z: a match evening. Fixed so the default run is reproducible byte for byte. */
export const DEFAULT_START_MS = Date.UTC(2026, 5, 14, 19, 0, 0);

const range = (min: number, max: number) =>
  z
    .tuple([z.number().min(min).max(max), z.number().min(min).max(max)])
    .refine(([a, b]) => a <= b, { message: 'range must be [min, max] with min <= max' });

export const simulationSchema = z
  .object({
    /** Seed of every random draw: same seed and options give identical output bytes. */
    seed: z.string().min(1).default('leechguard'),
    /** Accounts simulated (each a household, commuter, ... or an abuser). */
    viewers: z.number().int().min(1).max(2_000_000).default(20_000),
    /** Share of accounts that are abusers, spread evenly over the abuse classes. */
    abuserFraction: z.number().min(0).max(1).default(0.01),
    /**
     * Classes to simulate (default: all). Legitimate accounts are drawn from the legitimate classes
     * listed, abusers spread over the abuse classes listed; with no legitimate class listed every
     * account is an abuser. For end-to-end tests of one pattern at a time.
     */
    classes: z
      .array(z.enum([...LEGIT_CLASSES, ...ABUSE_CLASSES]))
      .min(1)
      .optional(),
    /** Simulated start, epoch ms. */
    startMs: z.number().int().min(0).default(DEFAULT_START_MS),
    /** Simulated span, ms (the traveller needs about 20 minutes to cross the border by train). */
    durationMs: z
      .number()
      .int()
      .min(60_000)
      .max(24 * 3_600_000)
      .default(20 * 60_000),
    /** Length of a legitimate viewing session, minutes [min, max]. */
    sessionMinutes: range(0.5, 600).default([0.75, 2]),
    /** Pirate players a resold token reaches [min, max]. */
    resaleClients: range(1, 100_000).default([100, 200]),
    /** Share of legitimate accounts whose tokens are Common Access Tokens (the rest: 20% EdgeAuth, else JWT). */
    catShare: z.number().min(0).max(0.5).default(0.03),
    /** Share of households whose home line is IPv6 (a /48 of their operator), the rest IPv4. */
    ipv6Share: z.number().min(0).max(1).default(0.1),
    tenant: z.string().min(1).default('default'),
    /**
     * Deployment shape: which tenants' players send heartbeats. 'all': every account's players do;
     * 'none': the tenant sends CDN logs only (many services start that way); 'some': a share
     * (cdnOnlyShare) of the accounts belong to a second tenant, cdnOnlyTenant, that sends CDN logs
     * only, while the others' players send heartbeats. Players send CMCD either way.
     */
    heartbeats: z.enum(['all', 'some', 'none']).default('all'),
    /** Tenant of the CDN-logs-only accounts when heartbeats is 'some' (its logs go to `<out>/<tenant>/`). */
    cdnOnlyTenant: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/)
      .default('cdn-only'),
    /** Share of accounts in the CDN-logs-only tenant when heartbeats is 'some'. */
    cdnOnlyShare: z.number().min(0).max(1).default(0.5),
    /**
     * Heartbeats reach ingest this long after the CDN log lines of the same moment, ms (a player
     * analytics pipeline that batches them): each heartbeat event comes out of the stream this much
     * later than its own timestamp. 0: on time.
     */
    heartbeatDelayMs: z
      .number()
      .int()
      .min(0)
      .max(60 * 60_000)
      .default(0),
    /**
     * Prefix of every account id (`<prefix>000001`...). Runs on a shared stack (demo, end-to-end
     * tests) give each run its own, so their accounts never meet earlier runs' plans or revocations.
     */
    accountPrefix: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/)
      .default('acct-'),
    /** HMAC key of the simulated JWT and EdgeAuth tokens. */
    tokenSigningKey: z.string().min(16).default('leechguard-simulated-token-signing-key'),
    /** HS256 key (hex) of the simulated Common Access Tokens, and its key id. */
    catKeyHex: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .default('403697de87af64611c1d32a05dab0fe1fcb715a86ab435f1ec99192d79569388'),
    catKeyId: z.string().min(1).default('Symmetric256'),
    catIssuer: z.string().min(1).default('leechguard-sim'),
    /** Hashing keys for the truth file's token hashes: the same as ingest's so flags join on them. */
    tokenHashing: tokenHashingSection.default({
      currentKeyId: 'k1',
      keys: { k1: 'leechguard-local-development-key-change-me!' },
    }),
  })
  .strict();

export type SimulationConfig = z.infer<typeof simulationSchema>;
export type SimulationOptions = z.input<typeof simulationSchema>;

/** Validates options (LG_ERR_CONFIG_INVALID listing every problem) and freezes the result. */
export function simulationConfig(options: SimulationOptions = {}): Readonly<SimulationConfig> {
  const result = simulationSchema.safeParse(options);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new LeechguardError('LG_ERR_CONFIG_INVALID', problems.join('; '), { details: { problems } });
  }
  return deepFreeze(result.data);
}
