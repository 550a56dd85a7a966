/**
 * SIGKILL of the enforcer between the Redis write and the audit write ends with one revocation,
 * not zero or two: the flag's offset was not committed, so the restarted enforcer replays it,
 * rebuilds the same deterministic revocation, finds it in Redis (no-op) and produces it once.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createKafka, withTimeout } from '../../../core/kafka.ts';
import { createLogger } from '../../../core/log.ts';
import { TOPICS } from '../../../core/topics.ts';
import { denyKey } from '../../../enforcer/denylist/keys.ts';
import { testEndpoints, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import {
  ANALYST_KEY,
  exited,
  type FlagProducer,
  flag,
  flagProducer,
  readRevocations,
  startChild,
} from './support.ts';

const RULE = `t${randomUUID().slice(0, 6)}-crash`;

/** Offset the group has committed on a partition of the anomalies topic (-1: none). */
async function committedOffset(groupId: string, partition: number): Promise<number> {
  const ep = await testEndpoints();
  const admin = createKafka(
    { brokers: ep.kafkaBrokers, clientId: 'enf-test-offsets', ssl: false, replicationFactor: 1 },
    createLogger('test', 'silent'),
  ).admin();
  await admin.connect();
  try {
    const [topic] = await admin.fetchOffsets({ groupId, topics: [TOPICS.anomalies.name] });
    return Number(topic?.partitions.find((p) => p.partition === partition)?.offset ?? -1);
  } finally {
    await admin.disconnect();
  }
}

describe('enforcer crashes (SIGKILL of a child process) end with one revocation', () => {
  let dir: string;
  let producer: FlagProducer;
  let redis: Redis;
  const children: ChildProcess[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lg-enf-crash-'));
    producer = await flagProducer();
    redis = new Redis((await testEndpoints()).redisUrl);
  });

  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await producer?.close();
    redis?.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  async function writeConfig(groupId: string): Promise<string> {
    const ep = await testEndpoints();
    const file = join(dir, `${groupId}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        kafka: { brokers: ep.kafkaBrokers },
        registry: { url: ep.registryUrl },
        redis: { url: ep.redisUrl },
        http: { port: 0, apiKeys: [{ name: 'alice', key: ANALYST_KEY, roles: ['analyst'] }] },
        log: { level: 'warn' },
        anomalies: { groupId },
        policies: { rules: { [RULE]: { mode: 'automate', action: 'block_token', durationMs: 600_000 } } },
      }),
    );
    return file;
  }

  /** Crashes a child at `point` on one flag, restarts it, waits for the replay to be committed. */
  async function crashAndReplay(
    point: string,
  ): Promise<{ revocationId: string; key: string; recordsAtCrash: number }> {
    const groupId = uniqueName('enf-crash');
    const configFile = await writeConfig(groupId);
    const first = startChild(configFile, { LEECHGUARD_ENF_CRASH_AT: point });
    children.push(first.child);
    await withTimeout(first.url, 60_000, 'the first enforcer to start');
    const f = flag({ rule: RULE, tokenHash: `th-${randomUUID()}` });
    const [sent] = await producer.send([f]);
    const { signal } = await exited(first.child);
    assert.equal(signal, 'SIGKILL', 'the enforcer died at the crash point');
    assert.ok(
      (await committedOffset(groupId, sent!.partition)) <= sent!.offset,
      'the flag was not committed',
    );

    const key = denyKey('token', f.tokenHash!);
    const revocationId = await redis.hget(key, 'revocationId');
    assert.ok(revocationId, 'the Redis write happened before the crash');
    const recordsAtCrash = (await readRevocations(new Set([revocationId]))).length;

    const second = startChild(configFile, {});
    children.push(second.child);
    await withTimeout(second.url, 60_000, 'the restarted enforcer to start');
    await waitFor(
      'the replay committed',
      async () => (await committedOffset(groupId, sent!.partition)) > sent!.offset,
      30_000,
    );
    second.child.kill('SIGTERM');
    assert.equal((await exited(second.child)).code, 0, 'graceful shutdown');
    return { revocationId, key, recordsAtCrash };
  }

  it('between the Redis write and the audit write: the replay writes the audit once', {
    timeout: 120_000,
  }, async () => {
    const { revocationId, key, recordsAtCrash } = await crashAndReplay('after-redis-write');
    assert.equal(recordsAtCrash, 0, 'the audit write had not happened');
    const records = await readRevocations(new Set([revocationId]));
    assert.equal(records.length, 1, 'one record, not zero or two');
    assert.equal(records[0]!.value.state, 'active');
    assert.equal(await redis.hget(key, 'revocationId'), revocationId, 'one entry in Redis');
  });

  it('after both writes but before the commit: the replay writes nothing again', {
    timeout: 120_000,
  }, async () => {
    const { revocationId, key, recordsAtCrash } = await crashAndReplay('before-commit');
    assert.equal(recordsAtCrash, 1, 'the audit write had happened');
    assert.equal((await readRevocations(new Set([revocationId]))).length, 1, 'still one record, not two');
    assert.equal(await redis.hget(key, 'revocationId'), revocationId, 'one entry in Redis');
  });
});
