import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createLogger } from '../../../core/log.ts';
import { runBacktest } from '../../../detector/backtest/index.ts';
import { detectorConfig } from '../../../detector/config.ts';
import { startDetector } from '../../../detector/main.ts';
import { scenario } from '../../../detector/testing/scenario.ts';
import { uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import {
  connect,
  createTopics,
  idVersions,
  produce,
  readAnomalies,
  sortFlags,
  tempStateDir,
  topicSize,
} from './support.ts';

describe('detector on real Kafka vs backtest', () => {
  let ctx: Awaited<ReturnType<typeof connect>>;
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
    const config = detectorConfig({
      kafka: { brokers: ctx.brokers },
      registry: { url: ctx.registryUrl },
      http: { port: 0 },
      detector: { groupId: uniqueName('det-bt'), stateDir: tempStateDir(), topics, flushIntervalMs: 100 },
    });
    const service = await startDetector(config, { logger: createLogger('detector', 'warn') });
    try {
      await waitFor(
        'all flags',
        async () => (await topicSize(ctx.kafka, topics!.anomalies)) >= expected.flags.length,
        30_000,
      );
      // A moment more: nothing beyond the expected may follow.
      await new Promise((r) => setTimeout(r, 500));
      const metrics = await (await fetch(`${service.url}/metrics`)).text();
      const events = records.filter((r) => r.topic !== 'leechguard.accounts.v1').length;
      assert.match(metrics, new RegExp(`leechguard_detector_events_total\\{[^}]*\\} ${events}\\b`));
      assert.match(metrics, /leechguard_detector_flags_total\{[^}]*rule="account-concurrency"[^}]*\} [1-9]/);
      assert.match(metrics, /leechguard_detector_lag_records\{[^}]*partition="0"[^}]*\} 0/);
      assert.match(metrics, /leechguard_detector_state_keys\{[^}]*\} [1-9]/);
    } finally {
      await service.close();
    }
    const got = await readAnomalies(ctx.kafka, ctx.serde, topics!.anomalies);
    assert.equal(got.length, expected.flags.length);
    assert.deepEqual(idVersions(got), idVersions(expected.flags));
    assert.ok(
      JSON.stringify(sortFlags(got)) === JSON.stringify(sortFlags(expected.flags)),
      'every field and evidence item agrees',
    );
  });
});
