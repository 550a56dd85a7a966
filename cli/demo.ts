/**
 * `leechguard demo`: the local stack, the three services in this process, a few minutes of
 * simulated live traffic (households, commuters, travellers... and pirates) played to ingest over
 * HTTP, then what the pipeline did with it: flags by rule, revocations, reviews waiting,
 * would-have counts, precision / recall against the simulator's truth, latencies, and the URLs to
 * look at. Ctrl-C (or `--exit`) closes everything, and stops the stack if the demo started it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { numberArg, parseArgsOrFail } from '../core/cli-args.ts';
import { PROJECT_ROOT } from '../core/endpoints.ts';
import { LeechguardError } from '../core/errors.ts';
import { createLogger } from '../core/log.ts';
import type { Anomaly, Revocation } from '../core/schemas/generated.ts';
import { readState, stackDown, stackStatus, stackUp } from '../core/stack/index.ts';
import { RULE_SIGNALS } from '../detector/rules/index.ts';
import { DEPLOYMENT_FLAGS, deploymentOptions } from '../simulate/cli-options.ts';
import { buildReport, createSimulation, playLive, writeReport } from '../simulate/index.ts';
import { type RunningAll, startAll } from './all.ts';
import {
  DEMO_POLICIES,
  demoKeys,
  demoSections,
  endpointsFor,
  latencies,
  pct,
  RunCollector,
  reviewsOf,
  type TimeMap,
  wallToSim,
  wouldHaveOf,
} from './demo/harness.ts';

const USAGE = `usage: leechguard demo [options]

  --seed S          simulation seed (default: a new one per run, printed)
  --viewers N       accounts simulated (default 3000)
  --abusers F       share of abusers (default 0.02)
  --duration-min M  simulated span, minutes (default 6)
  --speed X         simulated seconds per wall second (default 2.5)
  --flush-ms N      live sink: a partial batch waits at most this long (default 250)
  --any-ports       let the OS pick the HTTP ports (default: ingest 8090, enforcer 8083, detector 9102)
  --exit            stop after the summary (default: keep the services up until Ctrl-C)
  --heartbeats S    all (default) or none: the tenant sends CDN logs only
  --heartbeat-delay-ms N  heartbeats arrive N ms after the CDN lines of the same moment (default 0)
`;

/** A positive numeric flag, or its default when absent. */
function num(v: string | undefined, name: string, dflt: number): number {
  return v === undefined ? dflt : numberArg(v, `--${name}`, { positive: true });
}

const fmtMs = (v: number | null) =>
  v === null ? '-' : v < 10_000 ? `${Math.round(v)} ms` : `${(v / 1000).toFixed(1)} s`;
