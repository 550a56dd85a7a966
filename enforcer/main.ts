/**
 * `leechguard enforcer`: the enforcer process. Boot order, each step before the next:
 *   topics + schemas → state topics read to their end (revocations, review queue, policy changes)
 *   → denylist restored into Redis (a wiped Redis gets every still-active revocation back)
 *   → ready (/readyz 200, API calls served) → flag consumer started.
 */
import { parseArgs } from 'node:util';
import type { Kafka, Producer } from 'kafkajs';
import { type Clock, systemClock } from '../core/clock.ts';
import { loadConfig } from '../core/config.ts';
import {
  createHttpService,
  exitOnSignals,
  type HttpService,
  indexKeys,
  type ReadinessCheck,
} from '../core/http.ts';
import { createKafka, createProducer, ensureTopics, probeKafka, RenewingProducer } from '../core/kafka.ts';
import { LIMITS } from '../core/limits.ts';
import { createLogger, type Logger } from '../core/log.ts';
import { createMetricsRegistry, type Registry } from '../core/metrics.ts';
import { createRedis, probeRedis, type Redis } from '../core/redis.ts';
import { refuseWeakSecrets } from '../core/secrets.ts';
import { AvroSerde } from '../core/serde.ts';
import { TOPICS } from '../core/topics.ts';
import { type ConsoleRoutesOptions, consoleRoutes } from './api/console-routes.ts';
import { ConsoleSessions, registerConsoleSession } from './api/console-session.ts';
import { registerOpenApi } from './api/openapi.ts';
import { enforcerRoutes } from './api/routes.ts';
import { registerUi } from './api/ui.ts';
import { type EnforcerConfig, enforcerConfigSchema } from './config.ts';
import { type CrashPoint, crashPointFromEnv } from './crash-point.ts';
import { registerDecisionRoutes } from './decision/routes.ts';
import { createEdgeParts } from './decision/standalone.ts';
import { FlagIndex } from './flags/index.ts';
import { AnomalyConsumer } from './pipeline/anomaly-consumer.ts';
import { PolicyStore } from './policy/store.ts';
import { ReviewQueue } from './review/queue.ts';
import { Revocations } from './revocations/revocations.ts';
import { Enforcement } from './service.ts';
import { registerSessionRoutes } from './sessions/routes.ts';
import { RedisDenylist } from './sinks/redis-denylist/denylist.ts';
import { StateLog, StateWriter } from './state/state-log.ts';
import { WouldHave } from './would-have/would-have.ts';

/** What a route module mounted beside ours (the decision / session APIs) may use. */
export interface MountContext {
  http: HttpService;
  redis: Redis;
  kafka: Kafka;
  producer: Producer;
  serde: AvroSerde;
  logger: Logger;
  metrics: Registry;
  clock: Clock;
  /** Readiness checks of the service; a mounted module adds its own. */
  readiness: Record<string, ReadinessCheck>;
  /** The console's account page asks here for an account's plan and active sessions. */
  accountLive: ConsoleRoutesOptions['accountLive'];
}

export interface StartOptions {
  clock?: Clock;
  logger?: Logger;
  /** Test hook; defaults to env LEECHGUARD_ENF_CRASH_AT. */
  crashAt?: CrashPoint;
  /**
   * Mounts more routes in the same process (e.g. the edge's decision / session routes), after
   * ours and before listening; each registers its own fastify plugin with its own prefix.
   */
  mount?: (ctx: MountContext) => Promise<void>;
}

export interface RunningEnforcer {
  url: string;
  close(): Promise<void>;
  enforcement: Enforcement;
  /** Outcome of the boot-time denylist restore. */
  restored: { restored: number; removed: number; active: number };
}

const TOPICS_USED = [
  TOPICS.anomalies.name,
  TOPICS.reviews.name,
  TOPICS.revocations.name,
  TOPICS.reviewQueue.name,
  TOPICS.policyChanges.name,
];

