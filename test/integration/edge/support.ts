/**
 * Helpers of the edge tests: a denylist writer doing what the enforcer's writer does (HSET +
 * PEXPIREAT + PUBLISH, atomically) and a private redis-server for tests that FLUSHALL or kill it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { RevokedSubjectKind } from '../../../core/schemas/generated.ts';
import { freePort } from '../../../core/stack/processes.ts';
import {
  DENY_CHANGES_CHANNEL,
  type DenyEntry,
  denyKey,
  entryToFields,
} from '../../../enforcer/denylist/keys.ts';
import { waitFor } from '../../support/wait.ts';

export function denyEntry(overrides: Partial<DenyEntry> = {}): DenyEntry {
  const now = Date.now();
  return {
    action: 'block_token',
    reason: 'token shared across 9 networks',
    rule: 'token-network-spread',
    revocationId: `rev-${Math.random().toString(16).slice(2, 10)}`,
    expiresAtMs: now + 3_600_000, // beyond any ManualClock advance in the tests
    issuedAtMs: now,
    slate: null,
    throttleKbps: null,
    ...overrides,
  };
}

/** Writes one denylist entry and announces it, as the enforcer's writer does. */
export async function writeDeny(
  redis: Redis,
  kind: RevokedSubjectKind,
  subject: string,
  entry: DenyEntry,
  publish = true,
): Promise<void> {
  const key = denyKey(kind, subject);
  const multi = redis
    .multi()
    .del(key)
    .hset(key, ...entryToFields(entry))
    .pexpireat(key, entry.expiresAtMs);
  if (publish) multi.publish(DENY_CHANGES_CHANNEL, JSON.stringify({ op: 'set', kind, subject, entry }));
  await multi.exec();
}

/** Lifts one entry and announces it. */
export async function liftDeny(redis: Redis, kind: RevokedSubjectKind, subject: string): Promise<void> {
  await redis
    .multi()
    .del(denyKey(kind, subject))
    .publish(DENY_CHANGES_CHANNEL, JSON.stringify({ op: 'del', kind, subject }))
    .exec();
}

export interface PrivateRedis {
  url: string;
  port: number;
  /** SIGKILL, then a new redis-server on the same port and dir (it loads the last SAVE, if any). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts a throwaway redis-server (no persistence) that a test may FLUSHALL or kill; with
 * `password`, it requires AUTH (the url carries the password); with `aclFile`, its users are
 * those of the file and the url logs in as `user`.
 */
export async function startPrivateRedis(
  options: { password?: string; aclFile?: string; user?: string } = {},
): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'lg-edge-redis-'));
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
  ];
  if (options.aclFile) args.push('--aclfile', options.aclFile);
  else if (options.password) args.push('--requirepass', options.password);
  const url = options.password
    ? `redis://${encodeURIComponent(options.user ?? '')}:${encodeURIComponent(options.password)}@127.0.0.1:${port}`
    : `redis://127.0.0.1:${port}`;
  const launch = async (): Promise<ChildProcess> => {
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      await waitFor(
        `private redis-server on ${port} to start`,
        async () => {
          try {
            if (probe.status !== 'ready') await probe.connect();
            return (await probe.ping()) === 'PONG';
          } catch {
            probe.disconnect();
            return false;
          }
        },
        5_000,
        50,
      );
    } finally {
      probe.disconnect();
    }
    return child;
  };
  const kill = async () => {
    // Safe to call twice: a child killed by a signal keeps exitCode null, so check both.
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
  };
  let child = await launch();
  return {
    url,
    port,
    async restart() {
      await kill();
      child = await launch();
    },
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
