import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { LeechguardError } from '../../../core/errors.ts';
import { fullSchema, parseSchema, SCHEMAS_DIR } from '../../../core/schemas/index.ts';
import { AvroSerde } from '../../../core/serde.ts';
import { ALL_TOPICS } from '../../../core/topics.ts';
import { testEndpoints, uniqueName } from '../../support/stack.ts';

describe('schema registry (real)', () => {
  let serde: AvroSerde;

  before(async () => {
    serde = new AvroSerde({ url: (await testEndpoints()).registryUrl });
  });

  it('accepts every released snapshot followed by the current schema (BACKWARD evolution)', async () => {
    const compat = join(SCHEMAS_DIR, 'compat');
    for (const t of ALL_TOPICS) {
      const subject = `${uniqueName('evolve')}-${t.name}-value`;
      for (const snap of readdirSync(compat).filter((f) => f === t.schemaFile)) {
        await serde.register(subject, fullSchema(parseSchema(snap, compat)));
      }
      const id = await serde.register(subject, fullSchema(parseSchema(t.schemaFile)));
      assert.ok(id > 0, t.name);
    }
  });

  it('refuses an incompatible schema on the same subject with LG_ERR_SCHEMA_INCOMPATIBLE', async () => {
    const subject = `${uniqueName('incompatible')}-value`;
    const v1 = parseSchema('dead-letter.avsc').schema() as { fields: unknown[] };
    await serde.register(subject, JSON.stringify(v1));
    // A new required field without a default cannot read old records: BACKWARD says no.
    const v2 = { ...v1, fields: [...v1.fields, { name: 'severity', type: 'int' }] };
    await assert.rejects(
      serde.register(subject, JSON.stringify(v2)),
      (err: unknown) => err instanceof LeechguardError && err.code === 'LG_ERR_SCHEMA_INCOMPATIBLE',
    );
  });

  it('accepts an optional field with a default on the same subject', async () => {
    const subject = `${uniqueName('compatible')}-value`;
    const v1 = parseSchema('dead-letter.avsc').schema() as { fields: unknown[] };
    await serde.register(subject, JSON.stringify(v1));
    const v2 = { ...v1, fields: [...v1.fields, { name: 'severity', type: ['null', 'int'], default: null }] };
    assert.ok((await serde.register(subject, JSON.stringify(v2))) > 0);
  });
});
