/**
 * Where the Kafka broker, schema registry and Redis are. Resolution order, first wins:
 * 1. environment: LEECHGUARD_KAFKA_BROKERS (comma list), LEECHGUARD_REGISTRY_URL, LEECHGUARD_REDIS_URL
 *    — a user's own cluster;
 * 2. the file `leechguard stack up` writes (.stack/endpoints.json under the project root, or
 *    LEECHGUARD_STACK_DIR) — the local stack.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Endpoints {
  kafkaBrokers: string[];
  registryUrl: string;
  redisUrl: string;
}

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export function stackDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.LEECHGUARD_STACK_DIR ? resolve(env.LEECHGUARD_STACK_DIR) : join(PROJECT_ROOT, '.stack');
}

export function endpointsFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(stackDir(env), 'endpoints.json');
}

export function readStackEndpoints(env: NodeJS.ProcessEnv = process.env): Endpoints | undefined {
  const file = endpointsFile(env);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as Endpoints;
}

/** Endpoints from the environment, when all three are given. */
export function envEndpoints(env: NodeJS.ProcessEnv = process.env): Endpoints | undefined {
  const brokers = env.LEECHGUARD_KAFKA_BROKERS;
  const registryUrl = env.LEECHGUARD_REGISTRY_URL;
  const redisUrl = env.LEECHGUARD_REDIS_URL;
  if (!brokers || !registryUrl || !redisUrl) return undefined;
  return { kafkaBrokers: brokers.split(',').map((b) => b.trim()), registryUrl, redisUrl };
}

export function resolveEndpoints(env: NodeJS.ProcessEnv = process.env): Endpoints | undefined {
  return envEndpoints(env) ?? readStackEndpoints(env);
}
