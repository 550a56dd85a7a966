/**
 * Standalone runner of the edge-facing APIs (decision + session admission) in one process, for
 * tests, the bench and small sites: `leechguard edge [--config file]`. The enforcer process mounts
 * the same routes through registerDecisionRoutes / registerSessionRoutes.
 */
import { z } from 'zod';
import { type Clock, systemClock } from '../../core/clock.ts';
import {
  httpSection,
  kafkaSection,
  loadConfig,
  logSection,
  redisSection,
  registrySection,
} from '../../core/config.ts';
import { createHttpService, exitOnSignals, type HttpService } from '../../core/http.ts';
import { createKafka, createProducer, ensureTopics, probeKafka, RenewingProducer } from '../../core/kafka.ts';
import { createLogger, type Logger } from '../../core/log.ts';
import { createMetricsRegistry } from '../../core/metrics.ts';
import { createRedis, probeRedis } from '../../core/redis.ts';
import { refuseWeakSecrets } from '../../core/secrets.ts';
import { AvroSerde } from '../../core/serde.ts';
import { TokenHasher, tokenHashingSection } from '../../core/token-hash.ts';
import { TOPICS } from '../../core/topics.ts';
import { EdgeClient } from '../edge-client/client.ts';
import { sessionsSection } from '../sessions/config.ts';
import { type HeartbeatOutlet, HeartbeatSink } from '../sessions/heartbeat-sink.ts';
import { WorkerHeartbeatSink } from '../sessions/heartbeat-worker.ts';
import { consumePlans, PlanView } from '../sessions/plans.ts';
import { registerSessionRoutes } from '../sessions/routes.ts';
import { SessionService } from '../sessions/service.ts';
import { decisionSection } from './config.ts';
import { registerDecisionRoutes } from './routes.ts';

export const edgeConfigSchema = z
  .object({
    kafka: kafkaSection.default(kafkaSection.parse({})),
    registry: registrySection.default(registrySection.parse({})),
    redis: redisSection.default(redisSection.parse({})),
    http: httpSection(8083).default(httpSection(8083).parse({})),
    log: logSection.default(logSection.parse({})),
    tokenHashing: tokenHashingSection.default(tokenHashingSection.parse({})),
    decision: decisionSection.default(decisionSection.parse({})),
    sessions: sessionsSection.default(sessionsSection.parse({})),
  })
  .strict();
export type EdgeConfig = z.infer<typeof edgeConfigSchema>;

export interface EdgeServer extends EdgeParts {
  http: HttpService;
  url: string;
}

/** What the edge APIs need, built from config: mount with the register* functions. */
export interface EdgeParts {
  edge: EdgeClient;
  sessions: SessionService;
  plans: PlanView;
  sink: HeartbeatOutlet;
  /** Named readiness checks for createHttpService (redis, kafka, denylist, plans). */
  readiness: Record<string, () => Promise<void>>;
  /** Flushes heartbeat records, then closes every client. Register with http.onShutdown. */
  close(): Promise<void>;
}

/**
 * Builds the decision engine (edge client) and session admission from config. The enforcer
 * process calls this, then `registerDecisionRoutes` / `registerSessionRoutes` on its own server:
 *
 *   const parts = await createEdgeParts(config, logger);
 *   registerDecisionRoutes(http.app, { edge: parts.edge, requireRole: http.requireRole, metrics });
 *   registerSessionRoutes(http.app, { sessions: parts.sessions, requireRole: http.requireRole });
 *   http.onShutdown(parts.close);
 */
