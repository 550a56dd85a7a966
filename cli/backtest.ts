/**
 * `leechguard backtest`: what the detector would flag on files, without Kafka or any service.
 * With `--format`, raw CDN logs (and heartbeat / account-plan files) go through ingest's own
 * parsers, token identity and enrichment (ingest/replay), then the detector's rules with an
 * embedded store (`runBacktest`, the live topology): flags as NDJSON, a summary, a progress bar,
 * and the quality report when a truth file is given. Without `--format`, files of typed records
 * (as on the topics) go straight to the rules (detector/backtest/main.ts).
 */
import { createWriteStream, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { numberArg, parseArgsOrFail } from '../core/cli-args.ts';
import { loadConfig } from '../core/config.ts';
import { LeechguardError } from '../core/errors.ts';
import type { Anomaly } from '../core/schemas/generated.ts';
import { TokenHasher } from '../core/token-hash.ts';
import { runBacktest, summaryTable, type TopicRecord } from '../detector/backtest/index.ts';
import { main as typedMain } from '../detector/backtest/main.ts';
import { detectorConfigSchema } from '../detector/config.ts';
import { ingestConfigSchema, SOURCE_FORMATS } from '../ingest/config.ts';
import { createPipelineContext } from '../ingest/pipeline.ts';
import {
  emptyReplayStats,
  expandInputs,
  type ReplayInput,
  type ReplayStats,
  replay,
} from '../ingest/replay/index.ts';
import { createGeoResolver } from '../ingest/transforms/enrich/geo.ts';
import type { Truth } from '../simulate/model.ts';
import { buildReport } from '../simulate/report/compute.ts';
import { writeReport } from '../simulate/report/main.ts';

const USAGE = `usage: leechguard backtest --format <${SOURCE_FORMATS.join('|')}> <file|folder|glob>...
         [--heartbeats <file|folder|glob>]... [--accounts <plans.ndjson|csv>]...
         [--ingest-config ingest.json] [--source <name>] [--config detector.json]
         [--out flags.ndjson] [--truth truth.json [--report-out dir]] [--partitions 6] [--[no-]progress]
       leechguard backtest <records.ndjson>...   (typed records as on the topics; see docs/detector.md)
`;

/** Inputs at least this big get a progress bar when stderr is a terminal, bytes. */
const PROGRESS_MIN_BYTES = 8 * 1024 * 1024;

export async function main(argv: string[]): Promise<number> {
  if (!argv.some((a) => a === '--format' || a.startsWith('--format=') || a === '-f')) return typedMain(argv);
  const { values, positionals } = parseArgsOrFail(
    {
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        format: { type: 'string', short: 'f' },
        heartbeats: { type: 'string', multiple: true },
        accounts: { type: 'string', multiple: true },
        'ingest-config': { type: 'string' },
        source: { type: 'string' },
        config: { type: 'string', short: 'c' },
        out: { type: 'string', short: 'o' },
        truth: { type: 'string' },
        'report-out': { type: 'string' },
        partitions: { type: 'string' },
        progress: { type: 'boolean' },
        'no-progress': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    },
    USAGE,
  );
  if (values.help || positionals.length === 0 || !values.format) {
    (values.help ? process.stdout : process.stderr).write(USAGE);
    return values.help ? 0 : 2;
  }
  const format = values.format;
  if (!(SOURCE_FORMATS as readonly string[]).includes(format))
    throw new LeechguardError('ING_ERR_FORMAT_UNKNOWN', `${format}; one of ${SOURCE_FORMATS.join(', ')}`);
  // No endpoints are used: only tokens, enrichment, sources, rules and plans matter.
  const ingest = loadConfig(ingestConfigSchema, { file: values['ingest-config'], env: {} });
  const detector = loadConfig(detectorConfigSchema, { file: values.config, env: {} });
  const inputs: ReplayInput[] = [{ format, files: expandInputs(positionals) }];
  if (values.heartbeats?.length) inputs.push({ format: 'heartbeat', files: expandInputs(values.heartbeats) });
  if (values.accounts?.length) inputs.unshift({ format: 'accounts', files: expandInputs(values.accounts) });
  // The one configured source of this format, unless named.
  const ofFormat = ingest.sources.filter((s) => s.format === format);
  const sourceName = values.source ?? (ofFormat.length === 1 ? ofFormat[0]!.name : 'backtest');
  const ctx = createPipelineContext(
    ingest.enrich,
    new TokenHasher(ingest.tokenHashing),
    createGeoResolver(ingest.enrich.geo),
    ingest.limits.lineBytesMax,
  );

  const bytes = inputs.flatMap((i) => i.files).reduce((n, f) => n + statSync(f).size, 0);
  const showProgress =
    values.progress === true ||
    (values['no-progress'] !== true && process.stderr.isTTY === true && bytes >= PROGRESS_MIN_BYTES);
  const bar = showProgress
    ? new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format:
            'backtest [{bar}] {percentage}% | {value}/{total} bytes | {records} records | {flags} flags | {eta}s',
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  let done = 0;
  let flagCount = 0;
  const stats: ReplayStats = emptyReplayStats();
  bar?.start(bytes, 0, { records: 0, flags: 0 });
  const out = values.out ? createWriteStream(values.out) : process.stdout;
  const flags: Anomaly[] = [];
  const records = replay(
    inputs,
    {
      config: ingest,
      ctx,
      sourceName,
      onBytes: (n) => {
        done += n;
        bar?.update(done, { records: stats.records, flags: flagCount });
      },
    },
    stats,
  );
  const result = await runBacktest(records as AsyncIterable<TopicRecord>, {
    config: detector,
    collect: false,
    ...(values.partitions
      ? { partitions: numberArg(values.partitions, '--partitions', { positive: true }) }
      : {}),
    onFlag: (flag) => {
      flagCount++;
      if (values.truth) flags.push(flag);
      out.write(`${JSON.stringify(flag)}\n`);
    },
  });
  bar?.update(bytes, { records: stats.records, flags: flagCount });
  bar?.stop();
  if (out !== process.stdout) await new Promise<void>((r) => (out as NodeJS.WritableStream).end(r));
  const codes = Object.entries(stats.deadLetterCodes)
    .map(([c, n]) => `${c} ${n}`)
    .join(', ');
  process.stderr.write(
    `${stats.lines} lines -> ${stats.records} records, ${stats.deadLetters} dead letters${codes ? ` (${codes})` : ''}; source ${sourceName}\n` +
      stats.deadLetterSamples
        .slice(0, 5)
        .map((s) => `  ${s}\n`)
        .join('') +
      `${summaryTable(result.summary)}\n`,
  );
  if (values.truth) {
    const truth = JSON.parse(readFileSync(values.truth, 'utf8')) as Truth;
    const report = buildReport(truth, flags, []);
    const reportOut = values['report-out'] ?? 'backtest-report';
    writeReport(report, reportOut, `leechguard backtest ${argv.join(' ')}`);
    const o = report.overall;
    const pct = (v: number | null) => (v === null ? '-' : `${(v * 100).toFixed(2)} %`);
    process.stderr.write(
      `precision ${pct(o.precision)}  recall ${pct(o.recall)}  FP rate ${pct(o.falsePositiveRate)}  ` +
        `(${o.falsePositives} legitimate flagged, ${o.falseNegatives} abusers missed)\n` +
        `${report.shortfalls.map((s) => `! ${s}\n`).join('')}report: ${join(reportOut, 'report.md')}\n`,
    );
  }
  return 0;
}
