/** `leechguard stack up [--fresh] | down | status [--json]` */
import { parseArgs } from 'node:util';
import { stackDown, stackStatus, stackUp } from './index.ts';

export async function main(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: { fresh: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } },
    allowPositionals: false,
  });
  switch (sub) {
    case 'up': {
      const { endpoints, seconds } = await stackUp({ fresh: values.fresh });
      process.stdout.write(
        `stack up in ${seconds.toFixed(1)} s\n  kafka     ${endpoints.kafkaBrokers.join(',')}\n  registry  ${endpoints.registryUrl}\n  redis     ${endpoints.redisUrl}\n`,
      );
      return 0;
    }
    case 'status': {
      const health = await stackStatus();
      if (values.json) process.stdout.write(`${JSON.stringify(health, null, 2)}\n`);
      else {
        for (const h of health) {
          const mem = h.rssMiB === undefined ? '' : `${h.rssMiB} MiB`;
          process.stdout.write(
            `${h.name.padEnd(9)} ${(h.healthy ? 'healthy' : 'DOWN').padEnd(8)} pid ${String(h.pid ?? '-').padEnd(8)} ${mem.padEnd(9)} ${h.endpoint}  ${h.detail}\n`,
          );
        }
      }
      return health.every((h) => h.healthy) ? 0 : 1;
    }
    case 'down': {
      const stopped = await stackDown();
      process.stdout.write(stopped.length ? `stopped ${stopped.join(', ')}\n` : 'nothing was running\n');
      return 0;
    }
    default:
      process.stderr.write('usage: leechguard stack up [--fresh] | down | status [--json]\n');
      return 2;
  }
}
