/**
 * The ship checkpoint: per input file, the byte offset (of the decompressed text) up to which
 * every line was acked, plus a fingerprint of the file's first bytes so a rotated or replaced file
 * is never resumed at a stale offset. Written atomically (temp file + rename) after each ack.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { LeechguardError } from '../../core/errors.ts';

export interface FileCheckpoint {
  /** sha256 of the first FINGERPRINT_BYTES of the (decompressed) text. */
  fingerprint: string;
  offsetBytes: number;
  lines: number;
  /** CloudFront standard: the last `#Fields` line, re-sent ahead of every later batch. */
  fieldsHeader: string | null;
}

export interface Checkpoint {
  version: 1;
  files: Record<string, FileCheckpoint>;
}

/** Bytes hashed to recognise a file: enough to include a log's header and first lines. */
export const FINGERPRINT_BYTES = 1024;

export function fingerprint(head: Buffer): string {
  return createHash('sha256').update(head.subarray(0, FINGERPRINT_BYTES)).digest('hex');
}

export function readCheckpoint(path: string): Checkpoint {
  if (!existsSync(path)) return { version: 1, files: {} };
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Checkpoint;
    if (parsed.version !== 1 || typeof parsed.files !== 'object')
      throw new Error('unknown checkpoint version');
    return parsed;
  } catch (cause) {
    throw new LeechguardError('ING_ERR_SHIP_CHECKPOINT_INVALID', `${path}: ${(cause as Error).message}`, {
      cause,
    });
  }
}

export function writeCheckpoint(path: string, checkpoint: Checkpoint): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(checkpoint, null, 2));
  renameSync(tmp, path);
}
