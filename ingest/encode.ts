/**
 * Pipeline output to Kafka messages: Avro-encodes records (a record that does not fit its schema
 * becomes a dead letter, never a crash) and dead letters. Shared by the HTTP receivers and
 * `ship --to kafka`, so both produce byte-identical records.
 */
import type { DeadLetter } from '../core/schemas/generated.ts';
import type { AvroSerde } from '../core/serde.ts';
import { TOPICS } from '../core/topics.ts';
import {
  type BatchMeta,
  type BatchOutput,
  type BatchSource,
  deadLetter,
  type Keyed,
  type PipelineContext,
} from './pipeline.ts';
import type { TopicBatch } from './sinks/kafka.ts';

export interface EncodedBatch {
  batches: TopicBatch[];
  accepted: number;
  deadLetters: DeadLetter[];
}

export function encodeOutput<T>(
  serde: AvroSerde,
  topic: string,
  out: BatchOutput<T>,
  source: BatchSource,
  meta: BatchMeta,
  ctx: PipelineContext,
): EncodedBatch {
  const messages: TopicBatch['messages'] = [];
  const dead: Array<Keyed<DeadLetter>> = [...out.deadLetters];
  let encoded: Buffer[] | null = null;
  try {
    encoded = serde.encodeMany(
      topic,
      out.records.map((r) => r.value),
    );
  } catch {
    encoded = null; // one record is invalid: encode one by one to dead-letter only that one
  }
  for (let i = 0; i < out.records.length; i++) {
    const r = out.records[i]!;
    try {
      messages.push({ key: r.key, value: encoded ? encoded[i]! : serde.encode(topic, r.value) });
    } catch (err) {
      const rec = r.value as { id?: string };
      dead.push(
        deadLetter(
          {
            offset: -1,
            line: JSON.stringify(r.value),
            code: 'ING_ERR_RECORD_UNENCODABLE',
            reason: `${(err as Error).message} (record ${rec.id ?? '?'})`,
          },
          source,
          meta,
          ctx,
        ),
      );
    }
  }
  const batches: TopicBatch[] = [];
  if (messages.length > 0) batches.push({ topic, messages });
  if (dead.length > 0) {
    batches.push({
      topic: TOPICS.deadLetters.name,
      messages: dead.map((d) => ({ key: d.key, value: serde.encode(TOPICS.deadLetters.name, d.value) })),
    });
  }
  return { batches, accepted: messages.length, deadLetters: dead.map((d) => d.value) };
}
