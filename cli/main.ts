/**
 * `leechguard <command>`: one CLI for every service and tool. Each command's module is loaded
 * only when it runs, so `leechguard stack status` never pays for RocksDB or fastify.
 */
import { isLeechguardError } from '../core/errors.ts';

type CommandMain = (argv: string[]) => Promise<number>;

interface Command {
  summary: string;
  load: () => Promise<CommandMain>;
}

const COMMANDS: Record<string, Command> = {
  demo: {
    summary: 'start here: stack + services + a few minutes of simulated live traffic, then what was caught',
    load: async () => (await import('./demo.ts')).main,
  },
  stack: {
    summary: 'up [--fresh] | down | status: local Kafka + schema registry + Redis without Docker',
    load: async () => (await import('../core/stack/cli.ts')).main,
  },
  ingest: {
    summary: 'run the ingest service: CDN logs, heartbeats and account plans over HTTP into Kafka',
    load: async () => (await import('../ingest/main.ts')).main,
  },
  detector: {
    summary: 'windowed rules over requests + heartbeats (RocksDB state) -> leechguard.anomalies.v1',
    load: async () => (await import('../detector/main.ts')).main,
  },
  enforcer: {
    summary: 'policies, review queue, Redis denylist, decision + session APIs, analyst page',
    load: async () => (await import('../enforcer/main.ts')).main,
  },
  all: {
    summary: '[--config all.json]: ingest, detector and enforcer in one process (small site, demo)',
    load: async () => (await import('./all.ts')).main,
  },
  edge: {
    summary: 'decision API + session admission standalone (the enforcer process mounts the same routes)',
    load: async () => (await import('../enforcer/decision/standalone.ts')).main,
  },
  ship: {
    summary: '<file...|-> --format f --to <url|kafka>: send log files or stdin to ingest, with checkpoint',
    load: async () => (await import('../ingest/ship/main.ts')).main,
  },
  accounts: {
    summary: 'import <csv|ndjson>: upsert account plans on leechguard.accounts.v1',
    load: async () => (await import('../ingest/accounts/main.ts')).main,
  },
  backtest: {
    summary:
      '--format f <files|folder|glob>...: raw CDN logs / heartbeats through ingest and the detector rules, flags + summary (or typed NDJSON records)',
    load: async () => (await import('./backtest.ts')).main,
  },
  simulate: {
    summary: 'seeded traffic with ground truth, to files in every CDN format or live to ingest',
    load: async () => (await import('../simulate/main.ts')).main,
  },
  quality: {
    summary:
      '[--seed S | --frozen] [--viewers N] [--heartbeats all|some|none] [--heartbeat-delay-ms N] [--out DIR]: simulation -> ingest parsers -> detector rules -> quality report (no Kafka)',
    load: async () => (await import('./quality.ts')).main,
  },
  report: {
    summary:
      '--truth truth.json --flags flags.ndjson [--revocations revs.ndjson] --out dir: detection quality',
    load: async () => (await import('../simulate/report/main.ts')).main,
  },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `usage: leechguard <command> [options]\n\ncommands:\n${lines.join('\n')}\n`;
}

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`unknown command: ${name}\n\n${usage()}`);
    return 2;
  }
  try {
    return await (await command.load())(rest);
  } catch (err) {
    if (isLeechguardError(err)) {
      process.stderr.write(`leechguard ${name}: ${err.code}: ${err.message}\n`);
      return 1;
    }
    // node:util parseArgs refusing an option: say which, with the command's usage (`--help` of a
    // command without its own help lands here too, and is answered).
    if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS_')) {
      const text = `usage: leechguard ${name} ${command.summary}\n`;
      if (rest.includes('--help') || rest.includes('-h')) {
        process.stdout.write(text);
        return 0;
      }
      process.stderr.write(`leechguard ${name}: ${(err as Error).message}\n${text}`);
      return 2;
    }
    throw err;
  }
}
