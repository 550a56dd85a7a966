/**
 * Avro serde through a Confluent-compatible schema registry (Confluent wire format: magic byte 0,
 * 4-byte big-endian schema id, Avro binary). Subjects are `<topic>-value`.
 * Encoding uses the id registered for our own schema; decoding resolves the writer's schema by id
 * (cached) into our reader schema, so records written under an older compatible schema still read.
 */
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import avsc from 'avsc';
import { type CompiledWriter, compileWriter } from './avro-writer.ts';
import { LeechguardError } from './errors.ts';
import { withTimeout } from './kafka.ts';
import { LIMITS } from './limits.ts';
import { type LoadedSchema, topicSchemas } from './schemas/index.ts';
import { subjectOf } from './topics.ts';

const MAGIC_BYTE = 0;
const HEADER_BYTES = 5;
/** Records up to this size are written through the compiled writer; larger ones through avsc. */
const SCRATCH_BYTES = 64 * 1024;
/** Size of the shared buffers encodeMany writes records into, bytes (one allocation per slab). */
const SLAB_BYTES = 256 * 1024;

export interface RegistryOptions {
  url: string;
  username?: string | undefined;
  password?: string | undefined;
}

interface Registered {
  id: number;
  schema: LoadedSchema;
  /** The schema's compiled writer (same bytes as avsc), when its shape has one. */
  write: CompiledWriter | undefined;
}

function registered(id: number, schema: LoadedSchema): Registered {
  return { id, schema, write: compileWriter(schema.type) };
}

/** tryWrite's answer for a value the writer refuses (-1: it does not fit in the buffer). */
const REFUSED = -2;

/** Runs a writer: the end offset, -1 when `buf` has no room left, REFUSED when the value does not fit the schema. */
function tryWrite(write: CompiledWriter, value: unknown, buf: Buffer, at: number): number {
  try {
    const end = write(value, buf, at);
    return end < 0 ? -1 : end; // avsc answers minus the bytes missing
  } catch {
    return REFUSED;
  }
}

/** Confluent framing in front of a value written at `at + HEADER_BYTES`. */
function frame(buf: Buffer, at: number, id: number): void {
  buf[at] = MAGIC_BYTE;
  buf.writeInt32BE(id, at + 1);
}

export class AvroSerde {
  readonly registry: SchemaRegistry;
  private readonly byTopic = new Map<string, Registered>();
  private readonly resolvers = new Map<string, { resolver: avsc.Resolver; type: avsc.Type }>();
  private readonly scratch = Buffer.allocUnsafe(SCRATCH_BYTES);

  private readonly options: RegistryOptions;

  constructor(options: RegistryOptions) {
    this.options = options;
    this.registry = new SchemaRegistry({
      host: options.url,
      ...(options.username ? { auth: { username: options.username, password: options.password ?? '' } } : {}),
    });
  }

  /** Registers (or finds) each topic's schema; the registry refuses an incompatible one (409). */
  async registerAll(topics?: readonly string[]): Promise<Map<string, number>> {
    const all = topicSchemas();
    const names = topics ?? [...all.keys()];
    const ids = new Map<string, number>();
    for (const name of names) {
      const schema = all.get(name);
      if (!schema) throw new Error(`no schema for topic ${name}`);
      const id = await this.register(subjectOf(name), schema.schemaText);
      this.byTopic.set(name, registered(id, schema));
      ids.set(name, id);
    }
    return ids;
  }

  /**
   * Takes ids another serde registered (ingest's batch workers encode with the ids the main thread
   * registered, without asking the registry again).
   */
  adoptIds(ids: ReadonlyMap<string, number>): void {
    const all = topicSchemas();
    for (const [name, id] of ids) {
      const schema = all.get(name);
      if (!schema) throw new Error(`no schema for topic ${name}`);
      this.byTopic.set(name, registered(id, schema));
    }
  }

  /** Registers one schema text under a subject; maps refusals to LG_ERR_SCHEMA_INCOMPATIBLE. */
  async register(subject: string, schemaText: string): Promise<number> {
    try {
      const { id } = await withTimeout(
        this.registry.register({ type: SchemaType.AVRO, schema: schemaText }, { subject }),
        LIMITS.registryRequestTimeoutMs,
        `register ${subject}`,
      );
      return id;
    } catch (cause) {
      const status = (cause as { status?: number }).status;
      const text = String((cause as Error).message);
      if (status === 409 || /incompatible|compatib/i.test(text)) {
        throw new LeechguardError('LG_ERR_SCHEMA_INCOMPATIBLE', `${subject}: ${text}`, { cause });
      }
      throw new LeechguardError('LG_ERR_REGISTRY_UNAVAILABLE', `${subject}: ${text}`, { cause });
    }
  }

  schemaId(topic: string): number {
    return this.registration(topic).id;
  }

  private registration(topic: string): Registered {
    const reg = this.byTopic.get(topic);
    if (!reg) throw new Error(`schema of ${topic} not registered: call registerAll() at boot`);
    return reg;
  }