/** Starts the enforcer and resolves once it is ready (state read, denylist restored, consumer running). */
export async function startEnforcer(
  config: EnforcerConfig,
  options: StartOptions = {},
): Promise<RunningEnforcer> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger('enforcer', config.log.level);
  const crashAt = options.crashAt ?? crashPointFromEnv();
  const metrics = createMetricsRegistry('enforcer');

  const kafka = createKafka(config.kafka, logger);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, config.kafka.replicationFactor);
  const serde = new AvroSerde(config.registry);
  await serde.registerAll(TOPICS_USED);
  const producer = createProducer(kafka);
  await producer.connect();
  const redis = createRedis(config.redis.url, logger);

  const writerProducer = new RenewingProducer(() => createProducer(kafka));
  await writerProducer.connect();
  const writer = new StateWriter(writerProducer, serde);
  await writer.init(admin, [TOPICS.revocations.name, TOPICS.reviewQueue.name, TOPICS.policyChanges.name]);
  const policies = new PolicyStore(config.policies, writer, clock);
  const reviews = new ReviewQueue();
  const revocations = new Revocations({ denylist: new RedisDenylist(redis), writer, clock, logger, crashAt });
  const enforcement = new Enforcement({
    policies,
    reviews,
    revocations,
    wouldHave: new WouldHave(redis),
    flags: new FlagIndex(clock),
    writer,
    clock,
    logger,
    metrics,
  });

  let ready = false;
  const readiness: Record<string, ReadinessCheck> = {
    kafka: () => probeKafka(admin),
    registry: () => serde.probe(),
    redis: () => probeRedis(redis),
    denylist: async () => {
      if (!ready) throw new Error('restoring state and denylist');
    },
  };
  const consoleSessions = new ConsoleSessions(clock);
  const http = createHttpService({
    name: 'enforcer',
    logger,
    metrics,
    apiKeys: config.http.apiKeys,
    readiness,
    sessionPrincipal: (req) => consoleSessions.principalOf(req),
    http: config.http,
  });
  await registerOpenApi(http.app, http.opsAccess);
  await http.app.register(enforcerRoutes, {
    prefix: '/v1',
    enforcement,
    requireRole: http.requireRole,
    isReady: () => ready,
  });
  // ── edge (issue 6): the decision / session routes are mounted here, in the same process:
  //    pass `mount` (or add `await http.app.register(edgeRoutes, { prefix: '/v1', ... })`).
  const accountLive: ConsoleRoutesOptions['accountLive'] = {};
  await http.app.register(consoleRoutes, {
    prefix: '/v1',
    enforcement,
    requireRole: http.requireRole,
    isReady: () => ready,
    accountLive,
  });
  await options.mount?.({
    http,
    redis,
    kafka,
    producer,
    serde,
    logger,
    metrics,
    clock,
    readiness,
    accountLive,
  });
  registerConsoleSession(http.app, consoleSessions, indexKeys(config.http.apiKeys));
  registerUi(http.app);

  const stateLog = new StateLog(kafka, admin, serde, logger, [revocations.table, reviews.table, policies]);
  const consumer = new AnomalyConsumer({
    kafka,
    admin,
    serde,
    enforcement,
    groupId: config.anomalies.groupId,
    startLookbackMs: config.anomalies.startLookbackMs,
    clock,
    logger,
    metrics,
    crashAt,
  });
  // Closers run in reverse: consumer first (no new work), then state, then clients.
  http.onShutdown(async () => {
    await admin.disconnect();
    redis.disconnect();
  });
  http.onShutdown(() => producer.disconnect());
  http.onShutdown(() => writerProducer.disconnect());
  http.onShutdown(() => stateLog.stop());
  http.onShutdown(() => consumer.stop());

  try {
    return await boot();
  } catch (err) {
    // A failed boot closes what it opened, so an in-process caller (tests, `all`) does not leak.
    await http.shutdown().catch(() => {});
    throw err;
  }

  async function boot(): Promise<RunningEnforcer> {
    const url = await http.listen(config.http.host, config.http.port);
    await stateLog.start();
    const restored = await revocations.restore();
    logger.info({ ...restored, reviews: reviews.table.size }, 'denylist restored from the revocations topic');
    ready = true;

    // A Redis wiped while we run (FLUSHALL, failover to an empty replica) or restarted from an older
    // snapshot is restored within one check.
    let checking = false;
    const guard = setInterval(async () => {
      if (checking) return;
      checking = true;
      try {
        if (!(await revocations.stillRestored())) {
          logger.warn(
            'denylist marker gone or Redis restarted (wiped, older snapshot, failover): restoring from the revocations topic',
          );
          ready = false;
          logger.info(await revocations.restore(), 'denylist restored');
          ready = true;
        }
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'denylist check failed; retrying at the next one');
      } finally {
        checking = false;
      }
    }, LIMITS.enforcerDenylistCheckIntervalMs);
    guard.unref();
    const sweep = async () => {
      try {
        const n = await revocations.sweep(
          LIMITS.enforcerRevocationKeepAfterExpiryMs,
          LIMITS.enforcerRevocationSweepBatchMax,
        );
        if (n > 0) logger.info({ tombstones: n }, 'old revocations swept from the topic');
        const decided = reviews.decidedBefore(clock.nowMs() - LIMITS.enforcerReviewKeepAfterDecisionMs);
        for (let i = 0; i < decided.length; i += LIMITS.enforcerRevocationSweepBatchMax) {
          const keys = decided.slice(i, i + LIMITS.enforcerRevocationSweepBatchMax);
          await writer.write(keys.map((key) => ({ table: reviews.table, key, value: null })));
        }
        if (decided.length > 0) logger.info({ tombstones: decided.length }, 'old decided reviews swept');
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'revocation sweep failed; retrying at the next one');
      }
    };
    await sweep();
    const sweeper = setInterval(sweep, LIMITS.enforcerRevocationSweepIntervalMs);
    sweeper.unref();
    http.onShutdown(() => {
      clearInterval(guard);
      clearInterval(sweeper);
    });

    await consumer.start();
    logger.info({ url }, 'enforcer ready');
    return { url, close: () => http.shutdown(), enforcement, restored };
  }
}

