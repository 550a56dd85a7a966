/**
 * `leechguard simulate`: generates seeded, reproducible traffic with ground truth, to files in
 * every CDN format (default) or live to ingest's HTTP endpoints (`--live`).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { numberArg, parseArgsOrFail } from '../core/cli-args.ts';
import { LeechguardError } from '../core/errors.ts';
import { DEPLOYMENT_FLAGS, DEPLOYMENT_USAGE, deploymentOptions } from './cli-options.ts';
import type { SimulationOptions } from './config.ts';
import { createSimulation } from './engine.ts';
import { measureSignals, signalTable } from './signals.ts';
import { writeSimulationFiles } from './sinks/files.ts';
import { playLive } from './sinks/http.ts';

const USAGE = `usage: leechguard simulate [options]

  --seed S               seed of every random draw (default leechguard)
  --viewers N            accounts to simulate (default 20000)
  --abusers F            share of abusive accounts, 0..1 (default 0.01)
  --duration-min M       simulated span, minutes (default 60)
  --start T              simulated start: ISO time or epoch ms (default 2026-06-14T19:00:00Z; --live: now)
  --session-minutes A,B  legitimate session length range, minutes (default 0.75,2)
  --resale-clients A,B   pirate players per resold token (default 100,200)
  --classes A,B,...      only these classes (e.g. household,token-resale); default all
  --out DIR              output folder (default sim-out)
  --gzip                 write the logs, heartbeats and accounts gzipped (.gz; ~8x smaller)
  --signals              also measure each class's detector signals (min–max) into DIR/signals.md
${DEPLOYMENT_USAGE}
live mode (posts to ingest instead of writing files):
  --live --ingest-url URL --api-key K
  --cdn-only-api-key K2  with --heartbeats some: the key of the CDN-only tenant's log source
  --speed X              simulated seconds per wall second (default 1)
  --rate N               most events per wall second (default 20000)
  --batch-lines N        lines per HTTP request (default 2000)
  --max-wall-s S         stop after S wall seconds (default 600)
`;

function pair(text: string, name: string): [number, number] {
  const parts = text.split(',').map(Number);
  if (parts.length !== 2 || parts.some((n) => !Number.isFinite(n))) {
    throw new LeechguardError('LG_ERR_REQUEST_INVALID', `${name} wants two numbers A,B, got ${text}`);
  }
  return [parts[0] as number, parts[1] as number];
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
      start: { type: 'string' },
      'session-minutes': { type: 'string' },
      'resale-clients': { type: 'string' },
      classes: { type: 'string' },
      out: { type: 'string', default: 'sim-out' },
      signals: { type: 'boolean', default: false },
      ...DEPLOYMENT_FLAGS,
      gzip: { type: 'boolean', default: false },
      live: { type: 'boolean', default: false },
      'ingest-url': { type: 'string' },
      'api-key': { type: 'string' },
      'cdn-only-api-key': { type: 'string' },
      speed: { type: 'string', default: '1' },
      rate: { type: 'string', default: '20000' },
      'batch-lines': { type: 'string', default: '2000' },
      'max-wall-s': { type: 'string', default: '600' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const options: SimulationOptions = { ...deploymentOptions(values) };
  if (values.seed !== undefined) options.seed = values.seed;
  if (values.viewers !== undefined) options.viewers = numberArg(values.viewers, '--viewers');
  if (values.abusers !== undefined) options.abuserFraction = numberArg(values.abusers, '--abusers');
  if (values['duration-min'] !== undefined)
    options.durationMs = Math.round(numberArg(values['duration-min'], '--duration-min') * 60_000);
  if (values['session-minutes'] !== undefined)
    options.sessionMinutes = pair(values['session-minutes'], '--session-minutes');
  if (values['resale-clients'] !== undefined)
    options.resaleClients = pair(values['resale-clients'], '--resale-clients');
  if (values.classes !== undefined) {
    options.classes = values.classes.split(',').map((c) => c.trim()) as NonNullable<
      SimulationOptions['classes']
    >;
  }
  if (values.start !== undefined) {
    const t = /^\d+$/.test(values.start) ? Number(values.start) : Date.parse(values.start);
    if (!Number.isFinite(t))
      throw new LeechguardError('LG_ERR_REQUEST_INVALID', `--start: cannot read ${values.start}`);
    options.startMs = t;
  } else if (values.live) {
    options.startMs = Math.floor(Date.now() / 1000) * 1000;
  }

  const t0 = performance.now();
  const sim = await createSimulation(options);
  const built = performance.now();
  const { viewers, abusers } = sim.truth;

  if (values.live) {
    const ingestUrl = values['ingest-url'];
    const apiKey = values['api-key'];
    if (!ingestUrl || !apiKey)
      throw new LeechguardError('LG_ERR_REQUEST_INVALID', '--live needs --ingest-url and --api-key');
    const controller = new AbortController();
    const onSignal = () => controller.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      process.stderr.write(`simulate: ${viewers} viewers (${abusers} abusers), live to ${ingestUrl}\n`);
      const stats = await playLive(sim, {
        ingestUrl,
        apiKey,
        ...(values['cdn-only-api-key']
          ? { tenantApiKeys: { [sim.config.cdnOnlyTenant]: values['cdn-only-api-key'] } }
          : {}),
        speed: numberArg(values.speed, '--speed'),
        rateMax: numberArg(values.rate, '--rate'),
        batchLinesMax: numberArg(values['batch-lines'], '--batch-lines'),
        flushIntervalMs: 250,
        inFlightMax: 4,
        retriesMax: 8,
        wallMsMax: numberArg(values['max-wall-s'], '--max-wall-s') * 1000,
        signal: controller.signal,
        onProgress: (s) =>
          process.stderr.write(
            `\rsent ${Object.values(s.sentLines).reduce((a, b) => a + b, 0)} lines in ${s.requests} requests, lag ${Math.round(s.lagMs)} ms   `,
          ),
      });
      process.stdout.write(`\n${JSON.stringify(stats)}\n`);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    return 0;
  }

  const summary = writeSimulationFiles(sim, values.out, { gzip: values.gzip });
  const secs = (performance.now() - t0) / 1000;
  process.stdout.write(
    `simulate: ${viewers} viewers (${abusers} abusers), ${summary.requests} requests, ${summary.heartbeats} heartbeats ` +
      `in ${secs.toFixed(1)} s (build ${((built - t0) / 1000).toFixed(1)} s) -> ${values.out}/\n`,
  );
  const classes = Object.entries(sim.truth.classCounts)
    .sort((a, b) => b[1] - a[1])
    .map(([c, n]) => `${c} ${n}`)
    .join(', ');
  process.stdout.write(`  classes: ${classes}\n`);
  for (const [name, f] of Object.entries(summary.files)) {
    process.stdout.write(
      `  ${name.padEnd(20)} ${String(f.lines).padStart(9)} lines  ${(f.bytes / 1e6).toFixed(1).padStart(7)} MB  ${f.path}\n`,
    );
  }
  if (values.signals) {
    const table = signalTable(sim.truth, measureSignals(sim.events()));
    writeFileSync(join(values.out, 'signals.md'), table);
    process.stdout.write(`\nsignals per class (min–max):\n${table}`);
  }
  return 0;
}
