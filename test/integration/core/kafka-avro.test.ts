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
import { topicSchemas } from '../../../core/schemas/index.ts';
import { AvroSerde } from '../../../core/serde.ts';
import { ALL_TOPICS } from '../../../core/topics.ts';
import { testEndpoints, uniqueName } from '../../support/stack.ts';

const logger = createLogger('test', 'silent');

describe('Avro through the registry on real Kafka', () => {
  let producer: Producer;
  let consumer: Consumer;
  let serde: AvroSerde;
  let kafka: ReturnType<typeof createKafka>;

  before(async () => {
    const endpoints = await testEndpoints();
    kafka = createKafka(
      { brokers: endpoints.kafkaBrokers, clientId: 'lg-test', ssl: false, replicationFactor: 1 },
      logger,
    );
    serde = new AvroSerde({ url: endpoints.registryUrl });
    await serde.registerAll();
    producer = createProducer(kafka);
    await producer.connect();
  });

  after(async () => {
    await consumer?.disconnect();
    await producer?.disconnect();
  });

  it('a record produced to every topic is consumed back equal', async () => {
    const runKey = uniqueName('roundtrip');
    const sent = new Map<string, unknown>();
    const positions: Array<{ topic: string; partition: number; offset: string }> = [];
    for (const topic of ALL_TOPICS) {
      const type = topicSchemas().get(topic.name)!.type;
      const value = type.random() as unknown;
      sent.set(topic.name, JSON.parse(JSON.stringify(value)));
      const [meta] = await producer.send({
        topic: topic.name,
        acks: -1,
        messages: [{ key: runKey, value: serde.encode(topic.name, value) }],
      });
      positions.push({ topic: topic.name, partition: meta!.partition, offset: meta!.baseOffset! });
    }

    consumer = createConsumer(kafka, { groupId: uniqueName('lg-test-roundtrip') });
    await consumer.connect();
    await consumer.subscribe({ topics: ALL_TOPICS.map((t) => t.name), fromBeginning: false });
    const received = new Map<string, unknown>();
    const done = new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ topic, message }) => {
          if (message.key?.toString() !== runKey || !message.value) return;
          received.set(topic, JSON.parse(JSON.stringify(await serde.decode(topic, message.value))));
          if (received.size === ALL_TOPICS.length) resolve();
        },
      });
    });
    await new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    for (const p of positions) consumer.seek(p);
    await done;
    for (const topic of ALL_TOPICS)
      assert.deepEqual(received.get(topic.name), sent.get(topic.name), topic.name);
  });

  it('each message carries the Confluent wire header with the registered schema id', async () => {
    const buf = serde.encode('leechguard.deadletter.v1', {
      id: 'x',
      source: 's',
      format: 'akamai-ds2',
      errorCode: 'LG_ERR_RECORD_INVALID',
      reason: 'r',
      redactedLine: '',
      batchId: 'b',
      offsetInBatch: 0,
      receivedAtMs: 0,
    });
    assert.equal(buf.readUInt8(0), 0);
    assert.equal(buf.readInt32BE(1), serde.schemaId('leechguard.deadletter.v1'));
  });
});
