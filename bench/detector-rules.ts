/**
 * The detector's rules on one core, without Kafka or RocksDB: the benchmark scenario's records
 * through the topology with every rule on, beside the same topology with no rule (the engine's own
 * work: watermark, plan lookup, per-tenant signals) in the same process. CPU time per run, best of
 * five after a warm-up; the figure that moves when a rule gets dearer.
 *
 * Usage: node bench/detector-rules.ts [--accounts 1500] [--minutes 6] [--runs 5]
 */
import { parseArgs } from 'node:util';
import { TOPICS } from '../core/topics.ts';
import { detectorConfig } from '../detector/config.ts';
import { type InputRecord, Topology } from '../detector/engine/topology.ts';
import { RULES } from '../detector/rules/index.ts';
import { scenario } from '../detector/testing/scenario.ts';

const { values } = parseArgs({
  options: {
    accounts: { type: 'string', default: '1500' },
    minutes: { type: 'string', default: '6' },
    runs: { type: 'string', default: '5' },
  },
});

const records = scenario({
  accounts: Number(values.accounts),
  durationMs: Number(values.minutes) * 60_000,
  startMs: 1_780_000_000_000,
  seed: 3,
});
const ROLES: Record<string, InputRecord['role']> = {
  [TOPICS.requests.name]: 'requests',
  [TOPICS.heartbeats.name]: 'heartbeats',
  [TOPICS.accounts.name]: 'accounts',
};
const inputs: InputRecord[] = records.map((r, offset) => {
  const role = ROLES[r.topic]!;
  return role === 'accounts'
    ? ({ role, offset, key: r.key, value: r.value } as InputRecord)
    : ({ role, offset, value: r.value } as InputRecord);
});

/** CPU seconds of one pass over the records, and the flags raised. */
function pass(rules: typeof RULES): { cpuS: number; flags: number } {
  const topology = new Topology(detectorConfig({}), rules);
  let flags = 0;
  const t0 = process.cpuUsage();
  for (const input of inputs) flags += topology.process(0, input).length;
  const t = process.cpuUsage(t0);
  return { cpuS: (t.user + t.system) / 1e6, flags };
}

function best(rules: typeof RULES): { cpuS: number; flags: number } {
  pass(rules);
  let out = pass(rules);
  for (let i = 1; i < Number(values.runs); i++) {
    const r = pass(rules);
    if (r.cpuS < out.cpuS) out = r;
  }
  return out;
}

const bare = best([]);
const all = best(RULES);
const perCpu = (cpuS: number) => Math.round(inputs.length / cpuS).toLocaleString('en-US');
process.stdout.write(
  `detector rules bench (${inputs.length} records, ${values.accounts} accounts, ${values.minutes} min, best of ${values.runs})\n` +
    `engine alone (no rule):  ${perCpu(bare.cpuS)} records per cpu-s  (${bare.cpuS.toFixed(2)} cpu-s)\n` +
    `all ${RULES.length} rules:           ${perCpu(all.cpuS)} records per cpu-s  (${all.cpuS.toFixed(2)} cpu-s, ${all.flags} flags)\n` +
    `ratio all rules / engine alone: ${(bare.cpuS / all.cpuS).toFixed(3)}\n`,
);
