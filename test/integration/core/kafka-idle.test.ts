/**
 * An idle, connected kafkajs client arms no timer loop: patches/kafkajs+2.2.4.patch makes the
 * request queue check pending requests only while one is pending or the broker throttles us (the
 * original re-armed a 1 ms timer forever on every connection, ~2,700 setTimeout calls per second
 * for this producer + consumer). Counting timers, not CPU, keeps the test steady on a busy machine;
 * `node scripts/kafka-idle-cpu.ts` measures the CPU.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type Consumer,
  createConsumer,
  createKafka,
  createProducer,
  type Producer,
} from '../../../core/kafka.ts';
import { createLogger } from '../../../core/log.ts';
import { testEndpoints, uniqueName } from '../../support/stack.ts';

const MEASURE_MS = 2_000;

describe('an idle connected producer and consumer (real Kafka)', () => {
  let kafka: ReturnType<typeof createKafka>;
  let producer: Producer | undefined;
  let consumer: Consumer | undefined;
  const topic = uniqueName('lg-test-idle');

  before(async () => {
    const endpoints = await testEndpoints();
    kafka = createKafka(
      { brokers: endpoints.kafkaBrokers, clientId: 'lg-test-idle', ssl: false, replicationFactor: 1 },
      createLogger('test', 'silent'),
    );
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
      });
    } finally {
      await admin.disconnect();
    }
  });

  after(async () => {
    await consumer?.disconnect();
    await producer?.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  });

  it('arms (almost) no timers while idle, and still produces and consumes afterwards', async () => {
    producer = createProducer(kafka);
    await producer.connect();
    consumer = createConsumer(kafka, { groupId: topic });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const joined = new Promise<void>((resolve) => consumer!.on(consumer!.events.GROUP_JOIN, () => resolve()));
    let received: (value: string) => void = () => {};
    const firstMessage = new Promise<string>((resolve) => {
      received = resolve;
    });
    await consumer.run({ eachMessage: async ({ message }) => received(message.value?.toString() ?? '') });
    await joined;

    const realSetTimeout = globalThis.setTimeout;
    let armed = 0;
    globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
      armed++;
      return realSetTimeout(...args);
    }) as typeof setTimeout;
    try {
      await new Promise((resolve) => realSetTimeout(resolve, MEASURE_MS));
    } finally {
      globalThis.setTimeout = realSetTimeout;
    }
    const perSecond = (armed * 1_000) / MEASURE_MS;
    assert.ok(perSecond < 50, `${perSecond} setTimeout calls per second while idle (a timer loop)`);

    // The connections left idle still carry requests (the check is armed again when needed).
    await producer.send({ topic, acks: -1, messages: [{ key: 'k', value: 'after idle' }] });
    assert.equal(await firstMessage, 'after idle');
  });
});
