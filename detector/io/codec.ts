/**
 * Avro decode on the hot path: a value written with our own registered schema is decoded
 * synchronously (no promise per record); any other writer schema goes through the serde's
 * resolver. Topic names may differ from the canonical ones (tests, staging): the schema is the
 * canonical topic's.
 */

import { topicSchemas } from '../../core/schemas/index.ts';
import type { AvroSerde } from '../../core/serde.ts';

const HEADER_BYTES = 5;

export class FastDecoder<T> {
  private readonly serde: AvroSerde;
  private readonly canonicalTopic: string;
  private readonly ownId: number;
  private readonly type: { fromBuffer(buf: Buffer): unknown };

  constructor(serde: AvroSerde, canonicalTopic: string) {
    this.serde = serde;
    this.canonicalTopic = canonicalTopic;
    this.ownId = serde.schemaId(canonicalTopic);
    const schema = topicSchemas().get(canonicalTopic);
    if (!schema) throw new Error(`no schema for ${canonicalTopic}`);
    this.type = schema.type;
  }

  /** The decoded value, or a promise when the writer schema differs from ours. */
  decode(buf: Buffer): T | Promise<T> {
    if (buf.length > HEADER_BYTES && buf.readUInt8(0) === 0 && buf.readInt32BE(1) === this.ownId) {
      return this.type.fromBuffer(buf.subarray(HEADER_BYTES)) as T;
    }
    return this.wait
      ? this.serde.decodeWaiting<T>(this.canonicalTopic, buf, this.wait)
      : this.serde.decode<T>(this.canonicalTopic, buf);
  }

  /**
   * While set, a writer schema the registry cannot be asked for is waited for (see
   * AvroSerde.decodeWaiting) instead of failing the batch.
   */
  wait: ((err: Error) => Promise<boolean>) | undefined;
}
