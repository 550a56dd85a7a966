import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { Anomaly } from '../../../core/schemas/generated.ts';
import { runBacktest } from '../../../detector/backtest/index.ts';
import type { DetectorService } from '../../../detector/main.ts';
import { scenario } from '../../../detector/testing/scenario.ts';
import { uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import {
  assertSameFlags,
  connect,
  createTopics,
  type DetectorTestContext,
  idVersions,
  produce,
  readAnomalies,
  startDetectorChild,
  startTestDetector,
  type TestTopics,
  tempStateDir,
  topicSize,
  uninterruptedRun,
} from './support.ts';

describe('detector recovery on real Kafka', () => {
  let ctx: DetectorTestContext;
  let topics: TestTopics[];
  let expectedCount: number;
  let baseline: Anomaly[];
  let baselineStateDir: string;

  before(async () => {
    ctx = await connect();
    const records = scenario({
      accounts: 150,
      durationMs: 3 * 60_000,
      startMs: Math.floor(Date.now() / 1000) * 1000 - 4 * 60_000,
      seed: 7,
    });
    expectedCount = (await runBacktest(records)).flags.length;
    topics = await createTopics(ctx.kafka, 'det-rec', 3);
    await produce(ctx.kafka, ctx.serde, topics[0]!, records);
    // The uninterrupted run: the reference both recovery tests are held to.
    baselineStateDir = tempStateDir();
    baseline = await uninterruptedRun(ctx, topics[0]!, expectedCount, baselineStateDir);
  });

  it('ends with exactly the flags of an uninterrupted run after three SIGKILLs mid-stream', async (t) => {
    assert.equal(baseline.length, expectedCount);
    const target = topics[1]!;
    const stateDir = tempStateDir();
    const configFile = join(dirname(stateDir), 'detector.json');
    const spawnDetector = () =>
      startDetectorChild(configFile, {
        // A fresh group per start: offsets live in RocksDB, so no wait for the dead member's session.
        groupId: uniqueName('det-kill'),
        stateDir,
        topics: target,
        flushIntervalMs: 400, // long enough that a kill often lands between a produce and its flush
        fetchMaxBytesPerPartition: 1024, // small fetches: the run lasts long enough to be killed mid-stream
      });
    const killedAt: number[] = [];
    const outputs: string[][] = [];
    for (const share of [0.15, 0.5, 0.8]) {
      const { child, output, exited } = spawnDetector();
      outputs.push(output);
      try {
        await waitFor(
          `${share * 100}% of the flags`,
          async () => (await topicSize(ctx.kafka, target.anomalies)) >= Math.floor(expectedCount * share),
          60_000,
          20,
        );
      } catch (err) {
        child.kill('SIGKILL');
        throw new Error(`${(err as Error).message}\n${output.join('').slice(-2000)}`);
      }
      child.kill('SIGKILL');
      await exited;
      killedAt.push(await topicSize(ctx.kafka, target.anomalies));
    }
    // Each kill landed mid-stream: flags were still missing.
    for (const n of killedAt) assert.ok(n < expectedCount, `killed at ${n} of ${expectedCount} flags`);
    const { child, output, exited } = spawnDetector();
    outputs.push(output);
    try {
      await waitFor(
        'all flags',
        async () => (await topicSize(ctx.kafka, target.anomalies)) >= expectedCount,
        60_000,
      );
      await new Promise((r) => setTimeout(r, 1000)); // nothing more may follow
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    const suppressed = outputs
      .flat()
      .join('')
      .split('\n')
      .filter((l) => l.includes('partition assigned'))
      .reduce((sum, l) => sum + (JSON.parse(l) as { suppress: number }).suppress, 0);
    t.diagnostic(
      `killed at ${killedAt.join(', ')} of ${expectedCount} flags; restarts read back ${suppressed} flags published past the stored offsets (dropped on replay)`,
    );
    // Literally exact: no duplicate id + version on the topic, and the same flags, field for field.
    assertSameFlags(await readAnomalies(ctx.kafka, ctx.serde, target.anomalies), baseline);
  });

  it('moves partitions to a second instance joining mid-stream and still ends with the same flags', async (t) => {
    const target = topics[2]!;
    const groupId = uniqueName('det-move');
    const start = (stateDir: string) =>
      startTestDetector(ctx, {
        groupId,
        stateDir,
        topics: target,
        flushIntervalMs: 100,
        fetchMaxBytesPerPartition: 1024,
      });
    const a = await start(tempStateDir());
    let b: DetectorService | undefined;
    try {
      await waitFor(
        'a third of the flags',
        async () => (await topicSize(ctx.kafka, target.anomalies)) >= expectedCount / 3,
        60_000,
        20,
      );
      const movedAt = await topicSize(ctx.kafka, target.anomalies);
      b = await start(tempStateDir());
      await waitFor(
        'both instances own partitions and are caught up',
        async () =>
          a.runner.partitions().length + b!.runner.partitions().length === 6 &&
          b!.runner.partitions().length > 0 &&
          [...a.runner.lag().values(), ...b!.runner.lag().values()].every((lag) => lag === 0) &&
          (await topicSize(ctx.kafka, target.anomalies)) >= expectedCount,
        60_000,
      );
      await new Promise((r) => setTimeout(r, 1000));
      t.diagnostic(
        `second instance joined at ${movedAt} of ${expectedCount} flags; partitions a=${a.runner.partitions().join(',')} b=${b.runner.partitions().join(',')}; b dropped ${b.runner.suppressedFlags} replayed flags`,
      );
    } finally {
      await b?.close();
      await a.close();
    }
    const got = await readAnomalies(ctx.kafka, ctx.serde, target.anomalies);
    const gotKeys = idVersions(got);
    const want = new Set(idVersions(baseline));
    const duplicates = gotKeys.filter((k, i) => gotKeys[i - 1] === k);
    const missing = [...want].filter((k) => !gotKeys.includes(k));
    const extra = gotKeys.filter((k) => !want.has(k));
    t.diagnostic(`duplicates ${duplicates.length}, missing ${missing.length}, extra ${extra.length}`);
    assert.equal(duplicates.length, 0, `duplicate id:version ${duplicates.slice(0, 5).join(' ')}`);
    assert.deepEqual(gotKeys, idVersions(baseline));
  });

  it('rebuilds a deleted RocksDB from the timestamp index and recomputes the same flags, publishing none twice', async () => {
    rmSync(baselineStateDir, { recursive: true, force: true });
    const before = await topicSize(ctx.kafka, topics[0]!.anomalies);
    const service = await startTestDetector(ctx, {
      groupId: uniqueName('det-rebuild'),
      stateDir: baselineStateDir,
      topics: topics[0]!,
      flushIntervalMs: 100,
    });
    try {
      await waitFor(
        'rebuild caught up',
        async () =>
          service.runner.partitions().length === 6 &&
          [...service.runner.lag().values()].every((lag) => lag === 0) &&
          service.runner.suppressedFlags >= expectedCount,
        30_000,
      );
    } finally {
      await service.close();
    }
    // Every flag of the uninterrupted run was recomputed (same id + version) and recognised as published.
    assert.equal(service.runner.suppressedFlags, baseline.length);
    assert.equal(service.runner.producedFlags, 0);
    assert.equal(await topicSize(ctx.kafka, topics[0]!.anomalies), before);
  });
});
