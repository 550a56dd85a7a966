import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import avro from 'avsc';
import fc from 'fast-check';
import { compileWriter } from '../../../core/avro-writer.ts';
import { topicSchemas } from '../../../core/schemas/index.ts';
import { TOPICS } from '../../../core/topics.ts';

/** Values that fit `type` (every branch, defaults left out at random, awkward strings and numbers). */
function valueOf(type: avro.Type): fc.Arbitrary<unknown> {
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
      );
    case 'enum':
      return fc.constantFrom(...(type as avro.types.EnumType).symbols);
    case 'union:unwrapped':
      return fc.oneof(...(type as avro.types.UnwrappedUnionType).types.map(valueOf));
    case 'record': {
      const fields = (type as avro.types.RecordType).fields;
      return fc
        .tuple(
          ...fields.map((f) =>
            f.defaultValue() === undefined ? valueOf(f.type) : fc.option(valueOf(f.type), { nil: undefined }),
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
    default:
      throw new Error(`no arbitrary for ${type.typeName}`);
  }
}

const compiledTopics = [TOPICS.requests.name, TOPICS.heartbeats.name];

describe('compiled Avro writers', () => {
  for (const topic of compiledTopics) {
    const type = topicSchemas().get(topic)!.type;
    const write = compileWriter(type)!;

    it(`${topic}: writes exactly avsc's bytes`, () => {
      assert.ok(write, 'the schema compiles');
      fc.assert(
        fc.property(valueOf(type), (value) => {
          const buf = Buffer.alloc(64 * 1024);
          const end = write(value, buf, 3);
          assert.deepEqual(buf.subarray(3, end), type.toBuffer(value));
          assert.deepEqual(type.fromBuffer(buf.subarray(3, end)), type.fromBuffer(type.toBuffer(value)));
        }),
        { numRuns: 500 },
      );
    });

    it(`${topic}: throws on every value avsc refuses, and writes avsc's bytes for what it accepts`, () => {
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
        fc.property(valueOf(type), fc.nat(fields.length - 1), junk, (value, i, bad) => {
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
          } else {
            assert.deepEqual(buf.subarray(0, write(mutated, buf, 0)), avscBytes);
          }
        }),
        { numRuns: 1000 },
      );
    });

    it(`${topic}: answers -1 when the buffer is too small, and never writes past it`, () => {
      fc.assert(
        fc.property(valueOf(type), fc.nat(600), (value, room) => {
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

  it('gives no writer for schemas with shapes it does not compile (callers keep avsc)', () => {
    const withArray = avro.Type.forSchema({
      type: 'record',
      name: 'A',
      fields: [{ name: 'xs', type: { type: 'array', items: 'int' } }],
    });
    const wideUnion = avro.Type.forSchema({
      type: 'record',
      name: 'U',
      fields: [{ name: 'u', type: ['null', 'int', 'string'] }],
    });
    assert.equal(compileWriter(withArray), undefined);
    assert.equal(compileWriter(wideUnion), undefined);
    assert.equal(compileWriter(avro.Type.forSchema('string')), undefined);
  });
});
