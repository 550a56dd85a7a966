/**
 * Fault: the detector's RocksDB (on a small tmpfs) runs out of space mid-stream. What must hold:
 * the detector stops (fail-stop) rather than processing on past state it could not write; once
 * space returns and it is SIGKILLed and restarted, the anomalies topic holds exactly the flags of
 * an uninterrupted run. Skips, saying why, where mounting a tmpfs is not permitted.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runBacktest } from '../../../detector/backtest/index.ts';
import { scenario } from '../../../detector/testing/scenario.ts';
import { uniqueName } from '../../support/stack.ts';
import { fillDisk, mountTmpfs } from '../../support/tmpfs.ts';
import { waitFor } from '../../support/wait.ts';
import {
  assertSameFlags,
  connect,
  createTopics,
  produce,
  readAnomalies,
  startDetectorChild,
  topicSize,
  uninterruptedRun,
} from '../detector/support.ts';

const TMPFS_SIZE = '64m';

describe('detector on a full disk (tmpfs, real Kafka)', () => {
  it('stops when a flush fails for lack of space; after space returns and a SIGKILL, the flags of an uninterrupted run', {
    timeout: 300_000,
  }, async (t) => {
    const mount = mountTmpfs(TMPFS_SIZE);
    if (typeof mount === 'string') {
      t.skip(mount);
      return;
    }
    const ctx = await connect();
    const configDir = mkdtempSync(join(tmpdir(), 'lg-det-disk-config-'));
    const children: ChildProcess[] = [];
    try {
      const records = scenario({
        accounts: 80,
        durationMs: 3 * 60_000,
        startMs: Math.floor(Date.now() / 1000) * 1000 - 4 * 60_000,
        seed: 11,
      });
      const expectedCount = (await runBacktest(records)).flags.length;
      const [reference, target] = await createTopics(ctx.kafka, 'det-disk', 2);
      await produce(ctx.kafka, ctx.serde, reference!, records);
      await produce(ctx.kafka, ctx.serde, target!, records);
      const baseline = await uninterruptedRun(ctx, reference!, expectedCount);

      const configFile = join(configDir, 'detector.json');
      const settings = {
        groupId: uniqueName('det-disk'),
        stateDir: join(mount.dir, 'state'),
        topics: target!,
        flushIntervalMs: 200,
        fetchMaxBytesPerPartition: 1024, // small fetches: the disk fills mid-stream
      };
      const first = startDetectorChild(configFile, settings);
      children.push(first.child);
      await waitFor(
        'a share of the flags',
        async () => (await topicSize(ctx.kafka, target!.anomalies)) >= Math.floor(expectedCount * 0.2),
        60_000,
        20,
      );
      const filler = fillDisk(mount.dir);
      const atFill = await topicSize(ctx.kafka, target!.anomalies);
      const code = await Promise.race([
        first.exited,
        new Promise<'running'>((r) => setTimeout(() => r('running'), 30_000)),
      ]);
      const log = first.output.join('');
      assert.notEqual(code, 'running', `the detector kept running on a full disk\n${log.slice(-1500)}`);
      assert.match(log, /state flush failed: stopping/);
      t.diagnostic(
        `disk filled at ${atFill} of ${expectedCount} flags; the detector stopped with exit code ${code}`,
      );
      first.child.kill('SIGKILL'); // already gone; the restart below is what a supervisor does

      rmSync(filler);
      const second = startDetectorChild(configFile, settings);
      children.push(second.child);
      try {
        await waitFor(
          'all flags',
          async () => (await topicSize(ctx.kafka, target!.anomalies)) >= expectedCount,
          90_000,
        );
        await new Promise((r) => setTimeout(r, 1_000)); // nothing more may follow
      } finally {
        second.child.kill('SIGTERM');
        await second.exited;
      }
      assertSameFlags(await readAnomalies(ctx.kafka, ctx.serde, target!.anomalies), baseline);
    } finally {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      mount.unmount();
      rmSync(configDir, { recursive: true, force: true });
    }
  });
});
