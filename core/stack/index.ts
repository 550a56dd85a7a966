/**
 * `leechguard stack up | down | status`: a real single-node Kafka (KRaft), a real Apicurio Registry
 * (Confluent-compatible API) and a real redis-server on free loopback ports, without Docker.
 * State lives in the stack dir (.stack/ by default, git-ignored): data, logs, `state.json` (the pids
 * we started, so `down` stops exactly those) and `endpoints.json` (read by the CLI and the tests).
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { Redis } from 'ioredis';
import { type Endpoints, endpointsFile, stackDir } from '../endpoints.ts';
import { LeechguardError } from '../errors.ts';
import { createKafka, ensureTopics } from '../kafka.ts';
import { createLogger } from '../log.ts';
import { APICURIO_VERSION, ensureKafkaJars, ensureRegistryApp, KAFKA_VERSION } from './artifacts.ts';
import { commandVersion, freePort, isOurs, rssMiB, sleep, spawnDetached, stopProcess } from './processes.ts';

export type ComponentName = 'kafka' | 'registry' | 'redis';

interface ComponentState {
  pid: number;
  port: number;
  /** Text in the process's command line that proves the pid is still ours. */
  marker: string;
  logFile: string;
}

export interface StackState {
  startedAtMs: number;
  dir: string;
  kafka: ComponentState & { controllerPort: number };
  registry: ComponentState;
  redis: ComponentState;
}

export interface ComponentHealth {
  name: ComponentName;
  pid: number | undefined;
  running: boolean;
  healthy: boolean;
  endpoint: string;
  detail: string;
  rssMiB: number | undefined;
}

const START_TIMEOUT_MS = { kafka: 90_000, registry: 120_000, redis: 15_000 };
const STOP_GRACE_MS = 20_000;
const KAFKA_HEAP = '-Xmx512m';
const REGISTRY_HEAP = '-Xmx384m';

function log(msg: string): void {
  process.stderr.write(`[stack] ${msg}\n`);
}

/** Fails with a message saying how to get what is missing. */
export function checkPrerequisites(): { java: string; registryJava: string; mvn: string; redis: string } {
  const java = commandVersion('java', ['-version']);
  const mvn = commandVersion('mvn', ['-v']);
  const redis = commandVersion('redis-server', ['--version']);
  const missing: string[] = [];
  if (!java)
    missing.push('java (JDK 17 or newer): apt-get install openjdk-17-jre-headless, or https://adoptium.net');
  if (!mvn)
    missing.push('mvn (Apache Maven 3.8+): apt-get install maven, or https://maven.apache.org/download.cgi');
  if (!redis) missing.push('redis-server (Redis 7): apt-get install redis-server, or brew install redis');
  const registryJava = findJava(REGISTRY_JAVA_MAJOR_MIN);
  if (java && !registryJava) {
    missing.push(
      `a Java ${REGISTRY_JAVA_MAJOR_MIN}+ runtime for Apicurio Registry ${APICURIO_VERSION} (found only older ones): install one (e.g. Temurin from https://adoptium.net) and set LEECHGUARD_REGISTRY_JAVA to its bin/java`,
    );
  }
  if (missing.length > 0) {
    throw new LeechguardError('LG_ERR_STACK_PREREQUISITE', `missing:\n  - ${missing.join('\n  - ')}`);
  }
  return {
    java: java!,
    registryJava: registryJava!,
    mvn: stripVTControlCharacters(mvn!),
    redis: redis!,
  };
}

/** Apicurio Registry 3.3 is compiled for Java 21 (class files 65); Kafka 4.1 runs on 17. */
const REGISTRY_JAVA_MAJOR_MIN = 21;

function javaMajor(javaBin: string): number | undefined {
  const v = commandVersion(javaBin, ['-version']);
  const m = v ? /version "(\d+)/.exec(v) : null;
  return m ? Number(m[1]) : undefined;
}

/**
 * A java binary of at least `minMajor`: LEECHGUARD_REGISTRY_JAVA, then JAVA_HOME, then PATH,
 * then the newest JDK under /usr/lib/jvm (Debian) or /Library/Java/JavaVirtualMachines (macOS).
 */
export function findJava(minMajor: number, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates: string[] = [];
  if (env.LEECHGUARD_REGISTRY_JAVA) candidates.push(env.LEECHGUARD_REGISTRY_JAVA);
  if (env.JAVA_HOME) candidates.push(join(env.JAVA_HOME, 'bin', 'java'));
  candidates.push('java');
  for (const root of ['/usr/lib/jvm', '/Library/Java/JavaVirtualMachines']) {
    if (!existsSync(root)) continue;
    for (const d of readdirSync(root).sort().reverse()) {
      candidates.push(join(root, d, 'bin', 'java'), join(root, d, 'Contents', 'Home', 'bin', 'java'));
    }
  }
  for (const c of candidates) {
    if (c !== 'java' && !existsSync(c)) continue;
    const major = javaMajor(c);
    if (major !== undefined && major >= minMajor) return c;
  }
  return undefined;
}

