import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLeechguardError } from '../../../core/errors.ts';
import { TOPICS } from '../../../core/topics.ts';
import { parseLine, runBacktest, summaryTable } from '../../../detector/backtest/index.ts';
import { heartbeat, plan, request } from '../../../detector/testing/fixtures.ts';
import { scenario } from '../../../detector/testing/scenario.ts';

describe('backtest', () => {
  it('reads topic envelopes and plain typed records', () => {
    const r = request();
    assert.equal(
      parseLine(JSON.stringify({ topic: TOPICS.requests.name, value: r }), 'x').topic,
      TOPICS.requests.name,
    );
    assert.equal(parseLine(JSON.stringify(r), 'x').topic, TOPICS.requests.name);
    assert.equal(parseLine(JSON.stringify(heartbeat()), 'x').topic, TOPICS.heartbeats.name);
    assert.equal(parseLine(JSON.stringify(plan()), 'x').topic, TOPICS.accounts.name);
    const tombstone = parseLine(
      JSON.stringify({ topic: TOPICS.accounts.name, key: 'acct-1', value: null }),
      'x',
    );
    assert.equal(tombstone.key, 'acct-1');
  });

  it('names the file and line of an unreadable record', () => {
    assert.throws(
      () => parseLine('{"what": 1}', 'logs.ndjson:7'),
      (e: unknown) =>
        isLeechguardError(e) && e.code === 'DET_ERR_INPUT_UNREADABLE' && e.message.includes('logs.ndjson:7'),
    );
  });

  it('gives the same flags from an array and from an async stream, with a summary per rule', async () => {
    const records = scenario({ accounts: 20, durationMs: 2 * 60_000, startMs: 1_700_000_000_000 });
    const a = await runBacktest(records);
    const b = await runBacktest(
      (async function* () {
        for (const r of records) yield r;
      })(),
    );
    assert.ok(a.flags.length > 0);
    assert.deepEqual(a.flags, b.flags);
    assert.equal(a.summary.flags, a.flags.length);
    assert.ok(summaryTable(a.summary).includes('account-concurrency'));
  });

  it('flags nothing on a legitimate-only stream', async () => {
    const records = scenario({ accounts: 40, durationMs: 3 * 60_000, startMs: 1_700_000_000_000 }).filter(
      (r) => {
        const v = r.value as { accountId?: string } | null;
        const n = Number(v?.accountId?.split('-')[1] ?? '0');
        return n % 10 >= 5; // kinds 5..9 of the scenario are households within their plan
      },
    );
    const result = await runBacktest(records);
    assert.equal(result.flags.length, 0);
  });
});
