import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import avro from 'avsc';
import fc from 'fast-check';
import { compileWriter } from '../../../core/avro-writer.ts';
import type { LeechguardError } from '../../../core/errors.ts';
import { topicSchemas } from '../../../core/schemas/index.ts';
import { AvroSerde } from '../../../core/serde.ts';
import { ALL_TOPICS, TOPICS } from '../../../core/topics.ts';

/** Values that fit `type` (every branch, defaults left out at random, awkward strings and numbers). */
function fitting(type: avro.Type): fc.Arbitrary<unknown> {
  switch (type.typeName) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'int':
      return fc.integer();
    case 'long':
      return fc.oneof(
        fc.integer({ min: -2000, max: 2000 }),
        fc.integer(),
        fc.integer({ min: -9007199254740990, max: 9007199254740990 }),
        fc.constantFrom(
          1073741823,
          1073741824,
          -1073741824,
          -1073741825,
          9007199254740990,
          -9007199254740990,
        ),
      );
    case 'float':
    case 'double':
      return fc.double();
    case 'string':
      return fc.oneof(
        fc.string({ unit: 'binary-ascii', maxLength: 80 }),
        fc.string({ unit: 'binary', maxLength: 40 }), // lone surrogates included
        fc.string({ unit: 'grapheme', minLength: 20, maxLength: 120 }),
        fc.string({ unit: 'binary-ascii', minLength: 60, maxLength: 70 }), // around avsc's 64-byte switch
        fc.string({ unit: 'binary-ascii', minLength: 100, maxLength: 300 }), // a two-byte length
      );
    case 'enum':
      return fc.constantFrom(...(type as avro.types.EnumType).symbols);
    case 'union:unwrapped':
      return fc.oneof(...(type as avro.types.UnwrappedUnionType).types.map(fitting));
    case 'record': {
      const fields = (type as avro.types.RecordType).fields;
      return fc
        .tuple(
          ...fields.map((f) =>
            f.defaultValue() === undefined ? fitting(f.type) : fc.option(fitting(f.type), { nil: undefined }),
          ),
        )
        .map((vals) => {
          const v: Record<string, unknown> = {};
          fields.forEach((f, i) => {
            if (vals[i] !== undefined) v[f.name] = vals[i];
          });
          return v;
        });
    }
    case 'array':
      return fc.array(fitting((type as avro.types.ArrayType).itemsType), { maxLength: 4 });
    case 'map':
      return fc
        .dictionary(fc.string({ maxLength: 8 }), fitting((type as avro.types.MapType).valuesType), {
          maxKeys: 3,
        })
        .map((d) => ({ ...d }));
    case 'bytes':
      return fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a));
    default:
      throw new Error(`no arbitrary for ${type.typeName}`);
  }
}

/** Must compile: ingest and the session heartbeat sink encode every record with these. */
const hotTopics: string[] = [TOPICS.requests.name, TOPICS.heartbeats.name];
/** Every topic whose schema compiles is held to avsc's bytes, strictness and bounds below. */
const compiledTopics = ALL_TOPICS.map((t) => t.name).filter(
  (name) => hotTopics.includes(name) || compileWriter(topicSchemas().get(name)!.type) !== undefined,
);

