/**
 * The ingest service's configuration: one zod schema, validated at boot, unknown keys rejected,
 * frozen (core/config.ts loadConfig). Sources name who may push what: each has a bearer key, a
 * format, token extraction settings and, for NDJSON / real-time formats, the field mapping / order.
 */
import { z } from 'zod';
import {
  type ApiKey,
  apiKeySchema,
  httpSection,
  kafkaSection,
  logSection,
  registrySection,
} from '../core/config.ts';
import { LIMITS } from '../core/limits.ts';
import { concurrencyGroupSchema } from '../core/plans.ts';
import { tokenHashingSection } from '../core/token-hash.ts';
import { LOG_FORMATS } from './sources/index.ts';
import { fieldMappingSchema } from './sources/ndjson/index.ts';
import { geoSection } from './transforms/enrich/geo.ts';
import { mediaSection } from './transforms/enrich/media.ts';
import { tokenSection } from './transforms/token/config.ts';

export const INGEST_DEFAULT_PORT = 8090;

export const SOURCE_FORMATS = [...LOG_FORMATS, 'heartbeat'] as const;

export const sourceSchema = z
  .object({
    /** Source name, recorded on every record and dead letter (e.g. cloudfront-eu). */
    name: z.string().min(1).max(128),
    format: z.enum(SOURCE_FORMATS),
    /** Bearer key of this source (role `source`, or `player` for heartbeats). */
    key: z.string().min(16),
    tenant: z.string().min(1).default('default'),
    token: tokenSection.default(tokenSection.parse({})),
    /** cloudfront-realtime: the field order of the real-time log configuration (required there). */
    fields: z.array(z.string().min(1)).optional(),
    /** fastly / ndjson: leechguard field -> JSON path. */
    mapping: fieldMappingSchema.optional(),
  })
  .strict();
export type SourceConfig = z.infer<typeof sourceSchema>;

export const planSchema = z
  .object({
    planId: z.string().min(1),
    streamLimit: z.number().int().min(0),
    perTitleLimit: z.number().int().min(1).nullable().default(null),
    concurrencyGroups: z.array(concurrencyGroupSchema).default([]),
  })
  .strict();
export type PlanConfig = z.infer<typeof planSchema>;

/**
 * ASNs of hosting / cloud / VPN networks, a starting list the operator maintains: AWS, Google
 * Cloud, Microsoft, Oracle, Alibaba, Tencent, DigitalOcean, OVH, Hetzner, Linode/Akamai, Vultr,
 * Scaleway, Contabo, Leaseweb, M247, Datacamp (VPN exits).
 */
export const DEFAULT_DATACENTER_ASNS = [
  16509, 14618, 396982, 8075, 31898, 45102, 132203, 14061, 16276, 24940, 63949, 20473, 12876, 51167, 60781,
  28753, 9009, 60068, 212238,
];

export const enrichSection = z
  .object({
    ipv4PrefixBits: z.number().int().min(8).max(32).default(24),
    ipv6PrefixBits: z.number().int().min(16).max(128).default(48),
    datacenterAsns: z.array(z.number().int().min(0)).default(DEFAULT_DATACENTER_ASNS),
    geo: geoSection.default({ bundled: true }),
    media: mediaSection.default(mediaSection.parse({})),
  })
  .strict();
export type EnrichConfig = z.infer<typeof enrichSection>;

export const ingestLimitsSection = z
  .object({
    lineBytesMax: z.number().int().min(256).default(LIMITS.ingestLineBytesMax),
    batchLinesMax: z.number().int().min(1).default(LIMITS.ingestBatchLinesMax),
    bodyBytesMax: z.number().int().min(1024).default(LIMITS.httpBodyBytesMax),
    inFlightRecordsMax: z.number().int().min(1).default(LIMITS.ingestInFlightRecordsMax),
    accountsPerBatchMax: z.number().int().min(1).default(LIMITS.ingestAccountsPerBatchMax),
  })
  .strict();

export const ingestConfigSchema = z
  .object({
    kafka: kafkaSection.default(kafkaSection.parse({})),
    registry: registrySection.default(registrySection.parse({})),
    http: httpSection(INGEST_DEFAULT_PORT).default(httpSection(INGEST_DEFAULT_PORT).parse({})),
    log: logSection.default({ level: 'info' }),
    tokenHashing: tokenHashingSection.default(tokenHashingSection.parse({})),
    sources: z.array(sourceSchema).default([]),
    /** Token settings for callers whose key is in http.apiKeys rather than sources. */
    defaultToken: tokenSection.default(tokenSection.parse({})),
    /**
     * cloudfront-realtime field order for callers whose key is in http.apiKeys rather than sources
     * (default: the parser's built-in order). A real-time log configuration lists its own fields.
     */
    defaultFields: z
      .object({ 'cloudfront-realtime': z.array(z.string().min(1)).min(1).optional() })
      .strict()
      .default({}),
    enrich: enrichSection.default(enrichSection.parse({})),
    /** Plan of accounts never announced on leechguard.accounts.v1, per tenant (`default` for any other). */
    defaultPlans: z.record(z.string(), planSchema).default({
      default: { planId: 'default', streamLimit: 2, perTitleLimit: null, concurrencyGroups: [] },
    }),
    limits: ingestLimitsSection.default(ingestLimitsSection.parse({})),
    /**
     * Batch worker threads that parse, hash, enrich and Avro-encode (0: all on the HTTP thread).
     * Default: cores − 2, at least 0 (service.ts defaultIngestWorkers).
     */
    workers: z.number().int().min(0).max(64).optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const names = new Set<string>();
    for (const s of c.sources) {
      if (names.has(s.name)) ctx.addIssue({ code: 'custom', message: `duplicate source name ${s.name}` });
      names.add(s.name);
      if (s.format === 'cloudfront-realtime' && s.fields && !s.fields.includes('timestamp')) {
        ctx.addIssue({
          code: 'custom',
          message: `source ${s.name}: real-time fields must include timestamp`,
        });
      }
    }
    // A batch larger than the in-flight bound could never be admitted: a 503 loop, not back-pressure.
    if (c.limits.inFlightRecordsMax < c.limits.batchLinesMax) {
      ctx.addIssue({
        code: 'custom',
        message: 'limits.inFlightRecordsMax must be at least limits.batchLinesMax',
      });
    }
    const rtFields = c.defaultFields['cloudfront-realtime'];
    if (rtFields && !rtFields.includes('timestamp')) {
      ctx.addIssue({ code: 'custom', message: 'defaultFields.cloudfront-realtime must include timestamp' });
    }
    if (c.limits.lineBytesMax > c.limits.bodyBytesMax) {
      ctx.addIssue({ code: 'custom', message: 'limits.lineBytesMax must not exceed limits.bodyBytesMax' });
    }
  });
export type IngestConfig = z.infer<typeof ingestConfigSchema>;

/** The plan of an account never announced: the tenant's default, else the `default` tenant's. */
export function defaultPlanFor(
  config: Pick<IngestConfig, 'defaultPlans'>,
  tenant: string,
): PlanConfig | null {
  return config.defaultPlans[tenant] ?? config.defaultPlans.default ?? null;
}

/** Bearer keys the HTTP service accepts: http.apiKeys plus one per source. */
export function allApiKeys(config: IngestConfig): ApiKey[] {
  const fromSources = config.sources.map((s) =>
    apiKeySchema.parse({ name: s.name, key: s.key, roles: [s.format === 'heartbeat' ? 'player' : 'source'] }),
  );
  return [...config.http.apiKeys, ...fromSources];
}