/**
 * Mounts the edge-facing APIs (decision, session admission) in the enforcer's own server, so one
 * process answers the analyst, the operator, the edge and the backend.
 */
export function mountEdgeApis(config: EnforcerConfig): (ctx: MountContext) => Promise<void> {
  return async ({ http, logger, metrics, clock, readiness, accountLive }) => {
    const parts = await createEdgeParts(config, logger, clock);
    accountLive.get = async (accountId, tenant) => ({
      plan: parts.plans.get(accountId, tenant),
      sessions: await parts.sessions.list(accountId),
    });
    for (const [name, check] of Object.entries(parts.readiness)) readiness[`edge-${name}`] = check;
    registerDecisionRoutes(http.app, { edge: parts.edge, requireRole: http.requireRole, metrics });
    registerSessionRoutes(http.app, { sessions: parts.sessions, requireRole: http.requireRole });
    http.onShutdown(parts.close);
  };
}

/** `leechguard enforcer [--config file.json]`: enforcer + decision API + session admission. */
export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: 'string' } },
    allowPositionals: false,
  });
  const config = loadConfig(enforcerConfigSchema, { file: values.config });
  refuseWeakSecrets('enforcer', config);
  const logger = createLogger('enforcer', config.log.level);
  const running = await startEnforcer(config, { logger, mount: mountEdgeApis(config) });
  process.stdout.write(`enforcer listening on ${running.url}\n`);
  exitOnSignals(() => running.close(), logger);
  await new Promise(() => {}); // runs until a signal
  return 0;
}
