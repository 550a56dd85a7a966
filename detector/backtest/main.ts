/**
 * `leechguard backtest <file.ndjson>... [--config c.json] [--out flags.ndjson] [--partitions 6]
 * [--progress|--no-progress]`: flags as NDJSON on stdout (or --out), the summary table on stderr,
 * a progress bar on stderr for big files.
 */
import { createWriteStream } from 'node:fs';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { loadConfig } from '../../core/config.ts';
import { detectorConfigSchema } from '../config.ts';
import { readNdjsonFiles, runBacktest, summaryTable, totalBytes } from './index.ts';

/** Files at least this big get a progress bar when stderr is a terminal, bytes. */
const PROGRESS_MIN_BYTES = 8 * 1024 * 1024;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      out: { type: 'string', short: 'o' },
      partitions: { type: 'string' },
      progress: { type: 'boolean' },
      'no-progress': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals.length === 0) {
    process.stdout.write(
      'usage: leechguard backtest <file.ndjson>... [--config c.json] [--out flags.ndjson] [--partitions 6] [--[no-]progress]\n',
    );
    return values.help ? 0 : 2;
  }
  // Backtest needs no endpoints: only the rules, tenants, plans and detector sections matter.
  const config = loadConfig(detectorConfigSchema, { file: values.config, env: {} });
  const bytes = totalBytes(positionals);
  const showProgress =
    values.progress === true ||
    (values['no-progress'] !== true && process.stderr.isTTY && bytes >= PROGRESS_MIN_BYTES);
  const bar = showProgress
    ? new cliProgress.SingleBar(
        { stream: process.stderr, format: 'backtest [{bar}] {percentage}% | {value}/{total} bytes | {eta}s' },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  bar?.start(bytes, 0);
  let done = 0;
  const out = values.out ? createWriteStream(values.out) : process.stdout;
  const result = await runBacktest(
    readNdjsonFiles(positionals, (n) => {
      done += n;
      bar?.update(done);
    }),
    {
      config,
      collect: false,
      ...(values.partitions ? { partitions: Number(values.partitions) } : {}),
      onFlag: (flag) => {
        out.write(`${JSON.stringify(flag)}\n`);
      },
    },
  );
  bar?.stop();
  if (out !== process.stdout)
    await new Promise<void>((resolve) => (out as NodeJS.WritableStream).end(resolve));
  process.stderr.write(`${summaryTable(result.summary)}\n`);
  return 0;
}
