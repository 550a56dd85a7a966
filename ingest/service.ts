/**
 * The ingest service: fastify receivers for CDN log batches, player heartbeats and account plans,
 * producing to Kafka and answering only after Kafka acked every record (and every dead letter).
 * `startIngest(config)` is what `leechguard ingest` and `leechguard all` run.
 */

import { availableParallelism } from 'node:os';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Clock, systemClock } from '../core/clock.ts';
import { LeechguardError } from '../core/errors.ts';
import { createHttpService, type HttpService } from '../core/http.ts';
import { createKafka, createProducer, ensureTopics, probeKafka } from '../core/kafka.ts';
import { LIMITS } from '../core/limits.ts';
import { createLogger, type Logger } from '../core/log.ts';
import { Counter, createMetricsRegistry, Gauge, Histogram, type Registry } from '../core/metrics.ts';
import { AvroSerde } from '../core/serde.ts';
import { TokenHasher } from '../core/token-hash.ts';
import { TOPICS } from '../core/topics.ts';
import { parseAccountsCsv, parseAccountsJson } from './accounts/parse.ts';
import { allApiKeys, type IngestConfig, type SourceConfig } from './config.ts';
import { type BatchSource, contentBatchId, createPipelineContext, deadLetter } from './pipeline.ts';
import { KafkaSink, type TopicBatch } from './sinks/kafka.ts';
import { isLogFormat } from './sources/index.ts';
import { type GeoTables, geoResolverFrom, loadGeoTables } from './transforms/enrich/geo.ts';
import { type BatchJob, type BatchResult, decodeBody } from './workers/job.ts';
import { BatchPool } from './workers/pool.ts';

export interface IngestHandle {
  url: string;
  close(): Promise<void>;
  /** For tests and `leechguard all`. */
  service: HttpService;
  /** Batch worker threads running (0: batches run on the HTTP thread). */
  workers: number;
  /** CPU the batch workers spent so far, µs (0 inline). */
  workerCpuUs(): number;
}

export interface IngestDeps {
  clock?: Clock;
  logger?: Logger;
  metrics?: Registry;
  /** Geo databases already loaded (benchmarks) instead of loading them again. */
  geoTables?: GeoTables;
}

export interface BatchAnswer {
  batchId: string;
  accepted: number;
  deadLettered: number;
  /** The first per-line errors (all of them are on the dead-letter topic). */
  errors: Array<{ offset: number; code: string; reason: string }>;
}

/**
 * Batch workers when the config names none: cores − 2, none on a 2-core machine. Measured on 2
 * cores with the broker beside ingest (bench/ingest.ts): a worker adds ~10 µs of CPU per record
 * (a second heap, packing) and gained nothing, since the second core is the broker's and the
 * clients'. With more cores the HTTP thread and each worker scale separately.
 */
export function defaultIngestWorkers(cores: number): number {
  return Math.max(0, cores - 2);
}

/** X-Batch-Id values taken as given (else the id is derived from the body). */
const BATCH_ID = /^[\w.:-]{1,128}$/;

function contentEncoding(req: FastifyRequest): string {
  return String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
}

