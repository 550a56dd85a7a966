/**
 * Reads complete lines from a file (plain or gzip, by magic bytes) or stdin, starting at a byte
 * offset of the decompressed text, optionally following a growing plain file. Yields chunks of
 * whole lines with the offset just past them, so the checkpoint never splits a line.
 */
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { LIMITS } from '../../core/limits.ts';

export interface LineChunk {
  lines: string[];
  /** Offset (decompressed bytes) just past the last line of this chunk. */
  endOffset: number;
}

export function isGzipFile(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(2);
    return readSync(fd, b, 0, 2, 0) === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

/** The first `n` bytes of the decompressed text. */
export async function headBytes(path: string, n: number): Promise<Buffer> {
  const stream: Readable = isGzipFile(path)
    ? createReadStream(path).pipe(createGunzip())
    : createReadStream(path, { end: n - 1 });
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    parts.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size >= n) break;
  }
  stream.destroy();
  return Buffer.concat(parts).subarray(0, n);
}

async function* splitStream(
  stream: AsyncIterable<Buffer>,
  startOffset: number,
  skip: number,
): AsyncGenerator<LineChunk | { rest: Buffer; offset: number }> {
  let carry: Buffer = Buffer.alloc(0);
  let offset = startOffset; // offset of carry[0]
  let toSkip = skip;
  for await (const raw of stream) {
    let chunk: Buffer = raw;
    if (toSkip > 0) {
      if (chunk.length <= toSkip) {
        toSkip -= chunk.length;
        continue;
      }
      chunk = chunk.subarray(toSkip);
      toSkip = 0;
    }
    const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    const lastNl = buf.lastIndexOf(10);
    if (lastNl === -1) {
      carry = buf;
      continue;
    }
    const text = buf.subarray(0, lastNl).toString('utf8');
    const lines = text.split('\n');
    offset += lastNl + 1;
    carry = buf.subarray(lastNl + 1);
    yield { lines, endOffset: offset };
  }
  yield { rest: carry, offset };
}

export interface ReadOptions {
  startOffset: number;
  follow: boolean;
  /** Stop following when this resolves true (SIGINT). */
  stopped: () => boolean;
  pollMs?: number;
}

/** Line chunks of a file from `startOffset`; with `follow`, waits for growth until stopped. */
export async function* readFileLines(path: string, options: ReadOptions): AsyncGenerator<LineChunk> {
  const gzip = isGzipFile(path);
  let offset = options.startOffset;
  let partial: Buffer = Buffer.alloc(0);
  for (;;) {
    const stream: AsyncIterable<Buffer> = gzip
      ? createReadStream(path).pipe(createGunzip())
      : createReadStream(path, { start: offset + partial.length });
    // A gzip stream restarts from its beginning: skip what was already read.
    const skip = gzip ? offset : 0;
    const source = partial.length ? prefixed(partial, stream) : stream;
    for await (const out of splitStream(source, offset, skip)) {
      if ('lines' in out) {
        offset = out.endOffset;
        yield out;
      } else {
        partial = out.rest;
      }
    }
    if (!options.follow || gzip) {
      if (partial.length > 0 && partial.toString('utf8').trim() !== '') {
        yield { lines: [partial.toString('utf8')], endOffset: offset + partial.length };
      }
      return;
    }
    // Follow: wait for the file to grow (or stop).
    const known = offset + partial.length;
    for (;;) {
      if (options.stopped()) return;
      await new Promise((r) => setTimeout(r, options.pollMs ?? LIMITS.shipFollowPollMs));
      if (statSync(path).size > known) break;
      if (options.stopped()) return;
    }
  }
}

async function* prefixed(first: Buffer, rest: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  yield first;
  yield* rest;
}

/** Line chunks of stdin (no checkpoint: a pipe cannot be resumed). */
export async function* readStdinLines(stdin: AsyncIterable<Buffer>): AsyncGenerator<LineChunk> {
  for await (const out of splitStream(stdin, 0, 0)) {
    if ('lines' in out) yield out;
    else if (out.rest.length > 0)
      yield { lines: [out.rest.toString('utf8')], endOffset: out.offset + out.rest.length };
  }
}
