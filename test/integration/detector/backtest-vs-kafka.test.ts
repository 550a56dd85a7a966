import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { runBacktest } from '../../../detector/backtest/index.ts';
import { scenario } from '../../../detector/testing/scenario.ts';
import {
  assertLiveDetectorPublishes,
  connect,
  createTopics,
  type DetectorTestContext,
  produce,
} from './support.ts';

describe('detector on real Kafka vs backtest', () => {
  let ctx: DetectorTestContext;
  before(async () => {
    ctx = await connect();
  });

  it('produces exactly the flags the backtest computes from the same records, and counts them in /metrics', async () => {
    const records = scenario({
      accounts: 30,
      durationMs: 3 * 60_000,
      startMs: Math.floor(Date.now() / 1000) * 1000 - 4 * 60_000,
    });
    const expected = await runBacktest(records);
    assert.ok(expected.flags.length > 20, 'the scenario raises flags of several rules');
    const [topics] = await createTopics(ctx.kafka, 'det-bt');
    await produce(ctx.kafka, ctx.serde, topics!, records);
    await assertLiveDetectorPublishes(ctx, topics!, expected.flags, async (service) => {
      const metrics = await (await fetch(`${service.url}/metrics`)).text();
      const events = records.filter((r) => r.topic !== 'leechguard.accounts.v1').length;
      assert.match(metrics, new RegExp(`leechguard_detector_events_total\\{[^}]*\\} ${events}\\b`));
      assert.match(metrics, /leechguard_detector_flags_total\{[^}]*rule="account-concurrency"[^}]*\} [1-9]/);
      assert.match(metrics, /leechguard_detector_lag_records\{[^}]*partition="0"[^}]*\} 0/);
      assert.match(metrics, /leechguard_detector_state_keys\{[^}]*\} [1-9]/);
    });
  });
});
