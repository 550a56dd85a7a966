import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { Endpoints } from '../../../core/endpoints.ts';
import type { CdnRequest } from '../../../core/schemas/generated.ts';
import { sleep } from '../../../core/stack/processes.ts';
import { TOPICS } from '../../../core/topics.ts';
import { type IngestHandle, startIngest } from '../../../ingest/service.ts';
import { type Sender, ship } from '../../../ingest/ship/index.ts';
import { httpSender } from '../../../ingest/ship/senders.ts';
import { testEndpoints } from '../../support/stack.ts';
import { endOffsets, ingestTestConfig, readSince } from './support.ts';

let endpoints: Endpoints;
let ingest: IngestHandle;
let dir: string;

function lines(tag: string, from: number, n: number): string {
  let out = '';
  for (let i = from; i < from + n; i++) {
    out += `${JSON.stringify({ timestamp: 1763668800 + i, url: `/ship/${tag}/seg_${i}.ts`, clientIp: '192.0.2.1' })}\n`;
  }
  return out;
}

async function countPaths(
  from: Map<number, string>,
  prefix: string,
  expected: number,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let total = 0;
  await readSince<CdnRequest>(
    endpoints,
    TOPICS.requests.name,
    from,
    (r) => {
      const p = r.value?.path;
      if (p?.startsWith(prefix)) {
        counts.set(p, (counts.get(p) ?? 0) + 1);
        total++;
      }
      return false;
    },
    () => total >= expected,
    20_000,
  );
  // Linger briefly so a duplicate would be seen too.
  return counts;
}

describe('leechguard ship against the real ingest service', () => {
  before(async () => {
    endpoints = await testEndpoints();
    ingest = await startIngest(ingestTestConfig(endpoints));
    dir = mkdtempSync(join(tmpdir(), 'lg-ship-'));
  });
  after(async () => {
    await ingest?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a gzip file shipped, interrupted after 3 batches and restarted lands every line exactly once', async () => {
    const tag = `gz-${Date.now()}`;
    const file = join(dir, 'access.log.gz');
    writeFileSync(file, gzipSync(lines(tag, 0, 2500)));
    const checkpoint = join(dir, 'gz.checkpoint.json');
    const from = await endOffsets(endpoints, TOPICS.requests.name);
    const real = httpSender(ingest.url, 'ndjson', 'ndjson-key-0123456789');
    let batches = 0;
    const crashing: Sender = {
      async send(text, batchId) {
        if (batches === 3) throw new Error('simulated crash');
        batches++;
        return real.send(text, batchId);
      },
      async close() {},
    };
    await assert.rejects(
      ship({
        inputs: [file],
        format: 'ndjson',
        sender: crashing,
        checkpointPath: checkpoint,
        batchLines: 400,
      }),
      /simulated crash/,
    );
    const saved = JSON.parse(readFileSync(checkpoint, 'utf8')) as {
      files: Record<string, { lines: number }>;
    };
    assert.equal(Object.values(saved.files)[0]!.lines, 1200, 'checkpoint holds exactly the acked batches');
    const rest = await ship({
      inputs: [file],
      format: 'ndjson',
      sender: real,
      checkpointPath: checkpoint,
      batchLines: 400,
    });
    assert.equal(rest.lines, 1300);
    const again = await ship({
      inputs: [file],
      format: 'ndjson',
      sender: real,
      checkpointPath: checkpoint,
      batchLines: 400,
    });
    assert.equal(again.lines, 0, 'a third run finds nothing new');
    const counts = await countPaths(from, `/ship/${tag}/`, 2500);
    assert.equal(counts.size, 2500, 'no line lost');
    assert.ok(
      [...counts.values()].every((c) => c === 1),
      'no line repeated',
    );
  });

  it('--follow ships lines appended to a growing file, holding a partial last line until it is complete', async () => {
    const tag = `follow-${Date.now()}`;
    const file = join(dir, 'growing.log');
    writeFileSync(file, lines(tag, 0, 10));
    const from = await endOffsets(endpoints, TOPICS.requests.name);
    let stop = false;
    const sender = httpSender(ingest.url, 'ndjson', 'ndjson-key-0123456789');
    const running = ship({
      inputs: [file],
      format: 'ndjson',
      sender,
      checkpointPath: join(dir, 'f.json'),
      follow: true,
      batchLines: 5,
      stopped: () => stop,
    });
    await sleep(700);
    const more = lines(tag, 10, 10);
    appendFileSync(file, more.slice(0, 50)); // half a line first
    await sleep(700);
    appendFileSync(file, more.slice(50));
    await sleep(1_500);
    stop = true;
    const summary = await running;
    assert.equal(summary.lines, 20);
    const counts = await countPaths(from, `/ship/${tag}/`, 20);
    assert.equal(counts.size, 20);
  });
});
