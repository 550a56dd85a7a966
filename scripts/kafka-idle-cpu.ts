/**
 * CPU an idle, connected kafkajs client costs this process: one idempotent producer (connected,
 * nothing to send) and one consumer (joined, subscribed to an empty topic), for a few seconds.
 * Prints the process's CPU time per second of wall clock (user + system), and how many timers
 * were armed per second, so a regression of the request queue's idle timer loop shows.
 *
 *   node scripts/kafka-idle-cpu.ts [seconds=5]
 *
 * Uses the brokers of the local stack (or LEECHGUARD_KAFKA_BROKERS); creates a one-partition topic
 * of its own and deletes it afterwards. Judge by CPU, not wall clock, on a busy machine.
 */

import { resolveEndpoints } from '../core/endpoints.ts';
import { createConsumer, createKafka, createProducer } from '../core/kafka.ts';
import { createLogger } from '../core/log.ts';

const seconds = Number(process.argv[2] ?? 5);
const brokers = process.env.LEECHGUARD_KAFKA_BROKERS?.split(',') ?? resolveEndpoints()?.kafkaBrokers;
if (!brokers) {
  process.stderr.write('no Kafka brokers: run `leechguard stack up` or set LEECHGUARD_KAFKA_BROKERS\n');
  process.exit(2);
}

const kafka = createKafka(
  { brokers, clientId: 'lg-idle-cpu', ssl: false, replicationFactor: 1 },
  createLogger('idle-cpu', 'silent'),
);
const topic = `lg-idle-cpu-${process.pid}-${Date.now()}`;
const admin = kafka.admin();
const producer = createProducer(kafka);
const consumer = createConsumer(kafka, { groupId: topic });

await admin.connect();
await admin.createTopics({
  waitForLeaders: true,
  topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
});
try {
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: false });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.run({ eachMessage: async () => {} });
  await joined;
  await new Promise((resolve) => setTimeout(resolve, 1_000)); // let the first fetch settle

  let timers = 0;
  const realSetTimeout = globalThis.setTimeout;
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    timers++;
    return realSetTimeout(...args);
  }) as typeof setTimeout;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await new Promise((resolve) => realSetTimeout(resolve, seconds * 1_000));
  const cpu = process.cpuUsage(cpu0);
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  globalThis.setTimeout = realSetTimeout;

  const cpuMsPerS = (cpu.user + cpu.system) / 1_000 / wallS;
  process.stdout.write(
    `${JSON.stringify({
      seconds: Number(wallS.toFixed(2)),
      cpuMsPerSecond: Number(cpuMsPerS.toFixed(2)),
      userMsPerSecond: Number((cpu.user / 1_000 / wallS).toFixed(2)),
      systemMsPerSecond: Number((cpu.system / 1_000 / wallS).toFixed(2)),
      setTimeoutPerSecond: Number((timers / wallS).toFixed(1)),
    })}\n`,
  );
} finally {
  await consumer.disconnect();
  await producer.disconnect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin.disconnect();
}