  /**
   * Confluent-framed values of one topic, written back to back into shared slabs (one allocation
   * per slab instead of one or two per record). A value the writer refuses goes through encode(),
   * whose error names the bad field.
   */
  encodeMany(topic: string, values: readonly unknown[]): Buffer[] {
    const reg = this.registration(topic);
    const type = reg.schema.type;
    const write = reg.write ?? ((v: unknown, buf: Buffer, at: number) => type.encode(v, buf, at));
    const out: Buffer[] = new Array(values.length);
    let slab = Buffer.allocUnsafe(SLAB_BYTES);
    let pos = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      let end = pos + HEADER_BYTES < slab.length ? tryWrite(write, v, slab, pos + HEADER_BYTES) : -1;
      if (end === -1) {
        // No room left: a fresh slab (a record larger than a slab is encoded on its own below).
        slab = Buffer.allocUnsafe(SLAB_BYTES);
        pos = 0;
        end = tryWrite(write, v, slab, HEADER_BYTES);
      }
      if (end < 0) {
        out[i] = this.encode(topic, v); // throws LG_ERR_RECORD_INVALID naming the field
        continue;
      }
      frame(slab, pos, reg.id);
      out[i] = slab.subarray(pos, end);
      pos = end;
    }
    return out;
  }

  /** Encodes synchronously with our registered schema; an invalid value names the bad field. */
  encode(topic: string, value: unknown): Buffer {
    const reg = this.registration(topic);
    // The compiled writer into a scratch buffer, then one exact-size copy; avsc below for values
    // it refuses (its error names the field) and for records larger than the scratch.
    const end = reg.write ? tryWrite(reg.write, value, this.scratch, HEADER_BYTES) : -1;
    if (end > 0) {
      const out = Buffer.allocUnsafe(end);
      this.scratch.copy(out, 0, 0, end);
      frame(out, 0, reg.id);
      return out;
    }
    let body: Buffer;
    try {
      body = reg.schema.type.toBuffer(value);
    } catch (cause) {
      const paths: string[] = [];
      reg.schema.type.isValid(value, { errorHook: (path) => paths.push(path.join('.')) });
      throw new LeechguardError(
        'LG_ERR_RECORD_INVALID',
        `${topic}: invalid field(s) ${paths.join(', ') || '?'}`,
        {
          cause,
          details: { fields: paths },
        },
      );
    }
    const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
    frame(out, 0, reg.id);
    body.copy(out, HEADER_BYTES);
    return out;
  }

  /** Readiness: the registry answers a listing within the probe timeout. */
  async probe(): Promise<void> {
    const { url, username, password } = this.options;
    const headers: Record<string, string> = username
      ? { authorization: `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}` }
      : {};
    const res = await fetch(`${url.replace(/\/$/, '')}/subjects`, {
      headers,
      signal: AbortSignal.timeout(LIMITS.readinessProbeTimeoutMs),
    });
    await res.body?.cancel();
    if (!res.ok) throw new Error(`registry answered ${res.status}`);
  }

  /**
   * decode(), waiting out a registry that does not answer (LG_ERR_REGISTRY_UNAVAILABLE): retried
   * with back-off for as long as `wait` allows (it also keeps the caller's consumer alive), so a
   * record is never skipped because the registry was down. Any other error is thrown at once;
   * so is the last registry error when `wait` answers false.
   */
  async decodeWaiting<T>(
    topic: string,
    buffer: Buffer,
    wait: (err: LeechguardError) => Promise<boolean>,
  ): Promise<T> {
    let backoffMs: number = LIMITS.registryRetryBackoffMs;
    for (;;) {
      try {
        return await this.decode<T>(topic, buffer);
      } catch (err) {
        if (!(err instanceof LeechguardError) || err.code !== 'LG_ERR_REGISTRY_UNAVAILABLE') throw err;
        if (!(await wait(err))) throw err;
        await new Promise((r) => setTimeout(r, backoffMs));
        backoffMs = Math.min(backoffMs * 2, LIMITS.registryRetryBackoffMsMax);
      }
    }
  }

  /** Decodes a Confluent-framed Avro value into our schema for `topic`. */
  async decode<T>(topic: string, buffer: Buffer): Promise<T> {
    if (buffer.length < HEADER_BYTES || buffer.readUInt8(0) !== MAGIC_BYTE) {
      throw new LeechguardError('LG_ERR_RECORD_INVALID', `${topic}: not Confluent wire format`);
    }
    const writerId = buffer.readInt32BE(1);
    const body = buffer.subarray(HEADER_BYTES);
    const own = this.byTopic.get(topic);
    if (own && own.id === writerId) return own.schema.type.fromBuffer(body) as T;
    const key = `${topic}#${writerId}`;
    let entry = this.resolvers.get(key);
    if (!entry) {
      const reader = topicSchemas().get(topic)?.type;
      if (!reader) throw new Error(`no schema for topic ${topic}`);
      let fetched: avsc.Type;
      try {
        fetched = (await withTimeout(
          this.registry.getSchema(writerId),
          LIMITS.registryRequestTimeoutMs,
          `schema ${writerId}`,
        )) as unknown as avsc.Type;
      } catch (cause) {
        // Only "no such id" is about the record; anything else is the registry, and retriable.
        if ((cause as { status?: number }).status === 404) {
          throw new LeechguardError(
            'LG_ERR_RECORD_INVALID',
            `${topic}: writer schema id ${writerId} unknown`,
            {
              cause,
            },
          );
        }
        throw new LeechguardError(
          'LG_ERR_REGISTRY_UNAVAILABLE',
          `${topic}: schema ${writerId}: ${String((cause as Error).message)}`,
          { cause },
        );
      }
      // Re-parse through our avsc so the resolver never mixes two copies of the library.
      const writer = avsc.Type.forSchema(fetched.schema());
      entry = { resolver: reader.createResolver(writer), type: reader };
      this.resolvers.set(key, entry);
    }
    return entry.type.fromBuffer(body, entry.resolver) as T;
  }
}