const fmtPct = (v: number | null) => (v === null ? '-' : `${(v * 100).toFixed(2)} %`);

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgsOrFail(
    {
      args: argv,
      strict: true,
      options: {
        seed: { type: 'string' },
        viewers: { type: 'string' },
        abusers: { type: 'string' },
        'duration-min': { type: 'string' },
        speed: { type: 'string' },
        'flush-ms': { type: 'string' },
        'any-ports': { type: 'boolean' },
        exit: { type: 'boolean' },
        ...DEPLOYMENT_FLAGS,
        help: { type: 'boolean', short: 'h' },
      },
    },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const runId = `${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}-${process.pid}`;
  const runDir = resolve(PROJECT_ROOT, '.leechguard', `demo-${runId}`);
  mkdirSync(runDir, { recursive: true });
  const seed = values.seed ?? `demo-${runId}`;
  const viewers = Math.round(num(values.viewers, 'viewers', 3000));
  const abuserFraction = num(values.abusers, 'abusers', 0.02);
  const durationMs = Math.round(num(values['duration-min'], 'duration-min', 6) * 60_000);
  const speed = num(values.speed, 'speed', 2.5);
  const flushMs = Math.round(num(values['flush-ms'], 'flush-ms', 250));
  const deployment = deploymentOptions(values);
  // The demo's ingest has one key, so one tenant: a second, CDN-only tenant needs its own source.
  if (deployment.heartbeats === 'some')
    throw new LeechguardError('LG_ERR_REQUEST_INVALID', 'demo: --heartbeats wants all or none');

  const abort = new AbortController();
  const cleanups: Array<() => Promise<unknown>> = [];
  let closing: Promise<void> | undefined;
  const closeAll = () => {
    closing ??= (async () => {
      for (const fn of cleanups.reverse()) await fn().catch(() => {});
    })();
    return closing;
  };
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    out('\nstopping: closing the services…');
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    // 1. The local stack (unless the environment names a cluster).
    const external = Boolean(process.env.LEECHGUARD_KAFKA_BROKERS);
    if (!external) {
      const before = readState();
      const wasUp = before !== undefined && (await stackStatus()).every((h) => h.healthy);
      out(
        wasUp
          ? 'stack: already up (left running afterwards)'
          : 'stack: starting Kafka, schema registry and Redis…',
      );
      const up = await stackUp();
      if (!wasUp) {
        out(`stack: up in ${up.seconds.toFixed(1)} s (stopped again when the demo ends)`);
        cleanups.push(async () => {
          out('stack: stopping');
          await stackDown();
        });
      }
    }
    if (abort.signal.aborted) return 130;

    // 2. The simulation: its events end about now, so they never run ahead of the wall clock.
    const sim = await createSimulation({
      ...deployment,
      seed,
      viewers,
      abuserFraction,
      durationMs,
      // Own account ids per run: the shared topics / Redis may hold earlier runs' plans and revocations.
      accountPrefix: `d${runId.slice(9)}-`,
      startMs: Math.round(Date.now() - durationMs + durationMs / speed),
    });
    const abusers = sim.truth.accounts.filter((a) => a.label === 'abuser').length;
    out(
      `simulation: seed ${seed}, ${viewers} viewers (${abusers} abusers), ${durationMs / 60_000} simulated min at ${speed}x`,
    );

    // 3. The services.
    const keys = demoKeys();
    const logger = createLogger('demo', 'warn');
    const sections = demoSections({
      runId,
      stateDir: runDir,
      keys,
      sim: sim.config,
      policies: DEMO_POLICIES,
      ports: values['any-ports'] ? { ingest: 0, enforcer: 0, detector: 0 } : undefined,
      allowedLatenessMs: durationMs + 5 * 60_000,
    });
    writeFileSync(
      join(runDir, 'config.json'),
      `${JSON.stringify({ ...sections, keys: '(not written)' }, null, 2)}\n`,
    );
    const env = { ...process.env, LEECHGUARD_CONFIG: '' };
    const ends = endpointsFor(env);
    const collector = new RunCollector(sim.truth, { ...ends, logger, runId });
    await collector.start();
    cleanups.push(() => collector.close());
    const running: RunningAll = await startAll(sections, logger, env);
    cleanups.push(() => running.close());
    out(
      `services: ingest ${running.ingestUrl}  enforcer ${running.enforcerUrl}  detector ${running.detectorUrl ?? '-'}`,
    );
    if (abort.signal.aborted) return 130;

    // 4. Play it live.
    // As the live sink does: at 1x with a start within a minute of now, event time IS wall time.
    const anchored = speed === 1 && Math.abs(sim.config.startMs - Date.now()) < 60_000;
    const map: TimeMap = {
      simStartMs: sim.config.startMs,
      wallStartMs: anchored ? sim.config.startMs : Date.now(),
      speed,
    };
    let lastPrint = 0;
    const stats = await playLive(sim, {
      ingestUrl: running.ingestUrl,
      apiKey: keys.ingest,
      speed,
      rateMax: 20_000,
      batchLinesMax: 2000,
      flushIntervalMs: flushMs,
      inFlightMax: 4,
      retriesMax: 8,
      wallMsMax: 30 * 60_000,
      signal: abort.signal,
      onProgress: (s) => {
        if (Date.now() - lastPrint < 5_000) return;
        lastPrint = Date.now();
        const sent = Object.values(s.sentLines).reduce((a, b) => a + b, 0);
        const simNow = s.lastEventMs === null ? 0 : s.lastEventMs - sim.config.startMs;
        out(
          `  ${(simNow / 60_000).toFixed(1).padStart(4)} / ${durationMs / 60_000} min  events sent ${String(sent).padStart(8)}  flags ${String(collector.flags.size).padStart(4)}  revocations ${String(collector.revocations.size).padStart(4)}  (lag p99 ${fmtMs(s.lagMsP99)})`,
        );
      },
    });
    if (abort.signal.aborted) return 130;
    out('played; waiting for the pipeline to drain…');
    await collector.drain(8_000, 90_000, abort.signal);

    // 5. The summary.
    const flags: Anomaly[] = [...collector.flags.values()];
    // Issue times as simulated time, so "abuse start -> revocation" is how long the abuse ran.
    const revs: Revocation[] = [...collector.revocations.values()].map((r) => ({
      ...r,
      issuedAtMs: Math.round(wallToSim(map, collector.sightings.get(r.id)?.atMs ?? r.issuedAtMs)),
    }));
    const report = buildReport(sim.truth, flags, revs, { ruleSignals: RULE_SIGNALS, tenants: {} });
    const lat = latencies(sim.truth, collector, map);
    const moderated = flags.filter((f) => DEMO_POLICIES[f.rule]?.mode === 'moderate');
    const reviewCounts = await reviewsOf(running.enforcerUrl, keys.analyst, moderated);
    const wouldHave = await wouldHaveOf(running.enforcerUrl, keys.analyst, flags);
    const byRule = new Map<string, number>();
    for (const f of flags) byRule.set(f.rule, (byRule.get(f.rule) ?? 0) + 1);
    const byAction = new Map<string, number>();
    for (const r of collector.revocations.values()) byAction.set(r.action, (byAction.get(r.action) ?? 0) + 1);
    const sent = Object.values(stats.sentLines).reduce((a, b) => a + b, 0);
    const o = report.overall;
    const ms = (v: number[], p: number) => fmtMs(pct(v, p));
    const lines = [
      '',
      `== leechguard demo ${runId}: ${sent} events sent in ${((Date.now() - map.wallStartMs) / 1000).toFixed(0)} s (${stats.retries} retries, lag p99 ${fmtMs(stats.lagMsP99)})`,
      '',
      'flags by rule (distinct flags; policy):',
      ...[...byRule.entries()]
        .sort((a, b) => b[1] - a[1])
        .map(
          ([rule, n]) =>
            `  ${rule.padEnd(24)} ${String(n).padStart(5)}   ${DEMO_POLICIES[rule]?.mode ?? 'monitor'}`,
        ),
      `revocations: ${collector.revocations.size} (${[...byAction.entries()].map(([a, n]) => `${a} ${n}`).join(', ') || 'none'}); ${[...collector.revocations.keys()].filter((id) => collector.sightings.has(id)).length} seen in Redis`,
      `reviews waiting (moderate): ${reviewCounts.pending ?? 0}`,
      `would-have (monitor rules): ${
        Object.entries(wouldHave)
          .map(([r, n]) => `${r} ${n}`)
          .join(', ') || 'none'
      }`,
      '',
      `against the truth (${o.truePositives + o.falseNegatives} abusers, ${sim.truth.accounts.length - abusers} legitimate):`,
      `  precision ${fmtPct(o.precision)}  recall ${fmtPct(o.recall)}  false-positive rate ${fmtPct(o.falsePositiveRate)}  (${o.falsePositives} legitimate accounts flagged, ${o.falseNegatives} abusers missed)`,
      `  abusers revoked ${o.revokedAbusers}, legitimate accounts revoked ${o.revokedLegit}`,
      ...report.shortfalls.map((s) => `  ! ${s}`),
      '',
      'latency (wall clock; a request counts as sent at its due time, so these are upper bounds):',
      `  threshold-crossing request -> deny entry in Redis: p50 ${ms(lat.triggerToRedis, 50)}, p99 ${ms(lat.triggerToRedis, 99)} (n=${lat.triggerToRedis.length})`,
      ...Object.entries(lat.triggerToRedisByRule).map(
        ([rule, v]) => `    ${rule.padEnd(24)} p50 ${ms(v, 50)}, p99 ${ms(v, 99)} (n=${v.length})`,
      ),
      `  abuse start -> deny entry in Redis: p50 ${ms(lat.abuseStartToRedisWall, 50)}, p99 ${ms(lat.abuseStartToRedisWall, 99)} wall at ${speed}x = p50 ${ms(lat.abuseStartToRedisSim, 50)}, p99 ${ms(lat.abuseStartToRedisSim, 99)} of abuse (n=${lat.abuseStartToRedisSim.length})`,
      '',
    ];
    const revoked = [...collector.revocations.values()].find((r) => r.subjectKind === 'token');
    lines.push(
      'look at:',
      `  analyst console   ${running.enforcerUrl}/ui/   (sign in with ${keys.analyst}; rules need the operator key ${keys.operator})`,
      `  metrics           ${running.ingestUrl}/metrics  ${running.detectorUrl ?? ''}/metrics  ${running.enforcerUrl}/metrics`,
      `  revocations       curl -H 'Authorization: Bearer ${keys.analyst}' '${running.enforcerUrl}/v1/revocations?limit=5'`,
    );
    if (revoked) {
      lines.push(
        `  a revoked token   curl -H 'Authorization: Bearer ${keys.edge}' '${running.enforcerUrl}/v1/decision?tokenHash=${revoked.subjectKey}'`,
      );
    }
    const reportDir = join(runDir, 'report');
    writeReport(report, reportDir, `leechguard demo ${runId} (seed ${seed})`);
    writeFileSync(
      join(runDir, 'latency.json'),
      `${JSON.stringify({ runId, seed, viewers, speed, flushMs, durationMs, map, stats, latency: lat }, null, 2)}\n`,
    );
    lines.push(`  quality report    ${join(reportDir, 'report.md')}`, '');
    out(lines.join('\n'));

    if (!values.exit && !abort.signal.aborted) {
      out('services stay up: Ctrl-C to stop everything.');
      await new Promise<void>((r) => abort.signal.addEventListener('abort', () => r(), { once: true }));
    }
    return interrupted ? 130 : 0;
  } finally {
    await closeAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    out('demo: everything stopped.');
  }
}
