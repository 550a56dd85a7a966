/**
 * Fetches and caches the stack's Java parts from Maven Central, once per machine:
 * the Kafka broker jars (kafka.pom.xml) and the Apicurio Registry app (registry.pom.xml).
 * The cache lives outside the checkout (LEECHGUARD_CACHE_DIR, else $XDG_CACHE_HOME/leechguard,
 * else ~/.cache/leechguard) so every clone on the machine starts in seconds after the first.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LeechguardError } from '../errors.ts';

export const KAFKA_VERSION = '4.1.1';
export const APICURIO_VERSION = '3.3.3';

/** Pinned so every machine runs the same goal code. */
const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';

const HERE = dirname(fileURLToPath(import.meta.url));

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LEECHGUARD_CACHE_DIR) return env.LEECHGUARD_CACHE_DIR;
  const base = env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return join(base, 'leechguard');
}

function runMaven(args: string[], what: string): void {
  const res = spawnSync('mvn', ['-q', '-B', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (res.error || res.status !== 0) {
    throw new LeechguardError(
      'LG_ERR_STACK_START_FAILED',
      `maven could not fetch ${what} from Maven Central (exit ${res.status}): ${(res.stdout + res.stderr).slice(-2000)}`,
    );
  }
}

/** Directory holding the Kafka broker's jars (`java -cp '<dir>/*'`). */
export function ensureKafkaJars(env: NodeJS.ProcessEnv = process.env): string {
  const dir = join(cacheDir(env), `kafka-${KAFKA_VERSION}`);
  const done = join(dir, '.complete');
  if (existsSync(done)) return join(dir, 'libs');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  runMaven(
    [
      '-f',
      join(HERE, 'kafka.pom.xml'),
      `${DEPENDENCY_PLUGIN}:copy-dependencies`,
      `-DoutputDirectory=${join(dir, 'libs')}`,
    ],
    `Apache Kafka ${KAFKA_VERSION}`,
  );
  writeFileSync(done, new Date().toISOString());
  return join(dir, 'libs');
}

/** Directory holding Apicurio Registry's quarkus-run.jar. */
export function ensureRegistryApp(env: NodeJS.ProcessEnv = process.env): string {
  const dir = join(cacheDir(env), `apicurio-registry-${APICURIO_VERSION}`);
  const done = join(dir, '.complete');
  if (existsSync(done)) return findQuarkusApp(join(dir, 'app'));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  runMaven(
    [
      '-f',
      join(HERE, 'registry.pom.xml'),
      `${DEPENDENCY_PLUGIN}:unpack`,
      `-Dartifact=io.apicurio:apicurio-registry-app:${APICURIO_VERSION}:tar.gz:all`,
      `-DoutputDirectory=${join(dir, 'app')}`,
      // The plugin remembers unpacks in marker files; keep them with the cache, not in the checkout.
      `-DmarkersDirectory=${join(dir, 'markers')}`,
    ],
    `Apicurio Registry ${APICURIO_VERSION}`,
  );
  const app = findQuarkusApp(join(dir, 'app'));
  writeFileSync(done, new Date().toISOString());
  return app;
}

/** The archive holds quarkus-run.jar at its root or under one top folder, depending on the release. */
function findQuarkusApp(root: string): string {
  const candidates = [root, ...readdirSync(root).map((d) => join(root, d))];
  const found = candidates.find((d) => existsSync(join(d, 'quarkus-run.jar')));
  if (!found)
    throw new LeechguardError(
      'LG_ERR_STACK_START_FAILED',
      `Apicurio archive has no quarkus-run.jar under ${root}`,
    );
  return found;
}
