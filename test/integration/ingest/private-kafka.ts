/**
 * A throwaway single-node Kafka (KRaft) for tests that kill the broker: its own data dir and
 * ports, started from the local stack's cached jars, killed with SIGKILL by its own pid and
 * restarted on the same ports with the same data. Never touches the shared stack.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKafka, ensureTopics } from '../../../core/kafka.ts';
import { createLogger } from '../../../core/log.ts';
import { ensureKafkaJars } from '../../../core/stack/artifacts.ts';
import { freePort, isAlive, sleep, spawnDetached } from '../../../core/stack/processes.ts';

export interface PrivateKafka {
  brokers: string[];
  kill(): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function privateKafka(): Promise<PrivateKafka> {
  const dir = mkdtempSync(join(tmpdir(), 'lg-private-kafka-'));
  const port = await freePort();
  let controllerPort = await freePort();
  while (controllerPort === port) controllerPort = await freePort();
  const config = join(dir, 'server.properties');
  writeFileSync(
    config,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      `log.dirs=${join(dir, 'data')}`,
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=false',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'log4j2.properties'),
    'status = warn\nappender.out.type = Console\nappender.out.name = OUT\nappender.out.layout.type = PatternLayout\nappender.out.layout.pattern = [%d] %p %m (%c)%n\nrootLogger.level = WARN\nrootLogger.appenderRef.out.ref = OUT\n',
  );
  const libs = ensureKafkaJars();
  const common = [`-Dlog4j2.configurationFile=${join(dir, 'log4j2.properties')}`, '-cp', `${libs}/*`];
  const clusterId = Buffer.from(randomUUID().replace(/-/g, ''), 'hex').toString('base64url');
  mkdirSync(join(dir, 'data'), { recursive: true });
  const fmt = spawnSync(
    'java',
    [...common, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', config, '--ignore-formatted'],
    {
      encoding: 'utf8',
    },
  );
  if (fmt.status !== 0) throw new Error(`private kafka format failed: ${fmt.stderr}`);
  const brokers = [`127.0.0.1:${port}`];
  let pid = 0;

  async function waitReady(): Promise<void> {
    const deadline = Date.now() + 90_000;
    const kafka = createKafka(
      { brokers, clientId: 'private-probe', ssl: false, replicationFactor: 1 },
      createLogger('test', 'silent'),
    );
    while (Date.now() < deadline) {
      const admin = kafka.admin();
      try {
        await admin.connect();
        await ensureTopics(admin, 1);
        await admin.disconnect();
        return;
      } catch {
        await admin.disconnect().catch(() => {});
        await sleep(500);
      }
    }
    throw new Error('private kafka did not become ready');
  }

  const handle: PrivateKafka = {
    brokers,
    async start() {
      pid = spawnDetached(
        'java',
        ['-Xmx384m', '-Xms128m', `-Dleechguard.private=${dir}`, ...common, 'kafka.Kafka', config],
        join(dir, 'kafka.log'),
        dir,
      );
      await waitReady();
    },
    kill() {
      if (pid && isAlive(pid)) process.kill(pid, 'SIGKILL');
    },
    async stop() {
      handle.kill();
      for (let i = 0; i < 50 && pid && isAlive(pid); i++) await sleep(100);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await handle.start();
  return handle;
}
