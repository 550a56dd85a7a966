import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { PROJECT_ROOT } from '../../../core/endpoints.ts';
import { runBacktest } from '../../../detector/backtest/index.ts';
import { scenario } from '../../../detector/testing/scenario.ts';
import { tempStateDir } from './support.ts';

describe('leechguard backtest', () => {
  it('prints the flags of an NDJSON file as NDJSON and a summary table', async () => {
    const records = scenario({ accounts: 20, durationMs: 2 * 60_000, startMs: 1_700_000_000_000 });
    const dir = dirname(tempStateDir());
    const input = join(dir, 'input.ndjson');
    // Envelopes for plans, plain typed records for the rest: both forms are read.
    writeFileSync(
      input,
      records.map((r) => JSON.stringify(r.topic === 'leechguard.accounts.v1' ? r : r.value)).join('\n'),
    );
    const out = join(dir, 'flags.ndjson');
    const res = spawnSync(
      process.execPath,
      [join(PROJECT_ROOT, 'bin', 'leechguard.mjs'), 'backtest', input, '--out', out, '--no-progress'],
      { encoding: 'utf8', env: { ...process.env, LEECHGUARD_LOG_LEVEL: 'warn' } },
    );
    assert.equal(res.status, 0, res.stderr);
    const printed = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; version: number });
    const expected = await runBacktest(records);
    assert.deepEqual(
      printed.map((f) => `${f.id}:${f.version}`),
      expected.flags.map((f) => `${f.id}:${f.version}`),
    );
    assert.match(res.stderr, /rule\s+flag ids/);
    assert.match(res.stderr, /account-concurrency/);
  });
});
