/**
 * Helpers for ingest's integration tests: an ingest service on the real stack (port 0, silent
 * log) and a reader that returns what was produced after a given point, filtered by the caller.
 */

import type { Endpoints } from '../../../core/endpoints.ts';
import { createConsumer, createKafka } from '../../../core/kafka.ts';
import { createLogger } from '../../../core/log.ts';
import { AvroSerde } from '../../../core/serde.ts';
import { type IngestConfig, ingestConfigSchema } from '../../../ingest/config.ts';
import { CLOUDFRONT_REALTIME_VIDEO_FIELDS } from '../../../ingest/sources/cloudfront-realtime/index.ts';
import { uniqueName } from '../../support/stack.ts';

export const SOURCE_KEY = 'source-key-0123456789abcdef';

export function ingestTestConfig(endpoints: Endpoints, extra: Record<string, unknown> = {}): IngestConfig {
  return ingestConfigSchema.parse({
    kafka: { brokers: endpoints.kafkaBrokers },
    registry: { url: endpoints.registryUrl },
    http: {
      port: 0,
      apiKeys: [
        { name: 'backend', key: 'backend-key-0123456789', roles: ['backend'] },
        { name: 'analyst', key: 'analyst-key-0123456789', roles: ['analyst'] },
      ],
    },
    log: { level: 'silent' },
    // One batch worker: the integration tests take the worker path end to end (a 2-core machine's
    // default is 0, which the e2e tests and the demo take).
    workers: 1,
    sources: [
      { name: 'cf-std', format: 'cloudfront-standard', key: 'cf-std-key-0123456789' },
      {
        name: 'cf-rt',
        format: 'cloudfront-realtime',
        key: 'cf-rt-key-0123456789',
        fields: [...CLOUDFRONT_REALTIME_VIDEO_FIELDS],
      },
      { name: 'akamai', format: 'akamai-ds2', key: 'akamai-key-0123456789' },
      { name: 'fastly', format: 'fastly', key: 'fastly-key-0123456789' },
      { name: 'cloudflare', format: 'cloudflare', key: 'cloudflare-key-0123456789' },
      { name: 'generic', format: 'ndjson', key: 'ndjson-key-0123456789' },
      { name: 'players', format: 'heartbeat', key: 'player-key-0123456789' },
    ],
    ...extra,
  });
}

/** Current end offsets of a topic, by partition. */
export async function endOffsets(endpoints: Endpoints, topic: string): Promise<Map<number, string>> {
  const kafka = createKafka(
    { brokers: endpoints.kafkaBrokers, clientId: 'ingest-test', ssl: false, replicationFactor: 1 },
    createLogger('test', 'silent'),
  );
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((o) => [o.partition, o.offset]));
  } finally {
    await admin.disconnect();
  }
}

export interface ReadRecord<T> {
  key: string | null;
  value: T | null;
  partition: number;
}

/**
 * Reads `topic` from `from` (end offsets taken before producing) until `done(records)` says so or
 * the timeout passes; values decoded through the registry.
 */
export async function readSince<T>(
  endpoints: Endpoints,
  topic: string,
  from: Map<number, string>,
  keep: (r: ReadRecord<T>) => boolean,
  done: (kept: ReadRecord<T>[]) => boolean,
  timeoutMs = 15_000,
): Promise<ReadRecord<T>[]> {
  const kafka = createKafka(
    { brokers: endpoints.kafkaBrokers, clientId: 'ingest-test-reader', ssl: false, replicationFactor: 1 },
    createLogger('test', 'silent'),
  );
  const serde = new AvroSerde({ url: endpoints.registryUrl });
  await serde.registerAll([topic]);
  const consumer = createConsumer(kafka, { groupId: uniqueName('ingest-test') });
  const kept: ReadRecord<T>[] = [];
  let finish: () => void = () => {};
  const finished = new Promise<void>((r) => {
    finish = r;
  });
  const timer = setTimeout(() => finish(), timeoutMs);
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: false });
    // Seek once the group is joined (seeking earlier is refused), before the first fetch.
    consumer.on(consumer.events.GROUP_JOIN, () => {
      for (const [partition, offset] of from) consumer.seek({ topic, partition, offset });
    });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const value = message.value ? await serde.decode<T>(topic, message.value) : null;
        const r = { key: message.key?.toString() ?? null, value, partition };
        if (keep(r)) kept.push(r);
        if (done(kept)) finish();
      },
    });
    await finished;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
  return kept;
}
