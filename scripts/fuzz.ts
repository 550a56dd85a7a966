/**
 * Long fuzz runs of the properties in test/fuzz (the unit suite runs each a few hundred times).
 *
 *   npm run fuzz -- --runs 70000            each property 70,000 times
 *   npm run fuzz -- --runs 1000 --seed 42   reproducible
 *   npm run fuzz -- --only redactor         properties whose name contains the text
 *
 * Prints one line per property (cases, failures, slowest case) and the totals; exits 1 on any
 * failure, printing fast-check's counterexample and seed so the case can be replayed.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { PURE_PROPERTIES } from '../test/fuzz/pure.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '10000' },
    seed: { type: 'string' },
    only: { type: 'string' },
  },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1)
  throw new Error(`--runs must be a positive integer, got ${values.runs}`);
const seed = values.seed === undefined ? Date.now() | 0 : Number(values.seed);

let cases = 0;
let failures = 0;
let slowest = { ms: 0, name: '' };
const t0 = performance.now();
for (const p of PURE_PROPERTIES) {
  if (values.only && !p.name.includes(values.only)) continue;
  let started = 0;
  let propSlowestMs = 0;
  let propCases = 0;
  const timed = (p.property as fc.IPropertyWithHooks<unknown>)
    .beforeEach((prev) => {
      prev();
      started = performance.now();
    })
    .afterEach((prev) => {
      const ms = performance.now() - started;
      propCases++;
      if (ms > propSlowestMs) propSlowestMs = ms;
      prev();
    });
  const t = performance.now();
  const result = fc.check(timed, { numRuns: runs, seed });
  cases += propCases;
  if (propSlowestMs > slowest.ms) slowest = { ms: propSlowestMs, name: p.name };
  const status = result.failed ? 'FAILED' : 'ok';
  process.stdout.write(
    `${status.padEnd(6)} ${String(propCases).padStart(9)} cases  slowest ${propSlowestMs.toFixed(2)} ms  ${((performance.now() - t) / 1000).toFixed(1)} s  ${p.name}\n`,
  );
  if (result.failed) {
    failures++;
    process.stdout.write(`${fc.defaultReportMessage(result)}\n`);
  }
}
process.stdout.write(
  `fuzz: ${cases} cases, ${failures} failing properties, slowest case ${slowest.ms.toFixed(2)} ms (${slowest.name}), seed ${seed}, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`,
);
process.exitCode = failures > 0 ? 1 : 0;
