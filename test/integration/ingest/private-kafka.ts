/**
 * A throwaway single-node Kafka (KRaft) for tests that kill the broker: its own data dir and
 * ports, started from the local stack's cached jars, killed with SIGKILL by its own pid and
 * restarted on the same ports with the same data. Never touches the shared stack.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKafka, ensureTopics } from '../../../core/kafka.ts';
import { createLogger } from '../../../core/log.ts';
import { launchKafkaNode, prepareKafkaNode } from '../../../core/stack/index.ts';
import { isAlive, sleep } from '../../../core/stack/processes.ts';
import { waitFor } from '../../support/wait.ts';

export interface PrivateKafka {
  brokers: string[];
  kill(): void;
  /** Freezes the broker (SIGSTOP): connections stay open, nothing is answered until resume(). */
  pause(): void;
  resume(): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function privateKafka(): Promise<PrivateKafka> {
  const dir = mkdtempSync(join(tmpdir(), 'lg-private-kafka-'));
  const node = await prepareKafkaNode(dir);
  const brokers = [`127.0.0.1:${node.port}`];
  let pid = 0;

  async function waitReady(): Promise<void> {
    const kafka = createKafka(
      { brokers, clientId: 'private-probe', ssl: false, replicationFactor: 1 },
      createLogger('test', 'silent'),
    );
    await waitFor(
      'the private kafka to take its topics',
      async () => {
        const admin = kafka.admin();
        try {
          await admin.connect();
          await ensureTopics(admin, 1);
          await admin.disconnect();
          return true;
        } catch {
          await admin.disconnect().catch(() => {});
          return false; // still starting
        }
      },
      90_000,
      500,
    );
  }

  const handle: PrivateKafka = {
    brokers,
    async start() {
      // Same ports and data on every (re)start: clients reconnect to the broker they knew.
      pid = launchKafkaNode(node, ['-Xmx384m', '-Xms128m']);
      await waitReady();
    },
    kill() {
      if (pid && isAlive(pid)) process.kill(pid, 'SIGKILL');
    },
    pause() {
      if (pid && isAlive(pid)) process.kill(pid, 'SIGSTOP');
    },
    resume() {
      if (pid && isAlive(pid)) process.kill(pid, 'SIGCONT');
    },
    async stop() {
      handle.resume();
      handle.kill();
      for (let i = 0; i < 50 && pid && isAlive(pid); i++) await sleep(100);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await handle.start();
  return handle;
}