describe('compiled Avro writers', () => {
  for (const topic of compiledTopics) {
    const type = topicSchemas().get(topic)!.type;
    const write = compileWriter(type)!;

    it(`${topic}: writes exactly avsc's bytes`, () => {
      assert.ok(write, 'the schema compiles');
      fc.assert(
        fc.property(fitting(type), (value) => {
          const buf = Buffer.alloc(64 * 1024);
          const end = write(value, buf, 3);
          assert.deepEqual(buf.subarray(3, end), type.toBuffer(value));
          assert.deepEqual(type.fromBuffer(buf.subarray(3, end)), type.fromBuffer(type.toBuffer(value)));
        }),
        { numRuns: 500 },
      );
    });

    it(`${topic}: throws on every value avsc refuses, and never writes other bytes than avsc`, () => {
      const junk = fc.oneof(
        fc.constant(undefined),
        fc.constant(null),
        fc.string(),
        fc.double(),
        fc.integer(),
        fc.boolean(),
        fc.constant({}),
      );
      const fields = (type as avro.types.RecordType).fields;
      fc.assert(
        fc.property(fitting(type), fc.nat(fields.length - 1), junk, (value, i, bad) => {
          const mutated = { ...(value as object), [fields[i]!.name]: bad };
          let avscBytes: Buffer | undefined;
          try {
            avscBytes = type.toBuffer(mutated);
          } catch {
            avscBytes = undefined;
          }
          const buf = Buffer.alloc(64 * 1024);
          if (avscBytes === undefined) {
            assert.throws(() => write(mutated, buf, 0), `field ${fields[i]!.name} = ${String(bad)}`);
            return;
          }
          // Stricter than avsc is allowed (callers then encode with avsc: e.g. an enum symbol such as
          // "constructor", which avsc finds on its index object's prototype); different bytes are not.
          let end: number | undefined;
          try {
            end = write(mutated, buf, 0);
          } catch {
            end = undefined;
          }
          if (end !== undefined) assert.deepEqual(buf.subarray(0, end), avscBytes);
        }),
        { numRuns: 1000 },
      );
    });

    it(`${topic}: answers -1 when the buffer is too small, and never writes past it`, () => {
      fc.assert(
        fc.property(fitting(type), fc.nat(600), (value, room) => {
          const bytes = type.toBuffer(value);
          const whole = Buffer.alloc(room + 64, 0xee);
          const end = write(value, whole.subarray(0, room), 0);
          // Room is checked conservatively (a long may take 10 bytes): a close fit may answer -1 too.
          if (bytes.length > room) assert.equal(end, -1);
          else if (end !== -1) assert.deepEqual(whole.subarray(0, end), bytes);
          if (bytes.length + 64 <= room) assert.equal(end, bytes.length, 'a generous buffer always fits');
          assert.ok(
            whole.subarray(room).every((b) => b === 0xee),
            'bytes past the buffer untouched',
          );
        }),
        { numRuns: 300 },
      );
    });
  }

  it("writes long strings as avsc does, around the ASCII path's end (8,192 chars)", () => {
    const type = avro.Type.forSchema({
      type: 'record',
      name: 'S',
      fields: [
        { name: 's', type: 'string' },
        { name: 'o', type: ['null', 'string'] },
      ],
    });
    const write = compileWriter(type)!;
    for (const s of [
      'a'.repeat(8191),
      'b'.repeat(8192),
      `${'c'.repeat(8190)}é`,
      `${'d'.repeat(100)}\ud800`,
    ]) {
      const value = { s, o: s };
      const buf = Buffer.alloc(40_000);
      assert.deepEqual(buf.subarray(0, write(value, buf, 0)), type.toBuffer(value), `${s.length} chars`);
    }
  });

  it('writes arrays as avsc does: empty, one block, nested, inside a union; refuses a non-array or a bad item', () => {
    const type = avro.Type.forSchema({
      type: 'record',
      name: 'A',
      fields: [
        { name: 'xs', type: { type: 'array', items: 'int' } },
        { name: 'os', type: ['null', { type: 'array', items: 'string' }], default: null },
        { name: 'nested', type: { type: 'array', items: { type: 'array', items: 'long' } } },
      ],
    });
    const write = compileWriter(type)!;
    assert.ok(write, 'a record with arrays compiles');
    const values = [
      { xs: [], os: null, nested: [] },
      { xs: [1, -2, 300_000], os: ['AS13335', 'tag54:c0a80100'], nested: [[], [2 ** 40, -1]] },
      { xs: Array.from({ length: 200 }, (_, i) => i - 100), os: [], nested: [[0]] },
    ];
    for (const value of values) {
      const buf = Buffer.alloc(4096);
      assert.deepEqual(buf.subarray(0, write(value, buf, 0)), type.toBuffer(value));
    }
    const buf = Buffer.alloc(4096);
    assert.throws(() => write({ xs: 'abc', os: null, nested: [] }, buf, 0), /A\.xs/);
    assert.throws(() => write({ xs: [1, 'two'], os: null, nested: [] }, buf, 0), /A\.xs\[\]/);
    assert.throws(() => write({ xs: [], os: null, nested: [[1.5]] }, buf, 0), /A\.nested\[\]\[\]/);
  });

  it('gives no writer for schemas with shapes it does not compile (callers keep avsc)', () => {
    const withMap = avro.Type.forSchema({
      type: 'record',
      name: 'M',
      fields: [{ name: 'm', type: { type: 'map', values: 'int' } }],
    });
    const wideUnion = avro.Type.forSchema({
      type: 'record',
      name: 'U',
      fields: [{ name: 'u', type: ['null', 'int', 'string'] }],
    });
    assert.equal(compileWriter(withMap), undefined);
    assert.equal(compileWriter(wideUnion), undefined);
    assert.equal(compileWriter(avro.Type.forSchema('string')), undefined);
  });
});

describe('AvroSerde.encode through the compiled writer', () => {
  const serde = new AvroSerde({ url: 'http://registry.unused.invalid' });
  serde.adoptIds(new Map(ALL_TOPICS.map((t, i) => [t.name, 100 + i])));

  it('frames exactly the bytes avsc writes (magic byte, schema id, Avro body) for every topic', () => {
    for (const [i, t] of ALL_TOPICS.entries()) {
      const type = topicSchemas().get(t.name)!.type;
      fc.assert(
        fc.property(fitting(type), (value) => {
          const framed = serde.encode(t.name, value);
          assert.equal(framed[0], 0);
          assert.equal(framed.readInt32BE(1), 100 + i);
          assert.deepEqual(framed.subarray(5), type.toBuffer(value));
        }),
        { numRuns: 50 },
      );
    }
  });

  it('encodeMany frames each value as encode does, across slabs, and refuses a batch with a bad value', () => {
    for (const t of [TOPICS.requests, TOPICS.heartbeats, TOPICS.anomalies]) {
      const type = topicSchemas().get(t.name)!.type;
      const values = fc.sample(fitting(type), { numRuns: 1500, seed: 11 });
      const many = serde.encodeMany(t.name, values);
      assert.equal(many.length, values.length);
      for (const [i, v] of values.entries())
        assert.deepEqual(many[i], serde.encode(t.name, v), `${t.name} #${i}`);
    }
    const type = topicSchemas().get(TOPICS.heartbeats.name)!.type;
    const values = fc.sample(fitting(type), { numRuns: 20, seed: 5 }) as Array<Record<string, unknown>>;
    values[7] = { ...values[7], sessionId: 42 };
    assert.throws(
      () => serde.encodeMany(TOPICS.heartbeats.name, values),
      (err: LeechguardError) => err.code === 'LG_ERR_RECORD_INVALID' && err.message.includes('sessionId'),
    );
  });

  it('still names the bad field of a value that does not fit', () => {
    const type = topicSchemas().get(TOPICS.heartbeats.name)!.type;
    const value = fc.sample(fitting(type), { numRuns: 1, seed: 7 })[0] as Record<string, unknown>;
    assert.throws(
      () => serde.encode(TOPICS.heartbeats.name, { ...value, sessionId: 42 }),
      (err: LeechguardError) => err.code === 'LG_ERR_RECORD_INVALID' && err.message.includes('sessionId'),
    );
  });
});
