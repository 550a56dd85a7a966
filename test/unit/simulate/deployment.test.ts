/**
 * Deployment shapes: a tenant with CDN logs only, heartbeats for some tenants only, heartbeats
 * arriving late; and the frozen seed set.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSimulation } from '../../../simulate/engine.ts';
import { FROZEN_SEED, FROZEN_SEEDS } from '../../../simulate/frozen.ts';
import type { SimEvent } from '../../../simulate/model.ts';

const BASE = {
  seed: 'shapes',
  viewers: 200,
  abuserFraction: 0.06,
  resaleClients: [5, 8] as [number, number],
};

test('heartbeats none: no heartbeat at all, no no-session abuser, CMCD still on player requests', async () => {
  const sim = await createSimulation({ ...BASE, heartbeats: 'none' });
  const events = [...sim.events()];
  assert.equal(events.filter((e) => e.type === 'heartbeat').length, 0);
  assert.equal(sim.truth.classCounts['no-session'] ?? 0, 0);
  assert.ok(sim.truth.abusers > 0);
  assert.deepEqual(sim.truth.deployment?.tenants, { default: { heartbeats: false, accounts: 200 } });
  assert.ok(events.some((e) => e.type === 'request' && e.request.cmcd?.sid));
  for (const a of sim.truth.accounts) assert.equal(a.facts.heartbeats, false);
});

test('heartbeats some: CDN-only tenant accounts send none, the others do, no-session abusers stay where heartbeats are', async () => {
  const sim = await createSimulation({ ...BASE, heartbeats: 'some', cdnOnlyShare: 0.5 });
  const tenantOf = new Map(sim.truth.accounts.map((a) => [a.accountId, a.tenant]));
  const withHeartbeats = new Set<string>();
  for (const e of sim.events()) {
    if (e.type === 'heartbeat') {
      assert.equal(e.heartbeat.tenant, 'default');
      withHeartbeats.add(e.heartbeat.accountId);
    } else if (e.type === 'request') assert.equal(e.request.tenant, tenantOf.get(e.request.accountId));
    else assert.equal(e.plan.tenant, tenantOf.get(e.plan.accountId));
  }
  const cdnOnly = sim.truth.accounts.filter((a) => a.tenant === 'cdn-only');
  assert.ok(cdnOnly.length > 60 && cdnOnly.length < 140, `${cdnOnly.length} CDN-only accounts`);
  for (const a of cdnOnly) assert.ok(!withHeartbeats.has(a.accountId));
  for (const a of sim.truth.accounts.filter((x) => x.class === 'no-session'))
    assert.equal(a.tenant, 'default');
  assert.equal(sim.truth.deployment?.tenants['cdn-only']?.heartbeats, false);
  assert.equal(sim.truth.deployment?.tenants.default?.heartbeats, true);
});

test('the deployment shape never moves the viewers: same accounts, places and contents whatever the heartbeats', async () => {
  // What was planned for each account: its sessions' times, contents and network schedules.
  const viewing = async (heartbeats: 'all' | 'some' | 'none') => {
    const sim = await createSimulation({ ...BASE, abuserFraction: 0, heartbeats });
    return sim.population.accounts
      .flatMap((a) =>
        a.players.map(
          (p) =>
            `${p.accountId} ${p.startMs}-${p.endMs} ${p.content.id} ${p.places.map((x) => `${x.fromMs}@${x.place.ip}`).join(',')}`,
        ),
      )
      .join('\n');
  };
  const all = await viewing('all');
  assert.equal(await viewing('none'), all);
  assert.equal(await viewing('some'), all);
});

test('late heartbeats come out delay ms after their own time, the stream stays in order, nothing is lost', async () => {
  const delayMs = 180_000;
  const onTime = [...(await createSimulation(BASE)).events()];
  const late = [...(await createSimulation({ ...BASE, heartbeatDelayMs: delayMs })).events()];
  let last = Number.NEGATIVE_INFINITY;
  for (const e of late) {
    assert.ok(e.timestampMs >= last, 'time order by arrival');
    last = e.timestampMs;
    if (e.type === 'heartbeat') assert.equal(e.timestampMs, e.heartbeat.timestampMs + delayMs);
  }
  const beats = (es: SimEvent[]) =>
    es
      .filter((e) => e.type === 'heartbeat')
      .map((e) => `${e.heartbeat.sessionId}@${e.heartbeat.timestampMs}`)
      .sort();
  assert.deepEqual(beats(late), beats(onTime));
  // A heartbeat arrives after CDN lines later than itself.
  const firstBeat = late.findIndex((e) => e.type === 'heartbeat');
  const beat = late[firstBeat] as Extract<SimEvent, { type: 'heartbeat' }>;
  assert.ok(
    late
      .slice(0, firstBeat)
      .some((e) => e.type === 'request' && e.request.timestampMs > beat.heartbeat.timestampMs),
  );
});

test('the frozen seed set is fixed and the gate runs its first seed', () => {
  assert.equal(FROZEN_SEED, FROZEN_SEEDS[0]);
  assert.ok(FROZEN_SEEDS.length >= 1 && !(FROZEN_SEEDS as readonly string[]).includes('leechguard'));
});
