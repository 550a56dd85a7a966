import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { createSimulation, generateSimulation } from '../../../simulate/engine.ts';
import {
  formatAccount,
  formatHeartbeat,
  formatPreamble,
  requestFormatters,
} from '../../../simulate/formats/index.ts';
import { CDN_FORMATS } from '../../../simulate/model.ts';

const OPTIONS = {
  seed: 'det',
  viewers: 150,
  abuserFraction: 0.06,
  resaleClients: [5, 8] as [number, number],
};

/** Hash of every output stream's bytes, as the file sink would write them. */
async function digest(options: typeof OPTIONS): Promise<Record<string, string>> {
  const sim = await createSimulation(options);
  const fmt = requestFormatters();
  const hashes = Object.fromEntries(
    [...CDN_FORMATS, 'heartbeats', 'accounts'].map((k) => [k, createHash('sha256')] as const),
  );
  for (const f of CDN_FORMATS) hashes[f]?.update(formatPreamble(f));
  for (const e of sim.events()) {
    if (e.type === 'request') hashes[e.request.cdn]?.update(fmt[e.request.cdn](e.request));
    else if (e.type === 'heartbeat') hashes.heartbeats?.update(formatHeartbeat(e.heartbeat));
    else hashes.accounts?.update(formatAccount(e.plan));
  }
  const out: Record<string, string> = {
    truth: createHash('sha256').update(JSON.stringify(sim.truth)).digest('hex'),
  };
  for (const [k, h] of Object.entries(hashes)) out[k] = h.digest('hex');
  return out;
}

test('the same seed and options produce identical bytes in every output', async () => {
  assert.deepEqual(await digest(OPTIONS), await digest(OPTIONS));
});

test('a different seed produces different traffic', async () => {
  const a = await digest(OPTIONS);
  const b = await digest({ ...OPTIONS, seed: 'det-2' });
  assert.notEqual(a['cloudfront-standard'], b['cloudfront-standard']);
  assert.notEqual(a.truth, b.truth);
});

test('events come out in time order, plans first', async () => {
  let last = Number.NEGATIVE_INFINITY;
  let sawTraffic = false;
  for await (const e of generateSimulation(OPTIONS)) {
    assert.ok(e.timestampMs >= last, 'time never goes back');
    last = e.timestampMs;
    if (e.type === 'account') assert.equal(sawTraffic, false, 'every plan precedes the first request');
    else sawTraffic = true;
  }
  assert.ok(sawTraffic);
});

test('classes restricts the simulation to the listed patterns (one abuse class for an end-to-end test)', async () => {
  const sim = await createSimulation({
    seed: 'only',
    viewers: 40,
    abuserFraction: 0.25,
    classes: ['household', 'bot'],
  });
  const counts = sim.truth.classCounts;
  assert.deepEqual(Object.keys(counts).sort(), ['bot', 'household']);
  assert.equal(counts.bot, 10);
  const onlyAbusers = await createSimulation({
    seed: 'only',
    viewers: 6,
    classes: ['restream', 'cat-replay'],
  });
  assert.deepEqual(onlyAbusers.truth.classCounts, { restream: 3, 'cat-replay': 3 });
});

test('every event time is a whole millisecond', async () => {
  const sim = await createSimulation(OPTIONS);
  for (const e of sim.events()) assert.ok(Number.isInteger(e.timestampMs), `${e.type} at ${e.timestampMs}`);
});

test('accountPrefix names every account of a run (runs on a shared stack never share account ids)', async () => {
  const sim = await createSimulation({ seed: 'det', viewers: 20, accountPrefix: 'run42-' });
  assert.equal(sim.truth.accounts.length, 20);
  for (const a of sim.truth.accounts) assert.match(a.accountId, /^run42-\d{6}$/);
  for (const e of sim.events()) if (e.type === 'account') assert.match(e.plan.accountId, /^run42-/);
});
