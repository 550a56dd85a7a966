/**
 * Fault: the (private) broker is killed with SIGKILL under the enforcer's state writer and the
 * admission heartbeat sink, then restarted. What must hold: every state write that resolved (the
 * API answered 200 after it) and every admission event the sink took is on Kafka afterwards.
 * Reusing a producer after a failed send loses the next acknowledged batch: the broker takes its
 * repeated sequence numbers for a retry and acknowledges it without writing it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createKafka, createProducer, RenewingProducer } from '../../../core/kafka.ts';
import { createLogger } from '../../../core/log.ts';
import type { PlayerHeartbeat } from '../../../core/schemas/generated.ts';
import { AvroSerde } from '../../../core/serde.ts';
import { sleep } from '../../../core/stack/processes.ts';
import { TOPICS } from '../../../core/topics.ts';
import {
  type AdmissionEvent,
  admissionRecord,
  HeartbeatSink,
} from '../../../enforcer/sessions/heartbeat-sink.ts';
import { StateWriter } from '../../../enforcer/state/state-log.ts';
import { testEndpoints } from '../../support/stack.ts';
import { type PrivateKafka, privateKafka } from '../ingest/private-kafka.ts';
import { endOffsets, readSince } from '../ingest/support.ts';

const TOPIC = TOPICS.heartbeats.name;

function event(sessionId: string): AdmissionEvent {
  return {
    event: 'heartbeat',
    timestampMs: Date.now(),
    tenant: 'default',
    accountId: `acct-${sessionId}`,
    sessionId,
    deviceId: 'dev',
    contentId: 'content',
    tokenHash: null,
    tokenKeyId: null,
  };
}

describe('broker killed under the state writer and the heartbeat sink (private broker)', () => {
  let kafka: PrivateKafka;
  before(async () => {
    kafka = await privateKafka();
  });
  after(async () => {
    await kafka?.stop();
  });

  it('every write answered and every admission event taken is on Kafka after the restart', async (t) => {
    const shared = await testEndpoints(); // only its schema registry is used
    const endpoints = { ...shared, kafkaBrokers: kafka.brokers };
    const client = createKafka(
      { brokers: kafka.brokers, clientId: 'faults-broker-kill', ssl: false, replicationFactor: 1 },
      createLogger('test', 'silent'),
    );
    const serde = new AvroSerde({ url: shared.registryUrl });
    await serde.registerAll([TOPIC]);
    const from = await endOffsets(endpoints, TOPIC);
    const writer = new StateWriter(new RenewingProducer(() => createProducer(client)), serde);
    const sinkProducer = new RenewingProducer(() => createProducer(client));
    const sink = new HeartbeatSink(sinkProducer, serde, createLogger('test', 'silent'), { lingerMs: 20 });

    const answered = new Set<string>();
    let failedWrites = 0;
    const pushed = new Set<string>();
    let restarted = false;
    let answeredAfterRestart = 0;
    let n = 0;
    const write = async () => {
      const id = `w-${n++}`;
      try {
        await writer.write(
          [],
          [{ topic: TOPIC, key: `acct-${id}`, value: admissionRecord('faults', event(id)) }],
        );
        answered.add(id);
        if (restarted) answeredAfterRestart++;
      } catch {
        failedWrites++; // answered 503: the caller retries; nothing promised
      }
    };
    const traffic = (async () => {
      const deadline = Date.now() + 90_000;
      let h = 0;
      while (Date.now() < deadline && answeredAfterRestart < 6) {
        for (let i = 0; i < 5; i++) {
          const id = `h-${h++}`;
          sink.push(event(id));
          pushed.add(id);
        }
        await Promise.all([write(), write(), write()]);
        await sleep(20);
      }
    })();
    await sleep(800);
    kafka.kill();
    await sleep(3_000);
    await kafka.start();
    restarted = true;
    await traffic;
    await sink.flush(60_000);
    await sinkProducer.disconnect();
    assert.ok(failedWrites > 0, 'the kill was felt by the writer');
    assert.equal(sink.dropped, 0);
    assert.equal(sink.queued, 0, 'the sink sent everything once the broker was back');

    const want = new Set([...answered, ...pushed]);
    const seen = new Set<string>();
    await readSince<PlayerHeartbeat>(
      endpoints,
      TOPIC,
      from,
      (r) => {
        if (r.value && want.has(r.value.sessionId)) seen.add(r.value.sessionId);
        return false;
      },
      () => seen.size >= want.size,
      30_000,
    );
    const missing = [...want].filter((id) => !seen.has(id));
    t.diagnostic(
      `${answered.size} writes answered, ${failedWrites} refused; ${pushed.size} admission events; missing: ${missing.slice(0, 10).join(', ') || 'none'}`,
    );
    assert.deepEqual(missing, [], `${missing.length} answered records missing from Kafka`);
  });
});
