/**
 * Load generator for bench/ingest.ts, run as its own process so the ingest process under test
 * does not pay for its clients: posts pre-built bodies with N concurrent clients for S seconds
 * and prints `{ lines, refused, latenciesMs }` as JSON.
 *   node bench/ingest-load.ts <url> <key> <format> <seconds> <clients> <bodies.json>
 */
import { readFileSync } from 'node:fs';

const [url, key, format, seconds, clients, bodiesFile] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
  string,
];
const bodies = JSON.parse(readFileSync(bodiesFile, 'utf8')) as string[];
const deadline = performance.now() + Number(seconds) * 1000;
let lines = 0;
let refused = 0;
const latenciesMs: number[] = [];
const t0 = performance.now();
await Promise.all(
  Array.from({ length: Number(clients) }, async (_, c) => {
    let k = c;
    while (performance.now() < deadline) {
      const t = performance.now();
      const res = await fetch(`${url}/v1/logs/${format}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'text/plain' },
        body: bodies[k++ % bodies.length],
      });
      const body = (await res.json()) as { accepted?: number };
      if (res.status === 200) {
        lines += body.accepted ?? 0;
        latenciesMs.push(performance.now() - t);
      } else refused++;
    }
  }),
);
process.stdout.write(
  JSON.stringify({ lines, refused, latenciesMs, seconds: (performance.now() - t0) / 1000 }),
);
