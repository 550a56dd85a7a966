/**
 * SIGKILL of the enforcer between the Redis write and the audit write ends with one revocation,
 * not zero or two: the flag's offset was not committed, so the restarted enforcer replays it,
 * rebuilds the same deterministic revocation, finds it in Redis (no-op) and produces it once.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { PROJECT_ROOT } from '../../../core/endpoints.ts';
import { denyKey } from '../../../enforcer/denylist/keys.ts';
import { testEndpoints, uniqueName } from '../../support/stack.ts';
import { ANALYST_KEY, type FlagProducer, flag, flagProducer, readRevocations, waitFor } from './support.ts';

const RULE = `t${randomUUID().slice(0, 6)}-crash`;

function startChild(
  configFile: string,
  env: Record<string, string>,
): { child: ChildProcess; url: Promise<string> } {
  const child = spawn(
    process.execPath,
    [join(PROJECT_ROOT, 'bin/leechguard.mjs'), 'enforcer', '--config', configFile],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  const url = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /enforcer listening on (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`enforcer exited early (${code ?? signal}): ${err}${out}`)),
    );
  });
  return { child, url };
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

describe('enforcer crash between the Redis write and the audit write', () => {
  let dir: string;
  let configFile: string;
  let producer: FlagProducer;
  let redis: Redis;
  const children: ChildProcess[] = [];

  before(async () => {
    const ep = await testEndpoints();
    dir = mkdtempSync(join(tmpdir(), 'lg-enf-crash-'));
    configFile = join(dir, 'enforcer.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        kafka: { brokers: ep.kafkaBrokers },
        registry: { url: ep.registryUrl },
        redis: { url: ep.redisUrl },
        http: { port: 0, apiKeys: [{ name: 'alice', key: ANALYST_KEY, roles: ['analyst'] }] },
        log: { level: 'warn' },
        anomalies: { groupId: uniqueName('enf-crash') },
        policies: { rules: { [RULE]: { mode: 'automate', action: 'block_token', durationMs: 600_000 } } },
      }),
    );
    producer = await flagProducer();
    redis = new Redis(ep.redisUrl);
  });

  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await producer?.close();
    redis?.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ends with exactly one revocation in Redis and on the topic', async () => {
    const first = startChild(configFile, { LEECHGUARD_ENF_CRASH_AT: 'after-redis-write' });
    children.push(first.child);
    await first.url;
    const f = flag({ rule: RULE, tokenHash: `th-${randomUUID()}` });
    await producer.send([f]);
    const { signal } = await exited(first.child);
    assert.equal(signal, 'SIGKILL', 'the enforcer died at the crash point');

    const key = denyKey('token', f.tokenHash!);
    const revocationId = await redis.hget(key, 'revocationId');
    assert.ok(revocationId, 'the Redis write happened before the crash');
    assert.equal((await readRevocations(new Set([revocationId]))).length, 0, 'the audit write did not');

    const second = startChild(configFile, {});
    children.push(second.child);
    const url = await second.url;
    const records = await waitFor('the replayed audit record', async () => {
      const r = await readRevocations(new Set([revocationId]));
      return r.length > 0 ? r : undefined;
    });
    // The replay is done once the record is there; give a duplicate the chance to show up.
    const listed = await waitFor('the revocation in the API', async () => {
      const res = await fetch(`${url}/v1/revocations/${revocationId}`, {
        headers: { authorization: `Bearer ${ANALYST_KEY}` },
      });
      return res.status === 200 ? ((await res.json()) as { status: string }) : undefined;
    });
    second.child.kill('SIGTERM');
    const stopped = await exited(second.child);
    assert.equal(stopped.code, 0, 'graceful shutdown');

    assert.equal(records.length, 1);
    assert.equal((await readRevocations(new Set([revocationId]))).length, 1, 'one record, not two');
    assert.equal(listed.status, 'active');
    assert.equal(await redis.hget(key, 'revocationId'), revocationId, 'one entry, not zero');
  });
});
