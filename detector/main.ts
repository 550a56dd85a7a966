/**
 * `leechguard detector`: the windowed rules over Kafka, state in RocksDB, flags to the anomalies
 * topic, `/healthz` `/readyz` `/metrics` on its HTTP port. `startDetector(config)` is the same
 * service for `leechguard all` and for tests.
 */
import { parseArgs } from 'node:util';
import { type Clock, systemClock } from '../core/clock.ts';
import { loadConfig } from '../core/config.ts';
import { createHttpService, exitOnSignals } from '../core/http.ts';
import { createKafka, ensureTopics, probeKafka } from '../core/kafka.ts';
import { createLogger, type Logger } from '../core/log.ts';
import { createMetricsRegistry } from '../core/metrics.ts';
import { refuseWeakSecrets } from '../core/secrets.ts';
import { AvroSerde } from '../core/serde.ts';
import { TOPICS } from '../core/topics.ts';
import { type DetectorConfig, detectorConfigSchema } from './config.ts';
import { RocksStore } from './engine/rocks-store.ts';
import { registerDetectorMetrics } from './metrics.ts';
import { DetectorRunner } from './runner.ts';

export interface DetectorService {
  runner: DetectorRunner;
  /** Base URL of the HTTP endpoints (none when `http: false`). */
  url: string | undefined;
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  clock?: Clock;
  /** Serve /healthz /readyz /metrics (default true). */
  http?: boolean;
  /** Also told the delay from each flag's triggering append to the flag's append, ms (benchmarks). */
  onFlagDelay?: (delayMs: number) => void;
  /** A flag could not be produced (default: exit 1, so a restart replays from the last flush). */
  onFatal?: (err: unknown) => void;
}

/** Starts the detector: RocksDB, Kafka consumer + producer, HTTP. `close()` flushes and stops. */
export async function startDetector(
  config: DetectorConfig,
  options: StartOptions = {},
): Promise<DetectorService> {
  const logger = options.logger ?? createLogger('detector', config.log.level);
  const clock = options.clock ?? systemClock;
  const kafka = createKafka(config.kafka, logger);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, config.kafka.replicationFactor);
  const serde = new AvroSerde(config.registry);
  await serde.registerAll([
    TOPICS.requests.name,
    TOPICS.heartbeats.name,
    TOPICS.accounts.name,
    TOPICS.anomalies.name,
  ]);
  const store = await RocksStore.open(config.detector.stateDir, { sync: config.detector.syncWrites });
  const metrics = createMetricsRegistry('detector');
  let flagDelayObserve: ((s: number) => void) | undefined;
  const runner = new DetectorRunner({
    config,
    kafka,
    serde,
    store,
    logger,
    clock,
    hooks: {
      onFlagDelay: (ms) => {
        flagDelayObserve?.(ms / 1000);
        options.onFlagDelay?.(ms);
      },
      onFatal:
        options.onFatal ??
        (() => {
          process.exitCode = 1;
          setImmediate(() => process.exit(1));
        }),
    },
  });
  const m = registerDetectorMetrics(metrics, runner, store);
  flagDelayObserve = (s) => m.flagDelay.observe(s);
  let http: ReturnType<typeof createHttpService> | undefined;
  let url: string | undefined;
  if (options.http !== false) {
    http = createHttpService({
      name: 'detector',
      logger,
      metrics,
      apiKeys: config.http.apiKeys,
      readiness: { kafka: () => probeKafka(admin), registry: () => serde.probe() },
      readinessDetails: () => ({ signals: runner.topology.signalsReport() }),
      http: config.http,
    });
    url = await http.listen(config.http.host, config.http.port);
  }
  await runner.start();
  logger.info(
    { url, groupId: config.detector.groupId, stateDir: config.detector.stateDir },
    'detector started',
  );
  let closing: Promise<void> | undefined;
  return {
    runner,
    url,
    close() {
      closing ??= (async () => {
        await http?.shutdown();
        await runner.close();
        await store.close();
        await admin.disconnect();
      })();
      return closing;
    },
  };
}

/** CLI entry: `leechguard detector [--config file.json]`. Runs until SIGTERM / SIGINT. */
export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(
      'usage: leechguard detector [--config file.json]\n\nConfig keys: see docs/detector.md (LEECHGUARD_CFG__detector__stateDir=... also works).\n',
    );
    return 0;
  }
  const config = loadConfig(detectorConfigSchema, { file: values.config });
  refuseWeakSecrets('detector', config);
  const logger = createLogger('detector', config.log.level);
  const service = await startDetector(config, { logger });
  exitOnSignals(() => service.close(), logger);
  await new Promise(() => {});
  return 0;
}
