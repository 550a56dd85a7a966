/**
 * The detector's rules on one core, without Kafka or RocksDB: the benchmark scenario's records
 * through the topology with every rule on, beside the same topology with no rule (the engine's own
 * work: watermark, plan lookup, per-tenant signals) in the same process. CPU time per pass, best
 * of `--runs` after a warm-up; the figure that moves when a rule gets dearer.
 *
 * `--against DIR`: another checkout of leechguard (e.g. `git worktree add /tmp/lg-before <commit>`
 * with this checkout's node_modules linked in) whose topology and rules run over the same records
 * in this process, passes alternated, so a change is measured beside the code before it under the
 * same machine noise. The records come from this checkout's scenario.
 *
 * Usage: node bench/detector-rules.ts [--accounts 1500] [--minutes 6] [--runs 5] [--against DIR]
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
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
    against: { type: 'string' },
  },
});
const runs = Number(values.runs);

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

interface Pass {
  cpuS: number;
  flags: number;
}
/** One pass over the records with a fresh topology. */
type Runner = () => Pass;

function runnerOf(
  make: () => { process(partition: number, input: InputRecord): readonly unknown[] },
): Runner {
  return () => {
    const topology = make();
    let flags = 0;
    const t0 = process.cpuUsage();
    for (const input of inputs) flags += topology.process(0, input).length;
    const t = process.cpuUsage(t0);
    return { cpuS: (t.user + t.system) / 1e6, flags };
  };
}

/** Best (least CPU) pass of each runner, passes alternated after one warm-up each. */
function best(runners: Runner[]): Pass[] {
  for (const r of runners) r();
  const out = runners.map((r) => r());
  for (let i = 1; i < runs; i++) {
    runners.forEach((r, k) => {
      const p = r();
      if (p.cpuS < out[k]!.cpuS) out[k] = p;
    });
  }
  return out;
}

const perCpu = (cpuS: number) => Math.round(inputs.length / cpuS).toLocaleString('en-US');
const config = detectorConfig({});
const bareRunner = runnerOf(() => new Topology(config, []));
const allRunner = runnerOf(() => new Topology(config, RULES));

process.stdout.write(
  `detector rules bench (${inputs.length} records, ${values.accounts} accounts, ${values.minutes} min, best of ${runs})\n`,
);
if (values.against === undefined) {
  const [bare, all] = best([bareRunner, allRunner]) as [Pass, Pass];
  process.stdout.write(
    `engine alone (no rule):  ${perCpu(bare.cpuS)} records per cpu-s  (${bare.cpuS.toFixed(2)} cpu-s)\n` +
      `all ${RULES.length} rules:           ${perCpu(all.cpuS)} records per cpu-s  (${all.cpuS.toFixed(2)} cpu-s, ${all.flags} flags)\n` +
      `ratio all rules / engine alone: ${(bare.cpuS / all.cpuS).toFixed(3)}\n`,
  );
} else {
  const dir = resolve(values.against);
  const load = (path: string) => import(pathToFileURL(resolve(dir, path)).href);
  const [{ Topology: OtherTopology }, { RULES: OTHER_RULES }, { detectorConfig: otherConfig }] =
    await Promise.all([
      load('detector/engine/topology.ts'),
      load('detector/rules/index.ts'),
      load('detector/config.ts'),
    ]);
  const otherRunner = runnerOf(() => new OtherTopology(otherConfig({}), OTHER_RULES));
  const [other, all] = best([otherRunner, allRunner]) as [Pass, Pass];
  process.stdout.write(
    `${dir}, all ${OTHER_RULES.length} rules:  ${perCpu(other.cpuS)} records per cpu-s  (${other.cpuS.toFixed(2)} cpu-s, ${other.flags} flags)\n` +
      `this checkout, all ${RULES.length} rules:  ${perCpu(all.cpuS)} records per cpu-s  (${all.cpuS.toFixed(2)} cpu-s, ${all.flags} flags)\n` +
      `ratio this checkout / ${dir}: ${(other.cpuS / all.cpuS).toFixed(3)} (above 1: this checkout is faster)\n`,
  );
}
