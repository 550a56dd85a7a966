/** Small process helpers for the local stack: free ports, detached spawns, exact-pid stopping. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts a long-lived process detached from us, output appended to logFile. */
export function spawnDetached(command: string, args: string[], logFile: string, cwd: string): number {
  const out = openSync(logFile, 'a');
  const child = spawn(command, args, { cwd, detached: true, stdio: ['ignore', out, out] });
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  return child.pid;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** True when pid is alive and its command line contains marker (so a reused pid is never killed). */
export function isOurs(pid: number, marker: string): boolean {
  if (!isAlive(pid)) return false;
  const file = `/proc/${pid}/cmdline`;
  if (!existsSync(file)) return true; // no procfs (macOS): trust the recorded pid
  try {
    return readFileSync(file, 'utf8').includes(marker);
  } catch {
    return false;
  }
}

/** Resident memory of a process in MiB, from procfs (undefined where there is none). */
export function rssMiB(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Math.round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

/** SIGTERM, then SIGKILL after graceMs; resolves when the process is gone. */
export async function stopProcess(pid: number, graceMs: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
    while (isAlive(pid)) await sleep(50);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function commandVersion(command: string, args: string[]): string | undefined {
  const res = spawnSync(command, args, { encoding: 'utf8' });
  if (res.error || res.status !== 0) return undefined;
  return (res.stdout + res.stderr).split('\n')[0]?.trim();
}
