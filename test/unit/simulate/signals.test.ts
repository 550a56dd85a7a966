/** The margin between legitimate and abusive traffic, measured signal by signal on the events. */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { type AccountSignals, measureSignals, signalTable } from '../../../simulate/signals.ts';
import { type Collected, FIRST_LEGIT_CLASSES, smallSimulation } from './fixture.ts';

let data: Collected;
let signals: Map<string, AccountSignals>;
before(async () => {
  data = await smallSimulation();
  signals = measureSignals(data.events);
});

function of(cls: string): AccountSignals[] {
  return data.sim.truth.accounts
    .filter((a) => a.class === cls)
    .map((a) => signals.get(a.accountId) as AccountSignals);
}

test('the first legitimate classes stay low on every signal but the VPN datacenter share', () => {
  for (const a of data.sim.truth.accounts.filter((x) => FIRST_LEGIT_CLASSES.has(x.class))) {
    const s = signals.get(a.accountId);
    assert.ok(s, a.accountId);
    assert.ok(s.networksPerToken <= 3, `${a.accountId} ${a.class} networks ${s.networksPerToken}`);
    assert.equal(s.countriesPerToken, 1);
    assert.ok(s.sessionsOverLimit <= 0);
    assert.ok(s.fanout <= 2);
    assert.ok(s.pace <= 1.5, `${a.accountId} pace ${s.pace}`);
    assert.equal(s.sessionlessSegments, 0);
    if (a.class !== 'vpn') assert.equal(s.datacenterShare, 0);
  }
});

test('each abuse class stands far out on its own signal', () => {
  for (const s of of('token-resale'))
    assert.ok(s.networksPerToken >= 10 && s.countriesPerToken >= 4 && s.fanout >= 5);
  for (const s of of('restream'))
    assert.ok(s.networksPerToken >= 6 && s.fanout >= 6 && s.datacenterShare === 1);
  for (const s of of('credential-sharing')) assert.ok(s.sessionsOverLimit >= 1);
  for (const s of of('bot')) assert.ok(s.pace >= 4);
  for (const s of of('no-session')) assert.ok(s.sessionlessSegments >= 10);
  for (const s of of('cat-replay')) assert.ok(s.networksPerToken >= 1);
});

test('the signal table has a row per class', () => {
  const table = signalTable(data.sim.truth, signals);
  for (const cls of Object.keys(data.sim.truth.classCounts))
    assert.match(table, new RegExp(`\\| ${cls} \\|`));
});
