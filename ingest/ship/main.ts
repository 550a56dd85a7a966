/**
 * `leechguard ship <file...|-> --format <f> (--to <http url> --key <k> | --to kafka --source <name>)
 *   [--checkpoint <path>] [--batch-lines n] [--follow] [--config ingest.json] [--no-progress]`
 */
import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { loadConfig } from '../../core/config.ts';
import { LeechguardError } from '../../core/errors.ts';
import { createLogger } from '../../core/log.ts';
import { ingestConfigSchema, SOURCE_FORMATS } from '../config.ts';
import { type Sender, type ShipProgress, ship } from './index.ts';
import { isGzipFile } from './reader.ts';
import { httpSender, kafkaSender } from './senders.ts';

const USAGE = `usage: leechguard ship <file...|-> --format <${SOURCE_FORMATS.join('|')}>
         --to <http://ingest:8090> --key <bearer key>  (or env LEECHGUARD_SHIP_KEY)
       | --to kafka --source <source name> [--config ingest.json]
       [--checkpoint <path>] [--batch-lines n] [--follow] [--no-progress]
`;

export async function main(argv: string[]): Promise<number> {
  // kafkajs prints a partitioner notice on every producer; leechguard keys records itself.
  process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      format: { type: 'string', short: 'f' },
      to: { type: 'string' },
      key: { type: 'string' },
      source: { type: 'string' },
      config: { type: 'string', short: 'c' },
      checkpoint: { type: 'string' },
      'batch-lines': { type: 'string' },
      follow: { type: 'boolean' },
      'no-progress': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals.length === 0 || !values.format || !values.to) {
    process.stdout.write(USAGE);
    return values.help ? 0 : 2;
  }
  const format = values.format;
  if (!(SOURCE_FORMATS as readonly string[]).includes(format))
    throw new LeechguardError('ING_ERR_FORMAT_UNKNOWN', format);
  const logger = createLogger('ship', process.env.LEECHGUARD_LOG_LEVEL ?? 'warn');
  let sender: Sender;
  if (values.to === 'kafka') {
    if (!values.source)
      throw new LeechguardError('LG_ERR_REQUEST_INVALID', '--to kafka needs --source <name>');
    const config = loadConfig(ingestConfigSchema, { file: values.config });
    sender = await kafkaSender(config, format, values.source, logger);
  } else {
    const key = values.key ?? process.env.LEECHGUARD_SHIP_KEY;
    if (!key) throw new LeechguardError('LG_ERR_AUTH_MISSING', 'give --key or LEECHGUARD_SHIP_KEY');
    sender = httpSender(values.to, format, key);
  }
  let stop = false;
  const onSignal = () => {
    stop = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  let progress: ShipProgress | undefined;
  if (process.stderr.isTTY && !values['no-progress']) {
    // Bytes against the total for plain files; a gzip file's inflated size is unknown up front,
    // so then the bar counts inflated bytes without a total.
    const files = positionals.filter((p) => p !== '-');
    const known = files.length > 0 && files.every((p) => !isGzipFile(p));
    const total = known ? files.reduce((n, p) => n + statSync(p).size, 0) : 0;
    const bar = new cliProgress.SingleBar(
      {
        format: known
          ? 'ship [{bar}] {percentage}% | {value}/{total} bytes | {eta_formatted} left'
          : 'ship | {value} bytes (inflated) shipped',
        stream: process.stderr,
      },
      cliProgress.Presets.shades_classic,
    );
    progress = {
      start: (resumed) => bar.start(total, known ? resumed : 0),
      bytesDone: (n) => bar.increment(n),
      stop: () => bar.stop(),
    };
  }
  try {
    const summary = await ship({
      inputs: positionals,
      format,
      sender,
      checkpointPath: values.checkpoint ?? null,
      follow: values.follow ?? false,
      stopped: () => stop,
      log: (m) => logger.warn(m),
      ...(values['batch-lines'] ? { batchLines: Number(values['batch-lines']) } : {}),
      ...(progress ? { progress } : {}),
    });
    const rate = summary.seconds > 0 ? Math.round(summary.lines / summary.seconds) : summary.lines;
    process.stderr.write(
      `shipped ${summary.lines} lines in ${summary.batches} batches: ${summary.accepted} accepted, ${summary.deadLettered} dead-lettered, ${summary.retries} retries, ${summary.seconds.toFixed(1)} s (${rate} lines/s)${stop ? ' (stopped; checkpoint saved)' : ''}\n`,
    );
    return 0;
  } finally {
    await sender.close();
  }
}
