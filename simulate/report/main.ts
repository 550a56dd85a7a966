/**
 * `leechguard report --truth truth.json --flags flags.ndjson [--revocations revs.ndjson] --out dir`:
 * detection quality against a simulation's truth, as report.md + report.json + SVG charts.
 */
import { createReadStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgsOrFail } from '../../core/cli-args.ts';
import { LeechguardError } from '../../core/errors.ts';
import type { Anomaly, Revocation } from '../../core/schemas/generated.ts';
import { RULE_SIGNALS } from '../../detector/rules/index.ts';
import type { Truth } from '../model.ts';
import { buildReport, type QualityReport } from './compute.ts';
import { CHART_FILES, classRuleMatrixSvg, latencySvg, precisionRecallSvg, renderMarkdown } from './render.ts';

const USAGE = `usage: leechguard report --truth truth.json --flags flags.ndjson [--revocations revs.ndjson] [--out dir] [--title T]
`;

/** Reads NDJSON records (blank lines skipped); a bad line is an error naming its line number. */
export async function readNdjson<T>(path: string): Promise<T[]> {
  const out: T[] = [];
  const rl = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Number.POSITIVE_INFINITY });
  let n = 0;
  for await (const line of rl) {
    n++;
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch (cause) {
      throw new LeechguardError('LG_ERR_REQUEST_INVALID', `${path}:${n}: not JSON`, { cause });
    }
  }
  return out;
}

/** Writes report.md, report.json and the charts into outDir. */
export function writeReport(report: QualityReport, outDir: string, title?: string): string {
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, CHART_FILES.precisionRecall), precisionRecallSvg(report));
  writeFileSync(join(outDir, CHART_FILES.latency), latencySvg(report));
  writeFileSync(join(outDir, CHART_FILES.matrix), classRuleMatrixSvg(report));
  writeFileSync(join(outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  const md = renderMarkdown(report, title);
  writeFileSync(join(outDir, 'report.md'), md);
  return md;
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgsOrFail({
    args: argv,
    strict: true,
    options: {
      truth: { type: 'string' },
      flags: { type: 'string' },
      revocations: { type: 'string' },
      out: { type: 'string', default: 'report' },
      title: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!values.truth || !values.flags) {
    process.stderr.write(USAGE);
    return 2;
  }
  const truth = JSON.parse(readFileSync(values.truth, 'utf8')) as Truth;
  const flags = await readNdjson<Anomaly>(values.flags);
  const revocations = values.revocations ? await readNdjson<Revocation>(values.revocations) : [];
  const report = buildReport(truth, flags, revocations, { ruleSignals: RULE_SIGNALS, tenants: {} });
  writeReport(report, values.out, values.title);
  const o = report.overall;
  const f = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(2)}%`);
  process.stdout.write(
    `report: precision ${f(o.precision)}, recall ${f(o.recall)}, FPR ${f(o.falsePositiveRate)}; ` +
      `${report.shortfalls.length} shortfall(s) -> ${join(values.out, 'report.md')}\n`,
  );
  return 0;
}