function statePath(dir: string): string {
  return join(dir, 'state.json');
}

export function readState(env: NodeJS.ProcessEnv = process.env): StackState | undefined {
  const file = statePath(stackDir(env));
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as StackState;
}

function endpointsOf(state: StackState): Endpoints {
  return {
    kafkaBrokers: [`127.0.0.1:${state.kafka.port}`],
    registryUrl: `http://127.0.0.1:${state.registry.port}/apis/ccompat/v7`,
    redisUrl: `redis://127.0.0.1:${state.redis.port}`,
  };
}

async function probeKafka(brokers: string[]): Promise<string> {
  const kafka = createKafka(
    { brokers, clientId: 'leechguard-stack', ssl: false, replicationFactor: 1 },
    createLogger('stack', 'silent'),
  );
  const admin = kafka.admin({ retry: { retries: 0 } });
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return `cluster ${cluster.clusterId}, ${cluster.brokers.length} broker(s)`;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

async function probeRegistry(url: string): Promise<string> {
  const res = await fetch(`${url}/subjects`, { signal: AbortSignal.timeout(2_000) });
  if (!res.ok) throw new Error(`GET /subjects answered ${res.status}`);
  const subjects = (await res.json()) as unknown[];
  return `${subjects.length} subject(s)`;
}

async function probeRedisAt(url: string): Promise<string> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    const info = await redis.info('server');
    return `redis ${/redis_version:(\S+)/.exec(info)?.[1] ?? '?'}`;
  } finally {
    redis.disconnect();
  }
}

async function waitFor(
  name: string,
  timeoutMs: number,
  pid: number,
  marker: string,
  probe: () => Promise<string>,
) {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    if (!isOurs(pid, marker)) {
      throw new LeechguardError('LG_ERR_STACK_START_FAILED', `${name} exited during start-up: see its log`);
    }
    try {
      return await probe();
    } catch (err) {
      lastError = (err as Error).message;
    }
    await sleep(250);
  }
  throw new LeechguardError(
    'LG_ERR_STACK_START_FAILED',
    `${name} not healthy after ${timeoutMs} ms: ${lastError}`,
  );
}

function writeKafkaConfig(dir: string, port: number, controllerPort: number): string {
  const file = join(dir, 'server.properties');
  writeFileSync(
    file,
    [
      '# Written by `leechguard stack up`: single-node KRaft, loopback only.',
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      `log.dirs=${join(dir, 'data')}`,
      'num.partitions=1',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=6',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=false',
      'log.segment.bytes=67108864',
      'log.retention.check.interval.ms=60000',
      'log.cleaner.backoff.ms=5000',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'log4j2.properties'),
    [
      'status = warn',
      'appender.out.type = Console',
      'appender.out.name = OUT',
      'appender.out.layout.type = PatternLayout',
      'appender.out.layout.pattern = [%d] %p %m (%c)%n',
      'rootLogger.level = INFO',
      'rootLogger.appenderRef.out.ref = OUT',
      'logger.kafka.name = kafka',
      'logger.kafka.level = WARN',
      'logger.org.name = org.apache.kafka',
      'logger.org.level = WARN',
      'logger.state.name = state.change.logger',
      'logger.state.level = WARN',
      '',
    ].join('\n'),
  );
  return file;
}

/** A single-node KRaft broker's files, ready to launch (and relaunch on the same ports and data). */
export interface KafkaNode {
  dir: string;
  port: number;
  controllerPort: number;
  configFile: string;
  /** JVM arguments naming the log config and the classpath of the cached jars. */
  classpathArgs: string[];
}

/**
 * A KRaft cluster id: 16 random bytes, base64url without padding, never starting with '-' (the
 * storage tool would take it for an option, 1 start in 64; Kafka's own Uuid.randomUuid avoids it too).
 */
