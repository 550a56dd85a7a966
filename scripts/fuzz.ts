/**
 * Long fuzz runs of the properties in test/fuzz (the unit suite runs each a few hundred times).
 *
 *   npm run fuzz -- --runs 70000            each property 70,000 times
 *   npm run fuzz -- --runs 1000 --seed 42   reproducible
 *   npm run fuzz -- --only redactor         properties whose name contains the text
 *   npm run fuzz -- --http --runs 2000      the HTTP APIs of ingest and the enforcer instead, on the
 *                                          real stack (LEECHGUARD_STACK_DIR or endpoints as the tests find them)
 *
 * Prints one line per property (cases, failures, slowest case) and the totals; exits 1 on any
 * failure, printing fast-check's counterexample and seed so the case can be replayed.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { httpProperty } from '../test/fuzz/http.ts';
import { ENFORCER_FUZZ_KEYS, enforcerFuzzTarget, ingestFuzzTarget } from '../test/fuzz/http-targets.ts';
import { type FuzzProperty, PURE_PROPERTIES } from '../test/fuzz/pure.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '10000' },
    seed: { type: 'string' },
    only: { type: 'string' },
    http: { type: 'boolean', default: false },
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
const { properties, close } = values.http
  ? await httpProperties()
  : { properties: PURE_PROPERTIES, close: async () => {} };
for (const p of properties) {
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
  // A sync property's check returns at once; awaiting it is harmless.
  const result = await fc.check(timed as unknown as fc.IAsyncProperty<unknown>, { numRuns: runs, seed });
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
await close();
process.exitCode = failures > 0 ? 1 : 0;
process.exit();

/** Starts ingest and the enforcer on the real stack and returns one HTTP property per service. */
async function httpProperties(): Promise<{ properties: FuzzProperty[]; close: () => Promise<void> }> {
  const [{ testEndpoints }, { ingestTestConfig }, { enforcerConfig }, { startIngest }, { startEnforcer }] =
    await Promise.all([
      import('../test/support/stack.ts'),
      import('../test/integration/ingest/support.ts'),
      import('../test/integration/enforcer/support.ts'),
      import('../ingest/service.ts'),
      import('../enforcer/main.ts'),
    ]);
  const ep = await testEndpoints();
  const ingest = await startIngest(ingestTestConfig(ep));
  const enforcer = await startEnforcer(await enforcerConfig({ apiKeys: ENFORCER_FUZZ_KEYS }));
  return {
    properties: [
      {
        name: 'HTTP ingest: a 2xx or a coded 4xx',
        unitRuns: 0,
        property: httpProperty(ingestFuzzTarget(ingest.url)),
      },
      {
        name: 'HTTP enforcer: a 2xx or a coded 4xx',
        unitRuns: 0,
        property: httpProperty(enforcerFuzzTarget(enforcer.url)),
      },
    ],
    close: async () => {
      await ingest.close();
      await enforcer.close();
    },
  };
}
