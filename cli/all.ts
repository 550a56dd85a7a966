/**
 * `leechguard all [--config all.json]`: ingest, detector and enforcer (with the decision and
 * session APIs) in one process, for a small site or a demo. The file has one section per service,
 * `{ "ingest": {...}, "detector": {...}, "enforcer": {...} }`, each validated by that service's own
 * schema; Kafka / registry / Redis come from the environment or the local stack as for each service.
 * This module sits above the services (they never import each other).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../core/config.ts';
import { LeechguardError } from '../core/errors.ts';
import { exitOnSignals } from '../core/http.ts';
import { createLogger, type Logger } from '../core/log.ts';
import { refuseWeakSecrets } from '../core/secrets.ts';
import { detectorConfigSchema } from '../detector/config.ts';
import { startDetector } from '../detector/main.ts';
import { enforcerConfigSchema } from '../enforcer/config.ts';
import { mountEdgeApis, startEnforcer } from '../enforcer/main.ts';
import { ingestConfigSchema } from '../ingest/config.ts';
import { startIngest } from '../ingest/service.ts';

export interface AllSections {
  ingest?: Record<string, unknown>;
  detector?: Record<string, unknown>;
  enforcer?: Record<string, unknown>;
}

export interface RunningAll {
  ingestUrl: string;
  enforcerUrl: string;
  detectorUrl: string | undefined;
  close(): Promise<void>;
}

/** Starts the three services in this process; enforcer first so no flag waits for it. */
export async function startAll(
  sections: AllSections,
  logger: Logger,
  env = process.env,
  /** `demo`: the demo and tests boot with generated or built-in keys; else weak secrets stop the boot. */
  secrets: 'refuse-weak' | 'demo' = 'demo',
): Promise<RunningAll> {
  const enforcerConfig = loadConfig(enforcerConfigSchema, { env, overrides: sections.enforcer ?? {} });
  const detectorConfig = loadConfig(detectorConfigSchema, { env, overrides: sections.detector ?? {} });
  const ingestConfig = loadConfig(ingestConfigSchema, { env, overrides: sections.ingest ?? {} });
  if (secrets === 'refuse-weak') {
    refuseWeakSecrets('enforcer', enforcerConfig, env);
    refuseWeakSecrets('detector', detectorConfig, env);
    refuseWeakSecrets('ingest', ingestConfig, env);
  }
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const fn of closers.reverse()) await fn().catch((err) => logger.warn({ err }, 'close failed'));
  };
  try {
    const enforcer = await startEnforcer(enforcerConfig, {
      logger: logger.child({ service: 'enforcer' }),
      mount: mountEdgeApis(enforcerConfig),
    });
    closers.push(() => enforcer.close());
    const detector = await startDetector(detectorConfig, { logger: logger.child({ service: 'detector' }) });
    closers.push(() => detector.close());
    const ingest = await startIngest(ingestConfig, { logger: logger.child({ service: 'ingest' }) });
    closers.push(() => ingest.close());
    return { ingestUrl: ingest.url, enforcerUrl: enforcer.url, detectorUrl: detector.url, close };
  } catch (err) {
    await close();
    throw err;
  }
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: 'string' } },
    allowPositionals: false,
  });
  let sections: AllSections = {};
  const file = values.config ?? process.env.LEECHGUARD_CONFIG;
  if (file) {
    try {
      sections = JSON.parse(readFileSync(file, 'utf8')) as AllSections;
    } catch (cause) {
      throw new LeechguardError('LG_ERR_CONFIG_FILE_UNREADABLE', `${file}: ${(cause as Error).message}`, {
        cause,
      });
    }
    const unknown = Object.keys(sections).filter((k) => !['ingest', 'detector', 'enforcer'].includes(k));
    if (unknown.length)
      throw new LeechguardError('LG_ERR_CONFIG_INVALID', `unknown section(s): ${unknown.join(', ')}`);
  }
  const logger = createLogger('all');
  const running = await startAll(sections, logger, { ...process.env, LEECHGUARD_CONFIG: '' }, 'refuse-weak');
  process.stdout.write(
    `leechguard all: ingest ${running.ingestUrl}  enforcer ${running.enforcerUrl}  detector ${running.detectorUrl ?? '-'}\n`,
  );
  exitOnSignals(() => running.close(), logger);
  await new Promise(() => {});
  return 0;
}