export async function createEdgeParts(
  config: Pick<EdgeConfig, 'kafka' | 'registry' | 'redis' | 'tokenHashing' | 'decision' | 'sessions'> & {
    log?: EdgeConfig['log'];
  },
  logger: Logger,
  clock: Clock = systemClock,
): Promise<EdgeParts> {
  const hasher = new TokenHasher(config.tokenHashing);
  const edge = new EdgeClient({
    redisUrl: config.redis.url,
    tokenHasher: hasher,
    failMode: config.decision.failMode,
    maxEntries: config.decision.cacheEntriesMax,
    negativeTtlMs: config.decision.negativeTtlMs,
    readTimeoutMs: config.decision.redisReadTimeoutMs,
    nowMs: () => clock.nowMs(),
    logger,
  });
  await edge.start();
  // Session scripts are batched per event-loop turn by SessionService (sessions/script-batch.ts);
  // auto-pipelining groups the other concurrent reads (session lists) into one socket write.
  const redis = createRedis(config.redis.url, logger, { enableAutoPipelining: true });
  const kafka = createKafka(config.kafka, logger);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, config.kafka.replicationFactor, [TOPICS.heartbeats, TOPICS.accounts]);
  const serde = new AvroSerde(config.registry);
  await serde.registerAll([TOPICS.heartbeats.name, TOPICS.accounts.name]);
  const producer =
    config.sessions.heartbeatSinkThread === 'request'
      ? new RenewingProducer(() => createProducer(kafka))
      : undefined;
  await producer?.connect();
  const sink: HeartbeatOutlet = producer
    ? new HeartbeatSink(producer, serde, logger, { source: config.sessions.heartbeatSource })
    : await WorkerHeartbeatSink.start(
        {
          kafka: config.kafka,
          registry: config.registry,
          logLevel: config.log?.level ?? logger.level,
          source: config.sessions.heartbeatSource,
        },
        logger,
      );
  const plans = new PlanView(config.sessions.defaultPlans);
  const planConsumer = await consumePlans(kafka, serde, plans, logger);
  let plansReady = false;
  planConsumer.caughtUp.then(() => (plansReady = true));
  const sessions = new SessionService({ redis, plans, edge, sink, clock, hasher, config: config.sessions });
  return {
    edge,
    sessions,
    plans,
    sink,
    readiness: {
      redis: () => probeRedis(redis),
      kafka: () => probeKafka(admin),
      denylist: async () => {
        if (!edge.cache.complete)
          throw new Error(`denylist mirror incomplete (${edge.stats().stalenessMs} ms)`);
      },
      plans: async () => {
        if (!plansReady) throw new Error('account plans still loading');
      },
    },
    async close() {
      await sink.flush();
      await producer?.disconnect();
      await planConsumer.stop();
      await admin.disconnect();
      redis.disconnect();
      await edge.close();
    },
  };
}

/** Boots the decision API and session admission standalone; resolves when listening. */
export async function startEdgeServer(config: EdgeConfig, clock: Clock = systemClock): Promise<EdgeServer> {
  const logger = createLogger('edge', config.log.level);
  const metrics = createMetricsRegistry('edge');
  const parts = await createEdgeParts(config, logger, clock);
  const http = createHttpService({
    name: 'edge',
    logger,
    metrics,
    apiKeys: config.http.apiKeys,
    readiness: parts.readiness,
    http: config.http,
  });
  registerDecisionRoutes(http.app, { edge: parts.edge, requireRole: http.requireRole, metrics });
  registerSessionRoutes(http.app, { sessions: parts.sessions, requireRole: http.requireRole });
  http.onShutdown(parts.close);
  const url = await http.listen(config.http.host, config.http.port);
  logger.info({ url }, 'edge APIs listening');
  return { ...parts, http, url };
}

/** `leechguard edge [--config file.json]`. */
export async function main(argv: string[]): Promise<number> {
  const i = argv.indexOf('--config');
  const config = loadConfig(edgeConfigSchema, { file: i >= 0 ? argv[i + 1] : undefined });
  refuseWeakSecrets('edge', config);
  const server = await startEdgeServer(config);
  exitOnSignals(() => server.http.shutdown(), server.http.app.log as never);
  return new Promise<number>(() => {}); // runs until a signal
}
