/**
 * `leechguard accounts import <file.csv|file.ndjson|file.json> [--to kafka | --to <ingest url> --key <k>]
 *   [--config ingest.json]`: validates account plans and upserts them on the compacted
 * leechguard.accounts.v1 (a `deleted` row is a tombstone). Invalid rows are reported with their
 * line number and code and go to the dead-letter topic; valid rows are produced either way.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { systemClock } from '../../core/clock.ts';
import { loadConfig } from '../../core/config.ts';
import { LeechguardError } from '../../core/errors.ts';
import { createKafka, createProducer } from '../../core/kafka.ts';
import { LIMITS } from '../../core/limits.ts';
import { createLogger } from '../../core/log.ts';
import { AvroSerde } from '../../core/serde.ts';
import { TokenHasher } from '../../core/token-hash.ts';
import { TOPICS } from '../../core/topics.ts';
import { ingestConfigSchema } from '../config.ts';
import { contentBatchId, createPipelineContext, deadLetter } from '../pipeline.ts';
import { KafkaSink } from '../sinks/kafka.ts';
import { NO_GEO } from '../transforms/enrich/geo.ts';
import { parseAccountsCsv, parseAccountsJson } from './parse.ts';

const USAGE =
  'usage: leechguard accounts import <file.csv|file.ndjson|file.json> [--to kafka | --to <ingest url> --key <k>] [--config ingest.json]\n';

export async function main(argv: string[]): Promise<number> {
  // kafkajs prints a partitioner notice on every producer; leechguard keys records itself.
  process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
  const [sub, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      to: { type: 'string' },
      key: { type: 'string' },
      config: { type: 'string', short: 'c' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (sub !== 'import' || values.help || positionals.length !== 1) {
    process.stdout.write(USAGE);
    return values.help ? 0 : 2;
  }
  const file = positionals[0]!;
  const text = readFileSync(file, 'utf8');
  const to = values.to ?? 'kafka';
  if (to !== 'kafka') {
    const key = values.key ?? process.env.LEECHGUARD_SHIP_KEY;
    if (!key) throw new LeechguardError('LG_ERR_AUTH_MISSING', 'give --key or LEECHGUARD_SHIP_KEY');
    const res = await fetch(new URL('/v1/accounts', to), {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': file.endsWith('.csv') ? 'text/csv' : 'application/x-ndjson',
      },
      body: text,
    });
    const body = await res.text();
    process.stdout.write(`${res.status} ${body}\n`);
    return res.ok ? 0 : 1;
  }
  const nowMs = systemClock.nowMs();
  const parsed = file.endsWith('.csv') ? parseAccountsCsv(text, nowMs) : parseAccountsJson(text, nowMs);
  const config = loadConfig(ingestConfigSchema, { file: values.config });
  const logger = createLogger('accounts', config.log.level === 'info' ? 'warn' : config.log.level);
  const kafka = createKafka(config.kafka, logger);
  const serde = new AvroSerde(config.registry);
  await serde.registerAll([TOPICS.accounts.name, TOPICS.deadLetters.name]);
  const sink = new KafkaSink(() => createProducer(kafka), { clock: systemClock, logger });
  await sink.connect();
  const ctx = createPipelineContext(
    config.enrich,
    new TokenHasher(config.tokenHashing),
    NO_GEO,
    config.limits.lineBytesMax,
  );
  const source = {
    name: 'accounts-import',
    format: 'accounts',
    tenant: 'default',
    token: config.defaultToken,
  };
  const meta = { batchId: contentBatchId(source.name, text), receivedAtMs: nowMs };
  try {
    for (let i = 0; i < parsed.changes.length; i += LIMITS.ingestAccountsPerBatchMax) {
      const part = parsed.changes.slice(i, i + LIMITS.ingestAccountsPerBatchMax);
      await sink.write([
        {
          topic: TOPICS.accounts.name,
          messages: part.map((c) => ({
            key: c.accountId,
            value: c.plan ? serde.encode(TOPICS.accounts.name, c.plan) : null,
          })),
        },
      ]);
    }
    const dead = parsed.errors.map((e) => deadLetter(e, source, meta, ctx));
    if (dead.length > 0) {
      await sink.write([
        {
          topic: TOPICS.deadLetters.name,
          messages: dead.map((d) => ({ key: d.key, value: serde.encode(TOPICS.deadLetters.name, d.value) })),
        },
      ]);
    }
  } finally {
    await sink.close();
  }
  for (const e of parsed.errors) process.stderr.write(`line ${e.offset + 1}: ${e.code}: ${e.reason}\n`);
  const tombstones = parsed.changes.filter((c) => c.plan === null).length;
  process.stdout.write(
    `imported ${parsed.changes.length - tombstones} plans, ${tombstones} deletions, ${parsed.errors.length} invalid rows (dead-lettered)\n`,
  );
  return parsed.errors.length > 0 ? 1 : 0;
}