export function newKafkaClusterId(): string {
  for (;;) {
    const id = Buffer.from(randomUUID().replace(/-/g, ''), 'hex').toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/**
 * Writes the broker's config under `dir` on free loopback ports and formats its storage (once:
 * a second call on the same dir keeps the cluster id and data). Used by `stack up` and by tests
 * that need a broker of their own to kill.
 */
export async function prepareKafkaNode(dir: string): Promise<KafkaNode> {
  const libs = ensureKafkaJars();
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  let controllerPort = await freePort();
  while (controllerPort === port) controllerPort = await freePort();
  const configFile = writeKafkaConfig(dir, port, controllerPort);
  const classpathArgs = [`-Dlog4j2.configurationFile=${join(dir, 'log4j2.properties')}`, '-cp', `${libs}/*`];
  const idFile = join(dir, 'cluster-id');
  // An id starting with '-' never formatted a directory (the tool read it as an option): replace it.
  if (!existsSync(idFile) || readFileSync(idFile, 'utf8').startsWith('-')) {
    writeFileSync(idFile, newKafkaClusterId());
  }
  const clusterId = readFileSync(idFile, 'utf8').trim();
  const format = spawnSync(
    'java',
    [
      ...classpathArgs,
      'kafka.tools.StorageTool',
      'format',
      '-t',
      clusterId,
      '-c',
      configFile,
      '--ignore-formatted',
    ],
    { encoding: 'utf8' },
  );
  if (format.status !== 0) {
    throw new LeechguardError(
      'LG_ERR_STACK_START_FAILED',
      `kafka storage format failed: ${format.stderr || format.stdout}`,
    );
  }
  return { dir, port, controllerPort, configFile, classpathArgs };
}

/** Starts the broker detached; its command line carries the dir so `down` can tell it is ours. */
export function launchKafkaNode(node: KafkaNode, heapArgs: string[] = [KAFKA_HEAP, '-Xms256m']): number {
  return spawnDetached(
    'java',
    [
      ...heapArgs,
      '-XX:+UseG1GC',
      '-Djava.awt.headless=true',
      `-Dleechguard.stack=${node.dir}`,
      ...node.classpathArgs,
      'kafka.Kafka',
      node.configFile,
    ],
    join(node.dir, 'kafka.log'),
    node.dir,
  );
}

async function startKafka(dir: string): Promise<StackState['kafka']> {
  const node = await prepareKafkaNode(join(dir, 'kafka'));
  const pid = launchKafkaNode(node);
  return {
    pid,
    port: node.port,
    controllerPort: node.controllerPort,
    marker: node.dir,
    logFile: join(node.dir, 'kafka.log'),
  };
}

async function startRegistry(
  dir: string,
  kafkaPort: number,
  javaBin: string,
): Promise<StackState['registry']> {
  const app = ensureRegistryApp();
  const rdir = join(dir, 'registry');
  mkdirSync(rdir, { recursive: true });
  const port = await freePort();
  // The management interface (health, metrics) is built in; give it its own loopback port.
  let managementPort = await freePort();
  while (managementPort === port) managementPort = await freePort();
  const logFile = join(rdir, 'registry.log');
  const marker = rdir;
  const pid = spawnDetached(
    javaBin,
    [
      REGISTRY_HEAP,
      // C1 only: the registry answers a few lookups per process start, so start-up time wins.
      '-XX:TieredStopAtLevel=1',
      '-XX:+UseSerialGC',
      '-Djava.awt.headless=true',
      `-Dleechguard.stack=${rdir}`,
      '-Dquarkus.http.host=127.0.0.1',
      `-Dquarkus.http.port=${port}`,
      '-Dquarkus.management.host=127.0.0.1',
      `-Dquarkus.management.port=${managementPort}`,
      // Schemas are kept in a Kafka topic (like Confluent's _schemas), so ids survive restarts.
      '-Dapicurio.storage.kind=kafkasql',
      `-Dapicurio.kafkasql.bootstrap.servers=127.0.0.1:${kafkaPort}`,
      '-Dapicurio.kafkasql.topic=leechguard._schemas',
      '-Dapicurio.rules.global.compatibility=BACKWARD',
      '-Dapicurio.ccompat.use-canonical-hash=true',
      '-jar',
      join(app, 'quarkus-run.jar'),
    ],
    logFile,
    rdir,
  );
  return { pid, port, marker, logFile };
}

async function startRedis(dir: string): Promise<StackState['redis']> {
  const rdir = join(dir, 'redis');
  mkdirSync(rdir, { recursive: true });
  const port = await freePort();
  const logFile = join(rdir, 'redis.log');
  const pid = spawnDetached(
    'redis-server',
    [
      '--bind',
      '127.0.0.1',
      '--port',
      String(port),
      '--dir',
      rdir,
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--daemonize',
      'no',
    ],
    logFile,
    rdir,
  );
  return { pid, port, marker: `:${port}`, logFile };
}

export interface UpOptions {
  /** Wipe data from earlier runs first. */
  fresh?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** Starts whatever is not running yet, waits until each answers, creates the topics. */
export async function stackUp(
  options: UpOptions = {},
): Promise<{ endpoints: Endpoints; state: StackState; seconds: number }> {
  const env = options.env ?? process.env;
  const t0 = Date.now();
  const { registryJava } = checkPrerequisites();
  const dir = stackDir(env);
  const current = readState(env);
  if (current) {
    const health = await stackStatus(env);
    if (health.every((h) => h.healthy)) {
      log('already up');
      return { endpoints: endpointsOf(current), state: current, seconds: (Date.now() - t0) / 1000 };
    }
    log('a previous stack is partly down: stopping what is left and starting again');
    await stackDown(env);
  }
  if (options.fresh) rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });

  log(
    `fetching Kafka ${KAFKA_VERSION} and Apicurio Registry ${APICURIO_VERSION} (cached after the first run)`,
  );
  ensureKafkaJars(env);
  ensureRegistryApp(env);

  const started: Array<{ pid: number }> = [];
  try {
    const redis = await startRedis(dir);
    started.push(redis);
    const kafka = await startKafka(dir);
    started.push(kafka);
    // The registry boots while Kafka does: its Kafka client retries until the broker answers.
    const registry = await startRegistry(dir, kafka.port, registryJava);
    started.push(registry);
    const state: StackState = { startedAtMs: t0, dir, kafka, redis, registry };
    writeFileSync(statePath(dir), JSON.stringify(state, null, 2));
    const endpoints = endpointsOf(state);
    const ready = (name: ComponentName, c: ComponentState, probe: () => Promise<string>) =>
      waitFor(name, START_TIMEOUT_MS[name], c.pid, c.marker, probe).then((detail) =>
        log(`${name}: ${detail}`),
      );
    await Promise.all([
      ready('redis', redis, () => probeRedisAt(endpoints.redisUrl)),
      ready('kafka', kafka, () => probeKafka(endpoints.kafkaBrokers)),
      ready('registry', registry, () => probeRegistry(endpoints.registryUrl)),
    ]);

    const kafkaClient = createKafka(
      { brokers: endpoints.kafkaBrokers, clientId: 'leechguard-stack', ssl: false, replicationFactor: 1 },
      createLogger('stack', 'silent'),
    );
    const admin = kafkaClient.admin();
    await admin.connect();
    try {
      const created = await ensureTopics(admin, 1);
      if (created.length > 0) log(`created topics: ${created.join(', ')}`);
    } finally {
      await admin.disconnect();
    }
    writeFileSync(endpointsFile(env), JSON.stringify(endpoints, null, 2));
    return { endpoints, state, seconds: (Date.now() - t0) / 1000 };
  } catch (err) {
    for (const p of started.reverse()) await stopProcess(p.pid, 5_000);
    rmSync(statePath(dir), { force: true });
    throw err;
  }
}

export async function stackStatus(env: NodeJS.ProcessEnv = process.env): Promise<ComponentHealth[]> {
  const state = readState(env);
  if (!state) {
    return (['kafka', 'registry', 'redis'] as const).map((name) => ({
      name,
      pid: undefined,
      running: false,
      healthy: false,
      endpoint: '-',
      detail: 'not started (run `leechguard stack up`)',
      rssMiB: undefined,
    }));
  }
  const endpoints = endpointsOf(state);
  const checks: Array<[ComponentName, ComponentState, string, () => Promise<string>]> = [
    ['kafka', state.kafka, endpoints.kafkaBrokers.join(','), () => probeKafka(endpoints.kafkaBrokers)],
    ['registry', state.registry, endpoints.registryUrl, () => probeRegistry(endpoints.registryUrl)],
    ['redis', state.redis, endpoints.redisUrl, () => probeRedisAt(endpoints.redisUrl)],
  ];
  return Promise.all(
    checks.map(async ([name, c, endpoint, probe]) => {
      const running = c.pid > 0 && isOurs(c.pid, c.marker);
      let healthy = false;
      let detail = running ? '' : 'not running';
      if (running) {
        try {
          detail = await probe();
          healthy = true;
        } catch (err) {
          detail = (err as Error).message;
        }
      }
      return {
        name,
        pid: c.pid || undefined,
        running,
        healthy,
        endpoint,
        detail,
        rssMiB: running ? rssMiB(c.pid) : undefined,
      };
    }),
  );
}

/** Stops exactly the processes `up` started (pid and command line both match), registry first. */
export async function stackDown(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const state = readState(env);
  if (!state) return [];
  const stopped: string[] = [];
  for (const [name, c] of [
    ['registry', state.registry],
    ['kafka', state.kafka],
    ['redis', state.redis],
  ] as const) {
    if (c.pid > 0 && isOurs(c.pid, c.marker)) {
      await stopProcess(c.pid, STOP_GRACE_MS);
      stopped.push(`${name} (pid ${c.pid})`);
    }
  }
  rmSync(statePath(state.dir), { force: true });
  rmSync(endpointsFile(env), { force: true });
  return stopped;
}
