/**
 * The HTTP APIs of ingest and the enforcer (decision and session APIs mounted) fuzzed with random
 * valid and invalid requests on the real stack (test/fuzz/http.ts): always a 2xx or a 4xx with a
 * known code, never a 5xx, and the service still answers afterwards. A few hundred cases here;
 * `npm run fuzz -- --http --runs N` runs more. The enforcer gets no operator key: random policy
 * changes would reach the policy topic other tests share.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { type RunningEnforcer, startEnforcer } from '../../../enforcer/main.ts';
import { type IngestHandle, startIngest } from '../../../ingest/service.ts';
import { httpProperty } from '../../fuzz/http.ts';
import { ENFORCER_FUZZ_KEYS, enforcerFuzzTarget, ingestFuzzTarget } from '../../fuzz/http-targets.ts';
import { testEndpoints } from '../../support/stack.ts';
import { enforcerConfig } from '../enforcer/support.ts';
import { ingestTestConfig } from '../ingest/support.ts';

const RUNS = 150;
/** fast-check's seed of a failing run (printed in its report) replays that run's cases. */
const SEED =
  process.env.LEECHGUARD_FUZZ_SEED === undefined ? undefined : Number(process.env.LEECHGUARD_FUZZ_SEED);
const RUN_OPTIONS = { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) };

describe('HTTP APIs under random requests', () => {
  let ingest: IngestHandle;
  let enforcer: RunningEnforcer;
  before(async () => {
    const ep = await testEndpoints();
    // Errors logged, not silent: a 5xx's real exception (logged behind LG_ERR_INTERNAL) then shows
    // in the test's output, where a failing CI run keeps it.
    const ingestConfig = ingestTestConfig(ep);
    ingest = await startIngest({ ...ingestConfig, log: { ...ingestConfig.log, level: 'error' } });
    const enforcerBase = await enforcerConfig({ apiKeys: ENFORCER_FUZZ_KEYS });
    enforcer = await startEnforcer({ ...enforcerBase, log: { ...enforcerBase.log, level: 'error' } });
  });
  after(async () => {
    await ingest?.close();
    await enforcer?.close();
  });

  it('ingest: every answer a 2xx or a coded 4xx', async (t) => {
    const statuses = new Map<number, number>();
    await fc.assert(httpProperty(ingestFuzzTarget(ingest.url), statuses), RUN_OPTIONS);
    t.diagnostic(JSON.stringify(Object.fromEntries(statuses)));
    assert.equal((await fetch(`${ingest.url}/healthz`)).status, 200);
  });

  it('enforcer (decision, sessions, reviews, revocations, policies): every answer a 2xx or a coded 4xx', async (t) => {
    const statuses = new Map<number, number>();
    await fc.assert(httpProperty(enforcerFuzzTarget(enforcer.url), statuses), RUN_OPTIONS);
    t.diagnostic(JSON.stringify(Object.fromEntries(statuses)));
    assert.equal((await fetch(`${enforcer.url}/healthz`)).status, 200);
  });
});
