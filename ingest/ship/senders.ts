/**
 * Where `ship` sends batches: the ingest HTTP endpoint (gzip body, bearer key, 503 / network
 * errors retried honouring Retry-After), or Kafka directly through the same pipeline and encoder
 * the HTTP receivers use (for hosts next to the brokers, no ingest service needed).
 */
import { gzipSync } from 'node:zlib';
import { systemClock } from '../../core/clock.ts';
import { LeechguardError } from '../../core/errors.ts';
import { createKafka, createProducer } from '../../core/kafka.ts';
import type { Logger } from '../../core/log.ts';
import { AvroSerde } from '../../core/serde.ts';
import { TokenHasher } from '../../core/token-hash.ts';
import { TOPICS } from '../../core/topics.ts';
import type { IngestConfig } from '../config.ts';
import { encodeOutput } from '../encode.ts';
import { buildCdnRequests, buildHeartbeats, createPipelineContext } from '../pipeline.ts';
import { replaySource } from '../replay/index.ts';
import { KafkaSink } from '../sinks/kafka.ts';
import { isLogFormat, parseBatch, parseHeartbeats } from '../sources/index.ts';
import { createGeoResolver } from '../transforms/enrich/geo.ts';
import { RetriableSendError, type Sender, type SendResult } from './index.ts';

/** Per-request timeout of the HTTP sender, ms (ingest answers after Kafka's ack timeout at worst). */
const HTTP_SEND_TIMEOUT_MS = 60_000;

export function httpSender(baseUrl: string, format: string, key: string): Sender {
  const path = format === 'heartbeat' ? '/v1/heartbeats' : `/v1/logs/${format}`;
  const url = new URL(path, baseUrl).toString();
  return {
    async send(text, batchId) {
      let res: Response;
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${key}`,
            'content-type': 'text/plain',
            'content-encoding': 'gzip',
            'x-batch-id': batchId,
          },
          body: gzipSync(text),
          signal: AbortSignal.timeout(HTTP_SEND_TIMEOUT_MS),
        });
      } catch (err) {
        throw new RetriableSendError(`network: ${(err as Error).message}`);
      }
      const body = (await res.json().catch(() => ({}))) as {
        accepted?: number;
        deadLettered?: number;
        code?: string;
        message?: string;
      };
      if (res.ok) return { accepted: body.accepted ?? 0, deadLettered: body.deadLettered ?? 0 };
      if (res.status === 503 || res.status === 429 || res.status >= 500) {
        const ra = Number(res.headers.get('retry-after'));
        throw new RetriableSendError(
          `${res.status} ${body.code ?? ''}`.trim(),
          Number.isFinite(ra) && ra > 0 ? ra * 1000 : null,
        );
      }
      throw new LeechguardError(
        'LG_ERR_REQUEST_INVALID',
        `ingest answered ${res.status} ${body.code ?? ''}: ${body.message ?? ''}`,
      );
    },
    async close() {},
  };
}

export interface KafkaSenderOptions {
  /**
   * Topic names to produce to instead of the standard ones (standard name -> name), e.g. a private
   * set of topics for a trial detector. Records are encoded under the standard subjects either way.
   */
  topics?: Readonly<Record<string, string>>;
}

/**
 * Produces straight to Kafka with the settings of `sourceName` in the ingest config (the same
 * settings `backtest --format` applies).
 */
export async function kafkaSender(
  config: IngestConfig,
  format: string,
  sourceName: string,
  logger: Logger,
  options: KafkaSenderOptions = {},
): Promise<Sender> {
  const { fields, mapping, ...source } = replaySource(config, sourceName, format);
  const kafka = createKafka(config.kafka, logger);
  const serde = new AvroSerde(config.registry);
  await serde.registerAll([TOPICS.requests.name, TOPICS.heartbeats.name, TOPICS.deadLetters.name]);
  const sink = new KafkaSink(() => createProducer(kafka), {
    clock: systemClock,
    logger,
    inFlightRecordsMax: config.limits.inFlightRecordsMax,
  });
  await sink.connect();
  const ctx = createPipelineContext(
    config.enrich,
    new TokenHasher(config.tokenHashing),
    createGeoResolver(config.enrich.geo),
    config.limits.lineBytesMax,
  );
  return {
    async send(text, batchId): Promise<SendResult> {
      const meta = { batchId, receivedAtMs: systemClock.nowMs() };
      const encoded =
        format === 'heartbeat'
          ? encodeOutput(
              serde,
              TOPICS.heartbeats.name,
              buildHeartbeats(parseHeartbeats(text), source, meta, ctx),
              source,
              meta,
              ctx,
            )
          : isLogFormat(format)
            ? encodeOutput(
                serde,
                TOPICS.requests.name,
                buildCdnRequests(
                  parseBatch(format, text, {
                    fields,
                    mapping,
                    lineBytesMax: config.limits.lineBytesMax,
                  }),
                  source,
                  meta,
                  ctx,
                ),
                source,
                meta,
                ctx,
              )
            : (() => {
                throw new LeechguardError('ING_ERR_FORMAT_UNKNOWN', format);
              })();
      const renamed = options.topics;
      const batches = renamed
        ? encoded.batches.map((b) => ({ ...b, topic: renamed[b.topic] ?? b.topic }))
        : encoded.batches;
      try {
        await sink.write(batches);
      } catch (err) {
        if (err instanceof LeechguardError && err.retriable) throw new RetriableSendError(err.message, 1000);
        throw err;
      }
      return { accepted: encoded.accepted, deadLettered: encoded.deadLetters.length };
    },
    async close() {
      await sink.close();
    },
  };
}
