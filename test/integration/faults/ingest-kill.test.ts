/**
 * Fault: ingest (a child process) is killed with SIGKILL under load, restarted, and its clients
 * resend every batch that got no answer, as a shipper does. What must hold: every line of every
 * batch answered 2xx is on Kafka, and a line on Kafka more than once (written before the kill,
 * then resent) always carries the same record id, so consumers drop the copy.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PROJECT_ROOT } from '../../../core/endpoints.ts';
import type { CdnRequest } from '../../../core/schemas/generated.ts';
import { freePort, sleep } from '../../../core/stack/processes.ts';
import { TOPICS } from '../../../core/topics.ts';
import { testEndpoints, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import { endOffsets, readSince } from '../ingest/support.ts';

const LINES_PER_BATCH = 200;
const BATCHES = 60;
const KEY = 'ndjson-key-0123456789';

function batch(run: string, b: number): string {
  const lines: string[] = [];
  for (let i = 0; i < LINES_PER_BATCH; i++) {
    lines.push(
      JSON.stringify({
        timestamp: 1763668800 + i,
        url: `/kill/${run}/seg_${b}_${i}.ts?token=t${b}`,
        clientIp: '198.51.100.1',
      }),
    );
  }
  return lines.join('\n');
}

describe('ingest killed with SIGKILL under load', () => {
  it('every line of every 2xx batch is on Kafka, and each line written twice has one id', async (t) => {
    const ep = await testEndpoints();
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'lg-ingest-kill-'));
    const configFile = join(dir, 'ingest.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        kafka: { brokers: ep.kafkaBrokers },
        registry: { url: ep.registryUrl },
        http: {
          port,
          host: '127.0.0.1',
          apiKeys: [{ name: 'backend', key: 'backend-key-0123456789', roles: ['backend'] }],
        },
        log: { level: 'warn' },
        workers: 1,
        sources: [{ name: 'generic', format: 'ndjson', key: KEY }],
      }),
    );
    const url = `http://127.0.0.1:${port}`;
    let child: ChildProcess | undefined;
    const output: string[] = [];
    const launch = async () => {
      child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'leechguard.mjs'), 'ingest'], {
        // Test keys are short and public: the flag the demo uses lets the CLI boot with them.
        env: { ...process.env, LEECHGUARD_CONFIG: configFile, LEECHGUARD_INSECURE_DEMO_SECRETS: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout?.on('data', (b) => output.push(String(b)));
      child.stderr?.on('data', (b) => output.push(String(b)));
      await waitFor(
        () => `ingest to become ready\n${output.join('').slice(-2000)}`,
        async () => {
          try {
            return (await fetch(`${url}/readyz`)).status === 200;
          } catch {
            return false; // not listening yet
          }
        },
        60_000,
        100,
      );
    };
    const run = uniqueName('k');
    const from = await endOffsets(ep, TOPICS.requests.name);
    const acked = new Set<number>();
    let unanswered = 0;
    try {
      await launch();
      const pending = Array.from({ length: BATCHES }, (_, b) => b);
      let killed = false;
      // Three clients in flight; the kill lands while batches are being answered.
      const client = async () => {
        for (;;) {
          const b = pending.shift();
          if (b === undefined) return;
          try {
            const res = await fetch(`${url}/v1/logs/ndjson`, {
              method: 'POST',
              headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/x-ndjson' },
              body: batch(run, b),
            });
            await res.arrayBuffer();
            if (res.status === 200) acked.add(b);
            else pending.push(b);
          } catch {
            unanswered++; // connection reset by the kill: resent after the restart
            pending.push(b);
            await sleep(200);
          }
          if (!killed && acked.size >= BATCHES / 4) {
            killed = true;
            child?.kill('SIGKILL');
            await new Promise((r) =>
              child!.exitCode !== null || child!.signalCode !== null ? r(null) : child!.once('exit', r),
            );
            await launch();
          }
        }
      };
      await Promise.all([client(), client(), client()]);
      assert.ok(killed);
      assert.equal(acked.size, BATCHES, 'every batch answered 2xx in the end');
      t.diagnostic(`${unanswered} requests failed by the kill or the restart and were resent`);

      const ids = new Map<string, Set<string>>();
      const copies = { n: 0 };
      await readSince<CdnRequest>(
        ep,
        TOPICS.requests.name,
        from,
        (r) => {
          const path = r.value?.path;
          if (!path?.startsWith(`/kill/${run}/`)) return false;
          const set = ids.get(path) ?? new Set();
          if (set.size > 0 || ids.has(path)) copies.n++;
          set.add(r.value!.id);
          ids.set(path, set);
          return false;
        },
        () => ids.size >= BATCHES * LINES_PER_BATCH,
        60_000,
      );
      t.diagnostic(`${copies.n} lines on Kafka more than once`);
      assert.equal(ids.size, BATCHES * LINES_PER_BATCH, 'every acknowledged line is on Kafka');
      const twoIds = [...ids].filter(([, s]) => s.size > 1);
      assert.deepEqual(twoIds.slice(0, 3), [], 'a line written twice carries one id');
    } finally {
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child!.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
