/**
 * Loads the Avro schemas in schemas/ (the one source of truth for every record on Kafka).
 * Shared named types (Cmcd) live in their own file and are parsed first, so every topic's
 * schema can reference them; `fullSchema()` gives the self-contained JSON sent to the registry.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import { ALL_TOPICS, type TopicSpec } from '../topics.ts';

export const SCHEMAS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'schemas');

/** Files holding named types referenced by other schemas, in dependency order. */
export const SHARED_SCHEMA_FILES = ['cmcd.avsc'] as const;

export function readSchemaJson(file: string, dir = SCHEMAS_DIR): avro.Schema {
  return JSON.parse(readFileSync(join(dir, file), 'utf8')) as avro.Schema;
}

/** Parses a topic's schema, resolving shared named types from the same folder. */
export function parseSchema(file: string, dir = SCHEMAS_DIR): avro.Type {
  const registry: Record<string, avro.Type> = {};
  for (const shared of SHARED_SCHEMA_FILES) {
    if (shared !== file) avro.Type.forSchema(readSchemaJson(shared, dir), { registry });
  }
  return avro.Type.forSchema(readSchemaJson(file, dir), { registry });
}

/** Self-contained schema (named types inlined at first use, docs kept) for the registry. */
export function fullSchema(type: avro.Type): string {
  return JSON.stringify(type.schema({ exportAttrs: true }));
}

export interface LoadedSchema {
  readonly topic: TopicSpec;
  readonly type: avro.Type;
  readonly schemaText: string;
}

let cache: Map<string, LoadedSchema> | undefined;

/** Schemas of every topic, keyed by topic name. Parsed once per process. */
export function topicSchemas(): Map<string, LoadedSchema> {
  if (cache) return cache;
  cache = new Map();
  for (const topic of ALL_TOPICS) {
    const type = parseSchema(topic.schemaFile);
    if (type.name !== topic.recordName) {
      throw new Error(
        `schema ${topic.schemaFile} names ${type.name}, topic ${topic.name} expects ${topic.recordName}`,
      );
    }
    cache.set(topic.name, { topic, type, schemaText: fullSchema(type) });
  }
  return cache;
}
