/**
 * `leechguard quality`: the detection-quality report of a simulation, without Kafka. The simulated
 * events are formatted as each CDN writes them, parsed and enriched by ingest's own parsers and
 * pipeline (token verification with the simulator's keys, bundled geo / ASN databases), run through
 * the detector's rules (`runBacktest`, same topology as the service) and scored against the truth
 * (`buildReport`). Revocations are not part of this path: the live demo measures them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { numberArg, parseArgsOrFail } from '../core/cli-args.ts';
import { LeechguardError } from '../core/errors.ts';
import type { AccountPlan, Anomaly, CdnRequest, PlayerHeartbeat } from '../core/schemas/generated.ts';
import { TokenHasher } from '../core/token-hash.ts';
import { TOPICS } from '../core/topics.ts';
import {
  type BacktestResult,
  runBacktest,
  summaryTable,
  type TopicRecord,
} from '../detector/backtest/index.ts';
import { RULE_SIGNALS } from '../detector/rules/index.ts';
import { ingestConfigSchema } from '../ingest/config.ts';
import {
  buildCdnRequests,
  buildHeartbeats,
  createPipelineContext,
  type PipelineContext,
} from '../ingest/pipeline.ts';
import { type LogFormat, parseBatch, parseHeartbeats } from '../ingest/sources/index.ts';
import { createGeoResolver } from '../ingest/transforms/enrich/geo.ts';
import { tokenSection } from '../ingest/transforms/token/config.ts';
import { DEPLOYMENT_FLAGS, deploymentOptions } from '../simulate/cli-options.ts';
import { FROZEN_SEED } from '../simulate/frozen.ts';
import {
  buildReport,
  type CdnFormat,
  CLOUDFRONT_REALTIME_FIELDS,
  createSimulation,
  formatHeartbeat,
  formatPreamble,
  type QualityReport,
  requestFormatters,
  type Simulation,
  type SimulationOptions,
  writeReport,
} from '../simulate/index.ts';
import { simulatorTokenConfig } from './demo/harness.ts';

/** Events parsed per chunk; records of a chunk are time-sorted before the rules see them. */
const CHUNK_EVENTS = 5_000;

export interface ParseStats {
  lines: number;
  deadLetters: number;
  deadLetterCodes: Record<string, number>;
}

/** The simulation's events as ingest would produce them on its topics, in time order per chunk. */
export function* ingestRecords(sim: Simulation, stats: ParseStats): Generator<TopicRecord> {
  const ingest = ingestConfigSchema.parse({});
  const token = tokenSection.parse(simulatorTokenConfig(sim.config));
  const ctx: PipelineContext = createPipelineContext(
    ingest.enrich,
    new TokenHasher(sim.config.tokenHashing),
    createGeoResolver(ingest.enrich.geo),
  );
  const fmt = requestFormatters();
  let lines = new Map<string, string[]>();
  let plans: AccountPlan[] = [];
  let n = 0;
  let lastMs = 0;
  const flush = function* (): Generator<TopicRecord> {
    const out: Array<{ t: number; r: TopicRecord }> = [];
    for (const p of plans)
      out.push({ t: -1, r: { topic: TOPICS.accounts.name, key: p.accountId, value: p } });
    // One batch per (tenant, endpoint): a tenant is the log source's, as ingest's source config says.
    for (const [batchKey, batch] of lines) {
      const [tenant, endpoint] = batchKey.split('\t') as [string, string];
      stats.lines += batch.length;
      const meta = { batchId: `sim-${tenant}-${endpoint}-${n}`, receivedAtMs: lastMs };
      const source = { name: 'simulator', format: endpoint, tenant, token };
      const built =
        endpoint === 'heartbeats'
          ? buildHeartbeats(parseHeartbeats(batch.join('\n')), source, meta, ctx)
          : buildCdnRequests(
              parseBatch(endpoint as LogFormat, formatPreamble(endpoint as CdnFormat) + batch.join('\n'), {
                fields: endpoint === 'cloudfront-realtime' ? CLOUDFRONT_REALTIME_FIELDS : undefined,
              }),
              source,
              meta,
              ctx,
            );
      for (const d of built.deadLetters) {
        stats.deadLetters++;
        const k = `${endpoint} ${d.value.errorCode}: ${d.value.reason.slice(0, 80)}`;
        stats.deadLetterCodes[k] = (stats.deadLetterCodes[k] ?? 0) + 1;
      }
      const topic = endpoint === 'heartbeats' ? TOPICS.heartbeats.name : TOPICS.requests.name;
      for (const rec of built.records) {
        const v = rec.value as CdnRequest | PlayerHeartbeat;
        out.push({ t: v.timestampMs, r: { topic, key: rec.key, value: v } });
      }
    }
    out.sort((a, b) => a.t - b.t);
    for (const o of out) yield o.r;
    lines = new Map();
    plans = [];
  };
  for (const e of sim.events()) {
    lastMs = e.timestampMs;
    if (e.type === 'account') plans.push(e.plan);
    else {
      const endpoint = e.type === 'request' ? e.request.cdn : 'heartbeats';
      const tenant = e.type === 'request' ? e.request.tenant : e.heartbeat.tenant;
      const line = e.type === 'request' ? fmt[e.request.cdn](e.request) : formatHeartbeat(e.heartbeat);
      const batchKey = `${tenant}\t${endpoint}`;
      const list = lines.get(batchKey) ?? [];
      list.push(line.replace(/\n$/, ''));
      lines.set(batchKey, list);
    }
    if (++n % CHUNK_EVENTS === 0) yield* flush();
  }
  yield* flush();
}

