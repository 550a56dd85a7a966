/**
 * `leechguard ingest [--config file.json] [--port n]`: runs the ingest service until SIGTERM/SIGINT.
 * `startIngest` (from ./service.ts) is re-exported for `leechguard all`.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../core/config.ts';
import { exitOnSignals } from '../core/http.ts';
import { createLogger } from '../core/log.ts';
import { refuseWeakSecrets } from '../core/secrets.ts';
import { ingestConfigSchema } from './config.ts';
import { startIngest } from './service.ts';

export { ingestConfigSchema } from './config.ts';
export { type IngestHandle, startIngest } from './service.ts';

export async function main(argv: string[]): Promise<number> {
  // kafkajs prints a partitioner notice on every producer; leechguard keys records itself.
  process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      port: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(
      'usage: leechguard ingest [--config file.json] [--port n]\n' +
        '  POST /v1/logs/{format}, /v1/heartbeats, /v1/accounts; see docs/ingest.md\n',
    );
    return 0;
  }
  const config = loadConfig(ingestConfigSchema, {
    file: values.config,
    ...(values.port ? { overrides: { http: { port: Number(values.port) } } } : {}),
  });
  refuseWeakSecrets('ingest', config);
  const logger = createLogger('ingest', config.log.level);
  const handle = await startIngest(config, { logger });
  exitOnSignals(() => handle.close(), logger);
  await new Promise(() => {});
  return 0;
}
