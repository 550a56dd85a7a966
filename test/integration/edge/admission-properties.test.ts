/**
 * Properties of session admission (scripts/session.lua through SessionService) checked with
 * random operation sequences on a private redis-server (it is flushed between and within runs).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { ManualClock } from '../../../core/clock.ts';
import { TokenHasher, tokenHashingSection } from '../../../core/token-hash.ts';
import { EdgeClient } from '../../../enforcer/edge-client/client.ts';
import { type SessionsConfig, sessionsSection } from '../../../enforcer/sessions/config.ts';
import { contentMatches, PlanView } from '../../../enforcer/sessions/plans.ts';
import { SessionService } from '../../../enforcer/sessions/service.ts';
import { type PrivateRedis, startPrivateRedis } from './support.ts';

const PLAN = {
  streamLimit: 4,
  perTitleLimit: 1,
  concurrencyGroups: [{ groupId: 'studio-x', limit: 2, contentIdPatterns: ['x-*'] }],
};
const CONTENTS = ['x-1', 'x-2', 'x-3', 'y-1', 'y-2'];
const GRACE_MS = 90_000;

describe('session admission properties (private redis-server)', () => {
  let priv: PrivateRedis;
  let redis: Redis;
  let edge: EdgeClient;
  let clock: ManualClock;
  let service: SessionService;

  before(async () => {
    priv = await startPrivateRedis();
    redis = new Redis(priv.url);
    edge = new EdgeClient({ redisUrl: priv.url });
    await edge.start();
    clock = new ManualClock(1_700_000_000_000);
    const config: SessionsConfig = sessionsSection.parse({
      ghostGraceMs: GRACE_MS,
      defaultPlans: { default: PLAN },
    });
    service = new SessionService({
      redis,
      plans: new PlanView(config.defaultPlans),
      edge,
      sink: { push() {} },
      clock,
      hasher: new TokenHasher(tokenHashingSection.parse({})),
      config,
    });
  });
  after(async () => {
    await edge.close();
    redis.disconnect();
    await priv.stop();
  });

  async function assertWithinLimits(accountId: string): Promise<void> {
    const active = await service.list(accountId);
    assert.ok(active.length <= PLAN.streamLimit, `stream limit: ${active.length}`);
    for (const c of CONTENTS) {
      assert.ok(active.filter((s) => s.contentId === c).length <= PLAN.perTitleLimit, `title limit on ${c}`);
    }
    const inGroup = active.filter((s) => contentMatches('x-*', s.contentId)).length;
    assert.ok(inGroup <= 2, `group limit: ${inGroup}`);
  }

  type Op =
    | { kind: 'start'; device: number; content: number; terminate: number | null }
    | { kind: 'beat'; which: number }
    | { kind: 'stop'; which: number }
    | { kind: 'advance'; ms: number };

  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({
      kind: fc.constant('start' as const),
      device: fc.nat(5),
      content: fc.nat(CONTENTS.length - 1),
      terminate: fc.option(fc.nat(20), { nil: null }),
    }),
    fc.record({ kind: fc.constant('beat' as const), which: fc.nat(20) }),
    fc.record({ kind: fc.constant('stop' as const), which: fc.nat(20) }),
    fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 60_000 }) }),
  );

  test('whatever the sequence of starts, heartbeats, stops and silences, no limit is ever exceeded', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 30 }), async (ops) => {
        const accountId = `prop-${run++}`;
        const known: string[] = [];
        for (const o of ops) {
          if (o.kind === 'start') {
            try {
              const r = await service.start({
                accountId,
                deviceId: `d${o.device}`,
                contentId: CONTENTS[o.content]!,
                terminateSessionId:
                  o.terminate === null ? undefined : known[o.terminate % Math.max(1, known.length)],
              });
              known.push(r.sessionId);
            } catch (err) {
              assert.equal((err as { code?: string }).code, 'ENF_ERR_SESSION_LIMIT_REACHED');
            }
          } else if (o.kind === 'beat' && known.length > 0) {
            await service.heartbeat(known[o.which % known.length]!, { accountId });
          } else if (o.kind === 'stop' && known.length > 0) {
            await service.stop(known[o.which % known.length]!, accountId).catch(() => {});
          } else if (o.kind === 'advance') {
            clock.advance(o.ms);
          }
          await assertWithinLimits(accountId);
        }
      }),
      { numRuns: 25 },
    );
  });

  test('after losing all state, every session that was within the limits comes back, whatever started in the gap and in whatever order they heartbeat', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ device: fc.nat(5), content: fc.nat(CONTENTS.length - 1) }), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.array(fc.record({ device: fc.nat(5), content: fc.nat(CONTENTS.length - 1) }), { maxLength: 4 }),
        fc.infiniteStream(fc.nat()),
        async (before, gap, order) => {
          const accountId = `flush-${run++}`;
          const admitted: Array<{ id: string; d: string; c: string; s: number }> = [];
          for (const b of before) {
            clock.advance(1_000);
            try {
              const d = `d${b.device}`;
              const c = CONTENTS[b.content]!;
              const r = await service.start({ accountId, deviceId: d, contentId: c });
              admitted.push({ id: r.sessionId, d, c, s: clock.nowMs() });
            } catch {
              // refused: a limit was full
            }
          }
          await redis.flushall();
          for (const g of gap) {
            clock.advance(1_000);
            await service
              .start({ accountId, deviceId: `g${g.device}`, contentId: CONTENTS[g.content]! })
              .catch(() => {});
          }
          const shuffled = [...admitted];
          const it = order[Symbol.iterator]();
          for (let i = shuffled.length - 1; i > 0; i--) {
            const j = it.next().value! % (i + 1);
            [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
          }
          clock.advance(1_000);
          for (const a of shuffled) {
            const hb = await service.heartbeat(a.id, {
              accountId,
              deviceId: a.d,
              contentId: a.c,
              startedAtMs: a.s,
            });
            assert.equal(hb.action, 'continue', `session started at ${a.s} was told to ${hb.action}`);
          }
          const active = new Set((await service.list(accountId)).map((s) => s.sessionId));
          for (const a of admitted) assert.ok(active.has(a.id));
          await assertWithinLimits(accountId);
        },
      ),
      { numRuns: 25 },
    );
  });
});