export interface QualityRun {
  report: QualityReport;
  stats: ParseStats;
  result: BacktestResult;
  flags: Anomaly[];
}

/**
 * One quality run in process: the simulation through ingest's parsers and enrichment and the
 * detector's rules, scored against the truth with what each rule could see per tenant.
 */
export async function runQuality(
  options: SimulationOptions,
  detectorConfig: unknown = {},
): Promise<QualityRun> {
  const sim = await createSimulation(options);
  const stats: ParseStats = { lines: 0, deadLetters: 0, deadLetterCodes: {} };
  const flags: Anomaly[] = [];
  const result = await runBacktest(ingestRecords(sim, stats), {
    config: detectorConfig,
    collect: false,
    onFlag: (f) => flags.push(f),
  });
  const report = buildReport(sim.truth, flags, [], {
    ruleSignals: RULE_SIGNALS,
    tenants: result.summary.signals,
  });
  return { report, stats, result, flags };
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgsOrFail({
    args: argv,
    strict: true,
    options: {
      seed: { type: 'string' },
      viewers: { type: 'string' },
      abusers: { type: 'string' },
      'duration-min': { type: 'string' },
      out: { type: 'string' },
      'detector-config': { type: 'string' },
      frozen: { type: 'boolean' },
      ...DEPLOYMENT_FLAGS,
    },
  });
  if (values.frozen && values.seed !== undefined)
    throw new LeechguardError('LG_ERR_REQUEST_INVALID', '--frozen runs the frozen seed: leave out --seed');
  const options = {
    ...deploymentOptions(values),
    seed: values.frozen ? FROZEN_SEED : (values.seed ?? 'leechguard'),
    viewers:
      values.viewers === undefined ? 20_000 : numberArg(values.viewers, '--viewers', { positive: true }),
    abuserFraction: values.abusers === undefined ? 0.01 : numberArg(values.abusers, '--abusers'),
    durationMs: Math.round(
      (values['duration-min'] === undefined
        ? 20
        : numberArg(values['duration-min'], '--duration-min', { positive: true })) * 60_000,
    ),
  };
  const outDir = values.out ?? 'quality-out';
  const detectorConfig = values['detector-config']
    ? JSON.parse(
        await import('node:fs').then((fs) => fs.readFileSync(values['detector-config'] as string, 'utf8')),
      )
    : {};
  const t0 = Date.now();
  const { report, stats, result } = await runQuality(options, detectorConfig);
  mkdirSync(outDir, { recursive: true });
  const command = `leechguard quality ${argv.join(' ')}`.trim();
  writeReport(report, outDir, `leechguard quality: ${command}`);
  const wallS = (Date.now() - t0) / 1000;
  writeFileSync(
    join(outDir, 'run.json'),
    `${JSON.stringify({ command, options, wallS, parse: stats, backtest: result.summary }, null, 2)}\n`,
  );
  process.stderr.write(`${summaryTable(result.summary)}\n`);
  const o = report.overall;
  const pctOf = (v: number | null) => (v === null ? '-' : `${(v * 100).toFixed(2)} %`);
  process.stdout.write(
    `${command}: ${stats.lines} lines (${stats.deadLetters} dead letters ${JSON.stringify(stats.deadLetterCodes)}), ${wallS.toFixed(1)} s\n` +
      `precision ${pctOf(o.precision)}  recall ${pctOf(o.recall)}  FP rate ${pctOf(o.falsePositiveRate)}  ` +
      `(${o.falsePositives} legitimate flagged, ${o.falseNegatives} abusers missed); time to flag p50 ${o.timeToFlag.p50Ms} ms p99 ${o.timeToFlag.p99Ms} ms\n` +
      `${report.shortfalls.map((s) => `! ${s}`).join('\n')}\nreport: ${join(outDir, 'report.md')}\n`,
  );
  return 0;
}
