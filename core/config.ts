/**
 * Configuration: one zod schema per service, built from the shared sections below.
 * Sources, later wins: schema defaults < local stack endpoints < JSON file (--config or
 * LEECHGUARD_CONFIG) < environment (LEECHGUARD_KAFKA_BROKERS / _REGISTRY_URL / _REDIS_URL, and
 * `LEECHGUARD_CFG__section__key=value` for any key, value parsed as JSON when it parses).
 * Validated once at boot; unknown keys are rejected; the result is deep-frozen.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { resolveEndpoints } from './endpoints.ts';
import { LeechguardError } from './errors.ts';
import { LIMITS } from './limits.ts';

export const kafkaSection = z
  .object({
    brokers: z.array(z.string().min(1)).min(1).default(['127.0.0.1:9092']),
    clientId: z.string().min(1).default('leechguard'),
    /** TLS to the brokers: `true` (system CAs), or PEM files for a private CA / client certificate. */
    ssl: z
      .union([
        z.boolean(),
        z
          .object({
            caFile: z.string().min(1).optional(),
            certFile: z.string().min(1).optional(),
            keyFile: z.string().min(1).optional(),
            /** Expected broker name when it differs from the address dialled. */
            servername: z.string().min(1).optional(),
          })
          .strict(),
      ])
      .default(false),
    sasl: z
      .discriminatedUnion('mechanism', [
        z
          .object({
            mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
            username: z.string().min(1),
            password: z.string().min(1),
          })
          .strict(),
        z
          .object({
            /** OAUTHBEARER with tokens from an OAuth 2.0 client-credentials grant. */
            mechanism: z.literal('oauthbearer'),
            tokenUrl: z.string().url(),
            clientId: z.string().min(1),
            clientSecret: z.string().min(1),
            scope: z.string().min(1).optional(),
          })
          .strict(),
      ])
      .optional(),
    /** Replication factor for topics leechguard creates (1 on the local stack, 3 on a cluster). */
    replicationFactor: z.number().int().min(1).default(1),
  })
  .strict();

export const registrySection = z
  .object({
    url: z.string().url().default('http://127.0.0.1:8081/apis/ccompat/v7'),
    username: z.string().optional(),
    password: z.string().optional(),
  })
  .strict();

export const redisSection = z
  .object({
    url: z.string().min(1).default('redis://127.0.0.1:6379'),
  })
  .strict();

export const ROLES = ['source', 'player', 'analyst', 'operator', 'edge', 'backend', 'monitor'] as const;
export type Role = (typeof ROLES)[number];

export const apiKeySchema = z
  .object({
    /** Principal recorded in audits (source name, analyst name). */
    name: z.string().min(1),
    /** The bearer secret; at least 16 chars so it cannot be guessed. */
    key: z.string().min(16),
    roles: z.array(z.enum(ROLES)).min(1),
  })
  .strict();
export type ApiKey = z.infer<typeof apiKeySchema>;

/** HTTPS: PEM files read at boot (a missing file stops the boot naming it). */
export const tlsServerSection = z
  .object({
    certFile: z.string().min(1),
    keyFile: z.string().min(1),
    /** CA bundle; with `requestClientCert` the server asks clients for a certificate signed by it. */
    caFile: z.string().min(1).optional(),
    requestClientCert: z.boolean().default(false),
  })
  .strict();
export type TlsServerConfig = z.infer<typeof tlsServerSection>;

export function httpSection(defaultPort: number) {
  return z
    .object({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(defaultPort),
      apiKeys: z.array(apiKeySchema).default([]),
      /**
       * Proxies whose X-Forwarded-For is believed for the client address (fastify `trustProxy`):
       * their addresses or CIDRs. Default: none, the socket's peer is the client.
       */
      trustedProxies: z.array(z.string().min(1)).optional(),
      /** Serve HTTPS instead of HTTP. */
      tls: tlsServerSection.optional(),
      /** Request-body bytes received at once by this process; above: 503 before the body is read. */
      inFlightBytesMax: z.number().int().min(1024).default(LIMITS.httpInFlightBytesMax),
      /** The same per bearer key. */
      inFlightBytesPerKeyMax: z.number().int().min(1024).default(LIMITS.httpInFlightBytesPerKeyMax),
      /**
       * `/metrics`, `/readyz` and `/openapi.json` need a key with role `monitor` or `operator`
       * (`/healthz` stays open for liveness probes).
       */
      opsEndpointsNeedKey: z.boolean().default(false),
    })
    .strict();
}
export type HttpConfig = z.infer<ReturnType<typeof httpSection>>;

export const logSection = z
  .object({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .strict();

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** JSON file path; defaults to env LEECHGUARD_CONFIG. */
  file?: string | undefined;
  /** Extra values merged last (CLI flags, tests). */
  overrides?: Record<string, unknown>;
}

type Plain = Record<string, unknown>;

function isPlain(v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function deepMerge(base: Plain, over: Plain): Plain {
  const out: Plain = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isPlain(v) && isPlain(out[k]) ? deepMerge(out[k] as Plain, v) : v;
  }
  return out;
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function parseEnvValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** Raw (unvalidated) layers for a schema whose shape may contain kafka / registry / redis sections. */
export function rawConfig(shape: Record<string, unknown>, options: LoadOptions = {}): Plain {
  const env = options.env ?? process.env;
  let raw: Plain = {};
  const endpoints = resolveEndpoints(env);
  if (endpoints) {
    if ('kafka' in shape) raw = deepMerge(raw, { kafka: { brokers: endpoints.kafkaBrokers } });
    if ('registry' in shape) raw = deepMerge(raw, { registry: { url: endpoints.registryUrl } });
    if ('redis' in shape) raw = deepMerge(raw, { redis: { url: endpoints.redisUrl } });
  }
  const file = options.file ?? env.LEECHGUARD_CONFIG;
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (cause) {
      throw new LeechguardError('LG_ERR_CONFIG_FILE_UNREADABLE', `${file}: ${(cause as Error).message}`, {
        cause,
      });
    }
    if (!isPlain(parsed))
      throw new LeechguardError('LG_ERR_CONFIG_INVALID', `${file}: top level must be an object`);
    raw = deepMerge(raw, parsed);
  }
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('LEECHGUARD_CFG__') || value === undefined) continue;
    const path = name.slice('LEECHGUARD_CFG__'.length).split('__');
    let node: Plain = {};
    const root = node;
    path.forEach((key, i) => {
      if (i === path.length - 1) node[key] = parseEnvValue(value);
      else {
        const next: Plain = {};
        node[key] = next;
        node = next;
      }
    });
    raw = deepMerge(raw, root);
  }
  if (options.overrides) raw = deepMerge(raw, options.overrides);
  return raw;
}

/** Validates, rejects unknown keys, freezes. Throws LG_ERR_CONFIG_INVALID listing every problem. */
export function loadConfig<S extends z.ZodObject>(
  schema: S,
  options: LoadOptions = {},
): Readonly<z.infer<S>> {
  const raw = rawConfig(schema.shape, options);
  const result = schema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new LeechguardError('LG_ERR_CONFIG_INVALID', problems.join('; '), { details: { problems } });
  }
  return deepFreeze(result.data);
}
