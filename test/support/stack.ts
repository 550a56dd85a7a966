/**
 * Where integration and end-to-end tests find the real Kafka, schema registry and Redis:
 * 1. LEECHGUARD_KAFKA_BROKERS + LEECHGUARD_REGISTRY_URL + LEECHGUARD_REDIS_URL (a user's own cluster);
 * 2. otherwise Testcontainers, when a Docker engine answers;
 * 3. otherwise the local stack (`leechguard stack up`, started here if it is not up yet).
 * Never a mock.
 */
import { randomUUID } from 'node:crypto';
import { type Endpoints, envEndpoints } from '../../core/endpoints.ts';
import { createKafka, ensureTopics } from '../../core/kafka.ts';
import { createLogger } from '../../core/log.ts';
import { stackUp } from '../../core/stack/index.ts';

let resolved: Promise<Endpoints> | undefined;

async function dockerAnswers(): Promise<boolean> {
  if (process.env.LEECHGUARD_TEST_NO_DOCKER === '1') return false;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

async function startContainers(): Promise<Endpoints> {
  const { GenericContainer, Network, Wait } = await import('testcontainers');
  const network = await new Network().start();
  const kafka = await new GenericContainer('apache/kafka:4.1.1')
    .withNetwork(network)
    .withNetworkAliases('kafka')
    .withExposedPorts(9092)
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093,INTERNAL://:19092',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,INTERNAL:PLAINTEXT',
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_INTER_BROKER_LISTENER_NAME: 'INTERNAL',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .start();
  // Advertised listener must carry the mapped port; restart-free trick: use the mapped port directly.
  const brokers = [`${kafka.getHost()}:${kafka.getMappedPort(9092)}`];
  const registry = await new GenericContainer('apicurio/apicurio-registry:3.3.3')
    .withNetwork(network)
    .withExposedPorts(8080)
    .withEnvironment({ APICURIO_RULES_GLOBAL_COMPATIBILITY: 'BACKWARD' })
    .withWaitStrategy(Wait.forHttp('/apis/ccompat/v7/subjects', 8080))
    .start();
  const redis = await new GenericContainer('redis:7').withExposedPorts(6379).start();
  return {
    kafkaBrokers: brokers,
    registryUrl: `http://${registry.getHost()}:${registry.getMappedPort(8080)}/apis/ccompat/v7`,
    redisUrl: `redis://${redis.getHost()}:${redis.getMappedPort(6379)}`,
  };
}

async function resolve(): Promise<Endpoints> {
  const fromEnv = envEndpoints();
  let endpoints: Endpoints;
  let how: string;
  if (fromEnv) {
    endpoints = fromEnv;
    how = 'environment';
  } else if (await dockerAnswers()) {
    endpoints = await startContainers();
    how = 'testcontainers';
  } else {
    endpoints = (await stackUp()).endpoints;
    how = 'local stack';
  }
  const admin = createKafka(
    { brokers: endpoints.kafkaBrokers, clientId: 'leechguard-test', ssl: false, replicationFactor: 1 },
    createLogger('test', 'silent'),
  ).admin();
  await admin.connect();
  await ensureTopics(admin, 1);
  await admin.disconnect();
  process.stderr.write(
    `# real parts (${how}): kafka ${endpoints.kafkaBrokers.join(',')} registry ${endpoints.registryUrl} redis ${endpoints.redisUrl}\n`,
  );
  return endpoints;
}

/** The real stack's endpoints, resolved once per test process. */
export function testEndpoints(): Promise<Endpoints> {
  resolved ??= resolve();
  return resolved;
}

/** A name no other test run uses (consumer groups, Redis key prefixes). */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}
