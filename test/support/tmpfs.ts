/** A small tmpfs for disk-full tests, and a file that fills it. */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Tmpfs {
  dir: string;
  /** Unmounts (lazily: a killed child may still hold a file) and removes the mount point. */
  unmount(): void;
}

/**
 * Mounts a tmpfs of `size` (mount's notation: `16m`) on a fresh directory; where mounting is not
 * permitted, returns the reason instead, for the test to skip with.
 */
export function mountTmpfs(size: string): Tmpfs | string {
  const dir = mkdtempSync(join(tmpdir(), 'lg-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    return `cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): ${String((err as Error).message).split('\n')[0]}`;
  }
  return {
    dir,
    unmount() {
      execFileSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Size of each write of `fillDisk`: what it may leave free at most. */
const FILL_CHUNK_BYTES = 64 * 1024;

/** Writes a file in `dir` until the disk says ENOSPC; returns its path. */
export function fillDisk(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(FILL_CHUNK_BYTES, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  return path;
}
