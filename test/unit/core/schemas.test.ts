import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import avro from 'avsc';
import { parseSchema, readSchemaJson, SCHEMAS_DIR, topicSchemas } from '../../../core/schemas/index.ts';
import { ALL_TOPICS } from '../../../core/topics.ts';

const COMPAT_DIR = join(SCHEMAS_DIR, 'compat');

function walkFields(schema: unknown, visit: (field: Record<string, unknown>, record: string) => void): void {
  if (Array.isArray(schema)) {
    for (const s of schema) walkFields(s, visit);
    return;
  }
  if (typeof schema !== 'object' || schema === null) return;
  const s = schema as Record<string, unknown>;
  if (s.type === 'record') {
    for (const f of s.fields as Record<string, unknown>[]) {
      visit(f, String(s.name));
      walkFields(f.type, visit);
    }
  } else if (s.type === 'array') walkFields(s.items, visit);
  else if (s.type === 'map') walkFields(s.values, visit);
  else if (typeof s.type === 'object') walkFields(s.type, visit);
}

describe('Avro schemas', () => {
  it('every topic has a schema naming the record the topic expects', () => {
    const schemas = topicSchemas();
    assert.equal(schemas.size, ALL_TOPICS.length);
    for (const t of ALL_TOPICS) assert.equal(schemas.get(t.name)?.type.name, t.recordName);
  });

  it('every record and every field is documented with doc', () => {
    for (const file of readdirSync(SCHEMAS_DIR).filter((f) => f.endsWith('.avsc'))) {
      walkFields(readSchemaJson(file), (field, record) => {
        assert.ok(
          typeof field.doc === 'string' && field.doc.length > 3,
          `${file}: ${record}.${String(field.name)} has no doc`,
        );
      });
    }
  });

  it('every current schema reads records written with its released snapshot (BACKWARD)', () => {
    for (const t of ALL_TOPICS) {
      const snapshots = readdirSync(COMPAT_DIR).filter(
        (f) => f === t.schemaFile || f.startsWith(t.schemaFile.replace('.avsc', '.')),
      );
      assert.ok(snapshots.length > 0, `no released snapshot of ${t.schemaFile}`);
      const reader = parseSchema(t.schemaFile);
      for (const snap of snapshots) {
        const writer = parseSchema(snap, COMPAT_DIR);
        const resolver = reader.createResolver(writer);
        const sample = writer.random();
        const decoded = reader.fromBuffer(writer.toBuffer(sample), resolver);
        assert.ok(
          reader.isValid(decoded),
          `${t.name}: snapshot ${snap} record does not read under the current schema`,
        );
      }
    }
  });

  it('a change that breaks BACKWARD compatibility is detected by the same resolver check', () => {
    const writer = parseSchema('dead-letter.avsc');
    const broken = avro.Type.forSchema({
      type: 'record',
      name: 'DeadLetter',
      namespace: 'dev.leechguard.v1',
      fields: [{ name: 'mandatoryNewField', type: 'string' }],
    });
    assert.throws(() => broken.createResolver(writer), /mandatoryNewField/);
  });

  it('generated TypeScript types match the .avsc files', () => {
    const res = spawnSync(process.execPath, [join(SCHEMAS_DIR, '..', 'scripts', 'gen-types.ts'), '--check'], {
      encoding: 'utf8',
    });
    assert.equal(res.status, 0, res.stderr);
  });
});
