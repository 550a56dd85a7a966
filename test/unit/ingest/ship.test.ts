import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { RetriableSendError, type Sender, ship } from '../../../ingest/ship/index.ts';

function stdin(lines: string[]): Readable {
  return Readable.from([Buffer.from(`${lines.join('\n')}\n`)]);
}

describe('ship batching and retries (in-memory sender)', () => {
  it('cuts stdin into batches of the configured size and sums the answers', async () => {
    const sent: string[][] = [];
    const sender: Sender = {
      async send(text) {
        const lines = text.trimEnd().split('\n');
        sent.push(lines);
        return { accepted: lines.length, deadLettered: 0 };
      },
      async close() {},
    };
    const lines = Array.from({ length: 25 }, (_, i) => `line-${i}`);
    const summary = await ship({
      inputs: ['-'],
      format: 'ndjson',
      sender,
      checkpointPath: null,
      batchLines: 10,
      stdin: stdin(lines),
    });
    assert.deepEqual(
      sent.map((b) => b.length),
      [10, 10, 5],
    );
    assert.deepEqual(sent.flat(), lines, 'every line once, in order');
    assert.equal(summary.accepted, 25);
    assert.equal(summary.batches, 3);
  });

  it('retries a 503-like failure with back-off, honouring Retry-After, then succeeds', async () => {
    let calls = 0;
    const waits: number[] = [];
    const sender: Sender = {
      async send() {
        calls++;
        if (calls <= 2) throw new RetriableSendError('503', 1000);
        return { accepted: 1, deadLettered: 0 };
      },
      async close() {},
    };
    const summary = await ship({
      inputs: ['-'],
      format: 'ndjson',
      sender,
      checkpointPath: null,
      stdin: stdin(['x']),
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    assert.equal(summary.retries, 2);
    assert.equal(summary.accepted, 1);
    assert.ok(
      waits.every((w) => w >= 1000),
      'never retries sooner than Retry-After',
    );
  });

  it('gives up with ING_ERR_SHIP_GAVE_UP after the attempt limit', async () => {
    const sender: Sender = {
      async send() {
        throw new RetriableSendError('network');
      },
      async close() {},
    };
    await assert.rejects(
      ship({
        inputs: ['-'],
        format: 'ndjson',
        sender,
        checkpointPath: null,
        stdin: stdin(['x']),
        attemptsMax: 3,
        sleep: async () => {},
      }),
      (err: Error & { code?: string }) => err.code === 'ING_ERR_SHIP_GAVE_UP',
    );
  });

  it('stops at once on a non-retriable answer (e.g. 401)', async () => {
    let calls = 0;
    const sender: Sender = {
      async send() {
        calls++;
        throw new Error('401');
      },
      async close() {},
    };
    await assert.rejects(
      ship({ inputs: ['-'], format: 'ndjson', sender, checkpointPath: null, stdin: stdin(['x']) }),
      /401/,
    );
    assert.equal(calls, 1);
  });
});
