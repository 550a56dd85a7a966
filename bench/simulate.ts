/**
 * Simulator throughput: events/s generated (baseline: the time-ordered event stream alone) and
 * events/s generated + formatted in each CDN format + written to files (what `leechguard
 * simulate` does), p50 / p99 time per 10,000 events, peak RSS, and the ratio of the two.
 * Bounded: `node bench/simulate.ts [viewers=5000]` runs in well under a minute.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSimulation } from '../simulate/engine.ts';
import { writeSimulationFiles } from '../simulate/sinks/files.ts';

const viewers = Number(process.argv[2] ?? 5000);
const CHUNK = 10_000;

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

const t0 = performance.now();
const sim = await createSimulation({ viewers });
const buildMs = performance.now() - t0;

// Baseline: the event stream alone.
let events = 0;
const chunkMs: number[] = [];
let c0 = performance.now();
const b0 = c0;
for (const _ of sim.events()) {
  if (++events % CHUNK === 0) {
    const now = performance.now();
    chunkMs.push(now - c0);
    c0 = now;
  }
}
const baseMs = performance.now() - b0;
chunkMs.sort((a, b) => a - b);

// Full: formatted and written to files.
const dir = mkdtempSync(join(tmpdir(), 'lg-bench-sim-'));
const f0 = performance.now();
const summary = writeSimulationFiles(sim, dir);
const fullMs = performance.now() - f0;
const bytes = Object.values(summary.files).reduce((n, f) => n + f.bytes, 0);
rmSync(dir, { recursive: true, force: true });

const rate = (n: number, ms: number) => Math.round(n / (ms / 1000));
console.log(
  `simulate bench: ${viewers} viewers, ${events} events (${summary.requests} requests, ${summary.heartbeats} heartbeats)`,
);
console.log(`  build population        ${buildMs.toFixed(0)} ms`);
console.log(
  `  baseline: events only   ${rate(events, baseMs)} events/s  (p50 ${pct(chunkMs, 50).toFixed(1)} ms, p99 ${pct(chunkMs, 99).toFixed(1)} ms per ${CHUNK})`,
);
console.log(
  `  full: format + files    ${rate(events, fullMs)} events/s  ${(bytes / 1e6 / (fullMs / 1000)).toFixed(0)} MB/s written`,
);
console.log(`  ratio full / baseline   ${(baseMs / fullMs).toFixed(2)}`);
console.log(`  peak RSS                ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