/** Starts the HTTP receivers; resolves once listening, Kafka connected and schemas registered. */
export async function startIngest(config: IngestConfig, deps: IngestDeps = {}): Promise<IngestHandle> {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? createLogger('ingest', config.log.level);
  const metrics = deps.metrics ?? createMetricsRegistry('ingest');
  const kafka = createKafka(config.kafka, logger);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, config.kafka.replicationFactor);
  const serde = new AvroSerde(config.registry);
  const schemaIds = await serde.registerAll([
    TOPICS.requests.name,
    TOPICS.heartbeats.name,
    TOPICS.deadLetters.name,
    TOPICS.accounts.name,
  ]);
  // Partition counts as the cluster has them (an operator may have added partitions).
  const partitionCounts = new Map<string, number>();
  const topicMeta = await admin.fetchTopicMetadata({
    topics: [TOPICS.requests.name, TOPICS.heartbeats.name, TOPICS.deadLetters.name, TOPICS.accounts.name],
  });
  for (const t of topicMeta.topics) partitionCounts.set(t.name, t.partitions.length);

  const lines = new Counter({
    name: 'leechguard_ingest_lines_total',
    help: 'Input lines by source and outcome (accepted, dead_lettered)',
    labelNames: ['source', 'outcome'],
    registers: [metrics],
  });
  const deadLetters = new Counter({
    name: 'leechguard_ingest_dead_letters_total',
    help: 'Dead-lettered lines by error code',
    labelNames: ['code'],
    registers: [metrics],
  });
  const refused = new Counter({
    name: 'leechguard_ingest_batches_refused_total',
    help: 'Batches answered with an error, by code (503s are retried by clients)',
    labelNames: ['code'],
    registers: [metrics],
  });
  const produceSeconds = new Histogram({
    name: 'leechguard_ingest_produce_duration_seconds',
    help: 'Kafka produce (acks=all) duration by outcome',
    labelNames: ['outcome'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30],
    registers: [metrics],
  });
  const sink = new KafkaSink(() => createProducer(kafka), {
    clock,
    logger,
    inFlightRecordsMax: config.limits.inFlightRecordsMax,
    partitions: (topic) => partitionCounts.get(topic),
    onProduce: (_n, ok, s) => produceSeconds.observe({ outcome: ok ? 'ok' : 'error' }, s),
  });
  await sink.connect();
  new Gauge({
    name: 'leechguard_ingest_in_flight_records',
    help: 'Records accepted and not yet acked by Kafka',
    registers: [metrics],
    collect() {
      this.set(sink.inFlightRecords);
    },
  });

  const geoTables = deps.geoTables ?? loadGeoTables(config.enrich.geo);
  // One hasher for this thread: account dead letters (redaction) and inline batches share it.
  const hasher = new TokenHasher(config.tokenHashing);
  // Dead letters of account batches (main thread) need only the hasher, for redaction.
  const ctx = createPipelineContext(config.enrich, hasher, undefined, config.limits.lineBytesMax);
  const batchLimits = {
    lineBytesMax: config.limits.lineBytesMax,
    batchLinesMax: config.limits.batchLinesMax,
    bodyBytesMax: config.limits.bodyBytesMax,
  };
  const pool = await BatchPool.start({
    size: config.workers ?? defaultIngestWorkers(availableParallelism()),
    init: {
      enrich: config.enrich,
      tokenHashing: config.tokenHashing,
      limits: batchLimits,
      schemaIds: [...schemaIds],
      partitions: [...partitionCounts],
      geoTables,
    },
    inlineEnv: () => ({
      ctx: createPipelineContext(
        config.enrich,
        hasher,
        geoResolverFrom(geoTables),
        config.limits.lineBytesMax,
      ),
      serde,
      limits: batchLimits,
      partitions: partitionCounts,
    }),
    logger,
  });
  new Gauge({
    name: 'leechguard_ingest_worker_queued_batches',
    help: 'Batches handed to batch workers and not answered yet',
    registers: [metrics],
    collect() {
      this.set(pool.queuedBatches);
    },
  });
  const sourcesByName = new Map<string, SourceConfig>(config.sources.map((s) => [s.name, s]));

  const service = createHttpService({
    name: 'ingest',
    logger,
    metrics,
    apiKeys: allApiKeys(config),
    readiness: { kafka: () => probeKafka(admin), registry: () => serde.probe() },
    http: config.http,
    bodyLimitBytes: config.limits.bodyBytesMax,
  });
  const { app } = service;
  // Bodies are raw text (logs, NDJSON, CSV), possibly gzip: read every content type as bytes.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    '*',
    { parseAs: 'buffer', bodyLimit: config.limits.bodyBytesMax },
    (_req, body, done) => done(null, body),
  );

  function bodyText(req: FastifyRequest): string {
    const raw = req.body;
    if (!Buffer.isBuffer(raw)) return '';
    return decodeBody(raw, contentEncoding(req), config.limits.bodyBytesMax);
  }

  function batchSource(principalName: string, format: string): BatchSource {
    const s = sourcesByName.get(principalName);
    if (s) {
      const expected = s.format === 'heartbeat' ? 'heartbeat' : s.format;
      if (expected !== format) {
        throw new LeechguardError(
          'ING_ERR_SOURCE_FORMAT_MISMATCH',
          `source ${s.name} sends ${s.format}, not ${format}`,
        );
      }
      return { name: s.name, format, tenant: s.tenant, token: s.token };
    }
    return { name: principalName, format, tenant: 'default', token: config.defaultToken };
  }

  /**
   * Hands the body to a batch worker (parse, token, enrich, Avro), produces what comes back and
   * answers after Kafka acked every record and dead letter.
   */
  async function runBatch(
    req: FastifyRequest,
    format: BatchJob['format'],
    source: BatchSource,
  ): Promise<BatchAnswer> {
    sink.admit(0);
    const s = sourcesByName.get(source.name);
    const given = req.headers['x-batch-id'];
    const result: BatchResult = await pool.run({
      format,
      body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
      contentEncoding: contentEncoding(req),
      source,
      fields: s ? s.fields : format === 'cloudfront-realtime' ? config.defaultFields[format] : undefined,
      mapping: s?.mapping,
      givenBatchId: typeof given === 'string' && BATCH_ID.test(given) ? given : null,
      receivedAtMs: clock.nowMs(),
      sender: {
        // Roles other than `player` belong to keys kept server-side (CDN sources, backends).
        trusted: req.principal!.roles.some((r) => r !== 'player'),
        // req.ip: the socket's address, or the forwarded one when the peer is a configured trusted proxy.
        peerIp: req.ip,
      },
    });
    await sink.write(result.batches);
    return answer(source, result.batchId, result.accepted, result.deadLetters);
  }

  function answer(
    source: BatchSource,
    batchId: string,
    accepted: number,
    dead: ReadonlyArray<{ offsetInBatch: number; errorCode: string; reason: string }>,
  ): BatchAnswer {
    lines.inc({ source: source.name, outcome: 'accepted' }, accepted);
    if (dead.length > 0) lines.inc({ source: source.name, outcome: 'dead_lettered' }, dead.length);
    for (const d of dead) deadLetters.inc({ code: d.errorCode });
    return {
      batchId,
      accepted,
      deadLettered: dead.length,
      errors: dead
        .slice(0, LIMITS.ingestErrorsEchoedMax)
        .map((d) => ({ offset: d.offsetInBatch, code: d.errorCode, reason: d.reason })),
    };
  }

  function meta(req: FastifyRequest, source: string): { batchId: string; receivedAtMs: number } {
    const given = req.headers['x-batch-id'];
    const batchId =
      typeof given === 'string' && BATCH_ID.test(given)
        ? given
        : contentBatchId(source, Buffer.isBuffer(req.body) ? req.body : '');
    return { batchId, receivedAtMs: clock.nowMs() };
  }

  async function guarded(_reply: FastifyReply, work: () => Promise<BatchAnswer>): Promise<unknown> {
    try {
      return await work();
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'unknown';
      refused.inc({ code });
      throw err;
    }
  }

  app.post<{ Params: { format: string } }>(
    '/v1/logs/:format',
    { onRequest: service.requireRole('source', 'operator') },
    async (req, reply) =>
      guarded(reply, async () => {
        const format = req.params.format;
        if (!isLogFormat(format)) throw new LeechguardError('ING_ERR_FORMAT_UNKNOWN', format);
        return runBatch(req, format, batchSource(req.principal!.name, format));
      }),
  );

  app.post(
    '/v1/heartbeats',
    { onRequest: service.requireRole('player', 'backend', 'source', 'operator') },
    async (req, reply) =>
      guarded(reply, async () => {
        return runBatch(req, 'heartbeat', batchSource(req.principal!.name, 'heartbeat'));
      }),
  );

  app.post('/v1/accounts', { onRequest: service.requireRole('backend', 'operator') }, async (req, reply) =>
    guarded(reply, async () => {
      const source: BatchSource = {
        name: req.principal!.name,
        format: 'accounts',
        tenant: 'default',
        token: config.defaultToken,
      };
      sink.admit(0);
      const text = bodyText(req);
      const isCsv = String(req.headers['content-type'] ?? '').startsWith('text/csv');
      const nowMs = clock.nowMs();
      const parsed = isCsv ? parseAccountsCsv(text, nowMs) : parseAccountsJson(text, nowMs);
      if (parsed.changes.length + parsed.errors.length > config.limits.accountsPerBatchMax) {
        throw new LeechguardError(
          'ING_ERR_BATCH_TOO_MANY_LINES',
          `limit ${config.limits.accountsPerBatchMax} accounts`,
        );
      }
      const m = meta(req, source.name);
      const messages = parsed.changes.map((c) => ({
        key: c.accountId,
        value: c.plan === null ? null : serde.encode(TOPICS.accounts.name, c.plan),
      }));
      const dead = parsed.errors.map((e) => deadLetter(e, source, m, ctx));
      const batches: TopicBatch[] = [];
      if (messages.length > 0) batches.push({ topic: TOPICS.accounts.name, messages });
      if (dead.length > 0)
        batches.push({
          topic: TOPICS.deadLetters.name,
          messages: dead.map((d) => ({ key: d.key, value: serde.encode(TOPICS.deadLetters.name, d.value) })),
        });
      await sink.write(batches);
      return answer(
        source,
        m.batchId,
        messages.length,
        dead.map((d) => d.value),
      );
    }),
  );

  service.onShutdown(async () => {
    await pool.close();
    await sink.close();
    await admin.disconnect();
  });
  const url = await service.listen(config.http.host, config.http.port);
  logger.info(
    { url, workers: pool.size, sources: config.sources.map((s) => `${s.name}:${s.format}`) },
    'ingest listening',
  );
  return {
    url,
    close: () => service.shutdown(),
    service,
    workers: pool.size,
    workerCpuUs: () => pool.workerCpuUs,
  };
}
