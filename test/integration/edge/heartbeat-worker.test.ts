/**
 * The worker-backed admission sink on the real Kafka + registry: what the request thread pushes
 * reaches player.heartbeats.v1 in order (a shutdown flush included), and at its bound new records
 * are dropped and counted rather than lost silently.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createConsumer, createKafka } from '../../../core/kafka.ts';
import { createLogger } from '../../../core/log.ts';
import type { PlayerHeartbeat } from '../../../core/schemas/generated.ts';
import { AvroSerde } from '../../../core/serde.ts';
import { TOPICS } from '../../../core/topics.ts';
import { type AdmissionEvent, admissionRecord } from '../../../enforcer/sessions/heartbeat-sink.ts';
import { WorkerHeartbeatSink } from '../../../enforcer/sessions/heartbeat-worker.ts';
import { testEndpoints, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';

const logger = createLogger('test', 'silent');

function event(accountId: string, i: number): AdmissionEvent {
  return {
    event: i === 0 ? 'start' : 'heartbeat',
    timestampMs: 1_800_000_000_000 + i * 30_000,
    tenant: 'default',
    accountId,
    sessionId: `${accountId}-s`,
    deviceId: 'tv',
    contentId: 'match',
    tokenHash: i % 2 === 0 ? `hash-${i}` : null,
    tokenKeyId: i % 2 === 0 ? 'k1' : null,
  };
}

describe('worker-backed admission heartbeat sink', () => {
  let endpoints: Awaited<ReturnType<typeof testEndpoints>>;
  const kafkaConfig = () => ({
    brokers: endpoints.kafkaBrokers,
    clientId: 'edge-test',
    ssl: false,
    replicationFactor: 1,
  });

  before(async () => {
    endpoints = await testEndpoints();
  });

  /** Reads the records of `accountId` from player.heartbeats.v1 until `count` arrived. */
  async function recordsOf(accountId: string, count: number): Promise<PlayerHeartbeat[]> {
    const kafka = createKafka(kafkaConfig(), logger);
    const serde = new AvroSerde({ url: endpoints.registryUrl });
    await serde.registerAll([TOPICS.heartbeats.name]);
    const admin = kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsetsByTimestamp(TOPICS.heartbeats.name, Date.now() - 60_000);
    await admin.disconnect();
    const consumer = createConsumer(kafka, { groupId: uniqueName('edge-test-hbw') });
    const seen: PlayerHeartbeat[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: TOPICS.heartbeats.name, fromBeginning: false });
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (message.key?.toString() !== accountId || !message.value) return;
        seen.push(await serde.decode<PlayerHeartbeat>(TOPICS.heartbeats.name, message.value));
      },
    });
    for (const o of offsets)
      consumer.seek({ topic: TOPICS.heartbeats.name, partition: o.partition, offset: o.offset });
    try {
      await waitFor(
        () => `${count} records (saw ${seen.length})`,
        () => seen.length >= count,
        15_000,
        50,
      );
    } finally {
      await consumer.disconnect();
    }
    return seen;
  }

  const sinks: WorkerHeartbeatSink[] = [];
  after(async () => {
    for (const s of sinks) await s.flush(1_000);
  });

  test('every pushed event reaches player.heartbeats.v1 in order, the last ones by the shutdown flush', async () => {
    const sink = await WorkerHeartbeatSink.start(
      {
        kafka: kafkaConfig(),
        registry: { url: endpoints.registryUrl },
        logLevel: 'silent',
        source: 'admission',
      },
      logger,
    );
    sinks.push(sink);
    const accountId = uniqueName('acct-hbw');
    const events = Array.from({ length: 40 }, (_, i) => event(accountId, i));
    for (const e of events.slice(0, 30)) sink.push(e);
    await waitFor(
      () => `30 sent before the flush (sent ${sink.sent})`,
      () => sink.sent === 30,
      15_000,
      20,
    );
    for (const e of events.slice(30)) sink.push(e);
    await sink.flush(); // shutdown: the 10 still lingering on the request thread go too
    assert.equal(sink.sent, 40);
    assert.equal(sink.dropped, 0);
    const seen = await recordsOf(accountId, 40);
    // Decoded records are avsc Record instances: compare their fields.
    assert.deepEqual(
      seen.map((r) => ({ ...r })),
      events.map((e) => admissionRecord('admission', e)),
    );
  });

  test('at its bound the sink drops new records and counts them; the accepted ones are still sent', async () => {
    const sink = await WorkerHeartbeatSink.start(
      {
        kafka: kafkaConfig(),
        registry: { url: endpoints.registryUrl },
        logLevel: 'silent',
        source: 'admission',
        queueMax: 10,
      },
      logger,
    );
    sinks.push(sink);
    const accountId = uniqueName('acct-hbw-full');
    // Pushed in one go: nothing can be acknowledged before the 11th arrives.
    for (let i = 0; i < 25; i++) sink.push(event(accountId, i));
    assert.equal(sink.dropped, 15);
    await sink.flush();
    assert.equal(sink.sent, 10);
    const seen = await recordsOf(accountId, 10);
    assert.deepEqual(
      seen.map((r) => r.timestampMs),
      Array.from({ length: 10 }, (_, i) => event(accountId, i).timestampMs),
    );
    // After a flush the sink is closed: a late record is counted, not silently lost.
    sink.push(event(accountId, 99));
    assert.equal(sink.dropped, 16);
  });
});
