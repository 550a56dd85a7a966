/**
 * Fault: the detector's RocksDB (on a small tmpfs) runs out of space mid-stream. What must hold:
 * the detector stops (fail-stop) rather than processing on past state it could not write; once
 * space returns and it is SIGKILLed and restarted, the anomalies topic holds exactly the flags of
 * an uninterrupted run. Skips, saying why, where mounting a tmpfs is not permitted.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PROJECT_ROOT } from '../../../core/endpoints.ts';
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
} from '../detector/support.ts';

const TMPFS_SIZE = '64m';

function fillDisk(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(256 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  return path;
}

describe('detector on a full disk (tmpfs, real Kafka)', () => {
  it('stops when a flush fails for lack of space; after space returns and a SIGKILL, the flags of an uninterrupted run', {
    timeout: 300_000,
  }, async (t) => {
    const mountDir = mkdtempSync(join(tmpdir(), 'lg-det-disk-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_SIZE}`, 'tmpfs', mountDir], {
        stdio: 'pipe',
      });
    } catch (err) {
      rmSync(mountDir, { recursive: true, force: true });
      t.skip(
        `cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): ${String((err as Error).message).split('\n')[0]}`,
      );
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
      const baselineService = await startDetector(
        detectorConfig({
          kafka: { brokers: ctx.brokers },
          registry: { url: ctx.registryUrl },
          detector: {
            groupId: uniqueName('det-disk-base'),
            stateDir: tempStateDir(),
            topics: reference,
            flushIntervalMs: 100,
          },
        }),
        { logger: createLogger('detector', 'warn'), http: false },
      );
      try {
        await waitFor(
          'baseline flags',
          async () => (await topicSize(ctx.kafka, reference!.anomalies)) >= expectedCount,
          30_000,
        );
      } finally {
        await baselineService.close();
      }
      const baseline = await readAnomalies(ctx.kafka, ctx.serde, reference!.anomalies);

      const stateDir = join(mountDir, 'state');
      const configFile = join(configDir, 'detector.json');
      writeFileSync(
        configFile,
        JSON.stringify({
          http: { port: 0 },
          log: { level: 'info' },
          detector: {
            groupId: uniqueName('det-disk'),
            stateDir,
            topics: target,
            flushIntervalMs: 200,
            fetchMaxBytesPerPartition: 1024, // small fetches: the disk fills mid-stream
          },
        }),
      );
      const spawnDetector = () => {
        const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'leechguard.mjs'), 'detector'], {
          // Test keys are short and public: the flag the demo uses lets the CLI boot with them.
          env: { ...process.env, LEECHGUARD_CONFIG: configFile, LEECHGUARD_INSECURE_DEMO_SECRETS: '1' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        const output: string[] = [];
        child.stdout?.on('data', (b) => output.push(String(b)));
        child.stderr?.on('data', (b) => output.push(String(b)));
        children.push(child);
        return { child, output };
      };
      const first = spawnDetector();
      const exit = new Promise<number | null>((r) => first.child.once('exit', (code) => r(code)));
      await waitFor(
        'a share of the flags',
        async () => (await topicSize(ctx.kafka, target!.anomalies)) >= Math.floor(expectedCount * 0.2),
        60_000,
        20,
      );
      const filler = fillDisk(mountDir);
      const atFill = await topicSize(ctx.kafka, target!.anomalies);
      const code = await Promise.race([
        exit,
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
      const second = spawnDetector();
      try {
        await waitFor(
          'all flags',
          async () => (await topicSize(ctx.kafka, target!.anomalies)) >= expectedCount,
          90_000,
        );
        await new Promise((r) => setTimeout(r, 1_000)); // nothing more may follow
      } finally {
        second.child.kill('SIGTERM');
        await new Promise((r) => (second.child.exitCode !== null ? r(null) : second.child.once('exit', r)));
      }
      const got = await readAnomalies(ctx.kafka, ctx.serde, target!.anomalies);
      assert.equal(new Set(idVersions(got)).size, got.length, 'no duplicates');
      assert.deepEqual(idVersions(got), idVersions(baseline));
      assert.ok(JSON.stringify(sortFlags(got)) === JSON.stringify(sortFlags(baseline)), 'same evidence');
    } finally {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      execFileSync('umount', ['-l', mountDir]);
      rmSync(mountDir, { recursive: true, force: true });
      rmSync(configDir, { recursive: true, force: true });
    }
  });
});
