/**
 * Fault: two enforcer instances (child processes, one consumer group) under a stream of flags,
 * lifts and policy changes, each SIGKILLed at random points and restarted. What must hold at the
 * end: Redis holds exactly the active revocations, each revocation id is issued once on the
 * revocations topic, and no lifted entry comes back.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { withTimeout } from '../../../core/kafka.ts';
import { sleep } from '../../../core/stack/processes.ts';
import { denyKey } from '../../../enforcer/denylist/keys.ts';
import { testEndpoints, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import { type PrivateRedis, startPrivateRedis } from '../edge/support.ts';
import {
  ANALYST_KEY,
  exited,
  type FlagProducer,
  flag,
  flagProducer,
  OPERATOR_KEY,
  readRevocations,
  startChild,
} from '../enforcer/support.ts';

const ROUNDS = 4;
const FLAGS_PER_ROUND = 6;
const HOUR_MS = 3_600_000;

/** A seeded generator: a failing run can be replayed with its seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

interface Revocation {
  id: string;
  subjectKey: string;
  status: 'active' | 'lifted' | 'expired';
}

describe('two enforcers SIGKILLed at random points', () => {
  let dir: string;
  let priv: PrivateRedis;
  let producer: FlagProducer;
  const children: ChildProcess[] = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lg-enf-kill-'));
    priv = await startPrivateRedis();
    producer = await flagProducer();
  });
  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await producer?.close();
    await priv?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('Redis equals the active revocations, each id issued once, no lifted entry back', {
    timeout: 300_000,
  }, async (t) => {
    const seed = Number(process.env.LEECHGUARD_FAULT_SEED ?? Date.now() % 100_000);
    t.diagnostic(`seed ${seed} (LEECHGUARD_FAULT_SEED replays it)`);
    const random = rng(seed);
    const ep = await testEndpoints();
    const run = randomUUID().slice(0, 6);
    const ruleA = `t${run}-kill-a`;
    const ruleB = `t${run}-kill-b`;
    const groupId = uniqueName('enf-kill');
    const configFile = join(dir, 'enforcer.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        kafka: { brokers: ep.kafkaBrokers },
        registry: { url: ep.registryUrl },
        redis: { url: priv.url },
        http: {
          port: 0,
          apiKeys: [
            { name: 'alice', key: ANALYST_KEY, roles: ['analyst'] },
            { name: 'olga', key: OPERATOR_KEY, roles: ['operator'] },
          ],
        },
        log: { level: 'warn' },
        anomalies: { groupId },
        policies: {
          rules: {
            [ruleA]: { mode: 'automate', action: 'block_token', durationMs: HOUR_MS },
            [ruleB]: { mode: 'automate', action: 'block_token', durationMs: HOUR_MS },
          },
        },
      }),
    );
    const instances: Array<{ child: ChildProcess; url: string } | undefined> = [undefined, undefined];
    const launch = async (i: number) => {
      const started = startChild(configFile, {});
      children.push(started.child);
      instances[i] = {
        child: started.child,
        url: await withTimeout(started.url, 90_000, `enforcer ${i} to start`),
      };
    };
    const kill = async (i: number) => {
      const inst = instances[i];
      instances[i] = undefined;
      if (!inst) return;
      inst.child.kill('SIGKILL');
      await exited(inst.child);
    };
    const api = async (method: string, path: string, body?: unknown) => {
      const alive = instances.filter((x) => x !== undefined);
      const inst = alive[Math.floor(random() * alive.length)];
      if (!inst) return undefined;
      try {
        const res = await fetch(`${inst.url}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${method === 'GET' ? ANALYST_KEY : OPERATOR_KEY}`,
            ...(body ? { 'content-type': 'application/json' } : {}),
          },
          ...(body ? { body: JSON.stringify(body) } : {}),
        });
        return { status: res.status, json: (await res.json()) as { items?: Revocation[] } };
      } catch {
        return undefined; // the instance was killed under the request
      }
    };
    const redis = new Redis(priv.url);
    const subjects = new Set<string>();
    const lifted = new Set<string>();
    try {
      await launch(0);
      await launch(1);
      for (let round = 0; round < ROUNDS; round++) {
        const flags = Array.from({ length: FLAGS_PER_ROUND }, () => {
          const tokenHash = `th-${run}-${randomUUID().slice(0, 12)}`;
          subjects.add(tokenHash);
          return flag({
            rule: random() < 0.5 ? ruleA : ruleB,
            tokenHash,
            tokenExpiresAtMs: Date.now() + HOUR_MS,
          });
        });
        await producer.send(flags);
        // A policy change on either instance: rule B between automate and monitor.
        await api('PUT', `/v1/policies/rules/${ruleB}`, {
          policy: {
            mode: random() < 0.5 ? 'monitor' : 'automate',
            action: 'block_token',
            durationMs: HOUR_MS,
          },
          comment: `round ${round}`,
        });
        // Lift one active revocation of ours, if any is listed yet.
        const list = await api('GET', `/v1/revocations?rule=${ruleA}&status=active&limit=100`);
        const active = (list?.json.items ?? []).filter((r) => subjects.has(r.subjectKey));
        const victim = active[Math.floor(random() * active.length)];
        if (victim) {
          const res = await api('POST', `/v1/revocations/${victim.id}/lift`, { reason: 'appeal' });
          if (res?.status === 200) lifted.add(victim.id);
        }
        // Kill one instance (now and then both) after a random delay, then bring it back.
        await sleep(Math.floor(random() * 1_500));
        const both = random() < 0.2;
        const which = random() < 0.5 ? 0 : 1;
        await kill(which);
        if (both) await kill(1 - which);
        await launch(which);
        if (both) await launch(1 - which);
      }
      // Quiescence: every flag handled (committed) by the survivors.
      const final = async () => {
        const out: Revocation[] = [];
        for (const rule of [ruleA, ruleB]) {
          const res = await api('GET', `/v1/revocations?rule=${rule}&limit=1000`);
          out.push(...(res?.json.items ?? []).filter((r) => subjects.has(r.subjectKey)));
        }
        return out;
      };
      let revocations: Revocation[] = [];
      let stable = 0;
      let lastCount = -1;
      await waitFor(
        'the revocations to settle',
        async () => {
          revocations = await final();
          stable = revocations.length === lastCount ? stable + 1 : 0;
          lastCount = revocations.length;
          return stable >= 20; // unchanged for a second
        },
        90_000,
      );

      const active = revocations.filter((r) => r.status === 'active');
      const liftedNow = revocations.filter((r) => r.status === 'lifted');
      t.diagnostic(
        `${subjects.size} flags, ${revocations.length} revocations (${active.length} active, ${liftedNow.length} lifted)`,
      );
      for (const id of lifted) {
        assert.ok(
          liftedNow.some((r) => r.id === id),
          `lift of ${id} answered 200 but it is not lifted`,
        );
      }
      // Redis holds exactly the active revocations of our subjects.
      const inRedis = new Map<string, string | null>();
      for (const s of subjects) {
        const id = await redis.hget(denyKey('token', s), 'revocationId');
        if (id !== null) inRedis.set(s, id);
      }
      assert.deepEqual(
        [...inRedis].sort(),
        active.map((r) => [r.subjectKey, r.id]).sort(),
        'Redis equals the active revocation set',
      );
      for (const r of liftedNow) assert.ok(!inRedis.has(r.subjectKey), `lifted ${r.id} back in Redis`);
      // Each revocation issued once on the topic (a lift adds its one lifted record).
      const records = await readRevocations(new Set(revocations.map((r) => r.id)));
      const byId = new Map<string, string[]>();
      for (const rec of records) byId.set(rec.key, [...(byId.get(rec.key) ?? []), rec.value.state]);
      for (const r of revocations) {
        const states = byId.get(r.id) ?? [];
        assert.equal(states.filter((s) => s === 'active').length, 1, `${r.id} issued ${states.join(',')}`);
        assert.ok(states.filter((s) => s === 'lifted').length <= 1, `${r.id} lifted twice`);
      }
    } finally {
      redis.disconnect();
      for (let i = 0; i < 2; i++) {
        const inst = instances[i];
        if (inst) {
          inst.child.kill('SIGTERM');
          await exited(inst.child).catch(() => undefined);
        }
      }
    }
  });
});
