/**
 * Fault: the schema registry stops answering (a TCP proxy in front of the shared registry is cut;
 * the shared registry itself keeps running). What must hold, per service: nothing is skipped or
 * committed past, /readyz answers 503 naming the registry, and work resumes when it is back.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import avsc from 'avsc';
import { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { createKafka, createProducer } from '../../../core/kafka.ts';
import { createLogger } from '../../../core/log.ts';
import type { Anomaly, CdnRequest } from '../../../core/schemas/generated.ts';
import { topicSchemas } from '../../../core/schemas/index.ts';
import { AvroSerde } from '../../../core/serde.ts';
import { TOPICS } from '../../../core/topics.ts';
import { keyOf, runBacktest } from '../../../detector/backtest/index.ts';
import { detectorConfig } from '../../../detector/config.ts';
import { startDetector } from '../../../detector/main.ts';
import { recordTimeMs, scenario } from '../../../detector/testing/scenario.ts';
import { denyKey } from '../../../enforcer/denylist/keys.ts';
import { type RunningEnforcer, startEnforcer } from '../../../enforcer/main.ts';
import { type IngestHandle, startIngest } from '../../../ingest/service.ts';
import { testEndpoints, uniqueName } from '../../support/stack.ts';
import { startTcpProxy, type TcpProxy } from '../../support/tcp-proxy.ts';
import { waitFor } from '../../support/wait.ts';
import {
  connect as connectDetector,
  createTopics,
  idVersions,
  readAnomalies,
  tempStateDir,
  topicSize,
} from '../detector/support.ts';
import { startPrivateRedis } from '../edge/support.ts';
import { enforcerConfig, flag } from '../enforcer/support.ts';
import { ingestTestConfig } from '../ingest/support.ts';

const HOUR_MS = 3_600_000;

/** A topic's schema plus one optional field, registered under a private subject: a writer id the services have not seen. */
async function variantWriter<T extends object>(
  serde: AvroSerde,
  topic: string,
): Promise<(value: T) => Buffer> {
  const own = JSON.parse(topicSchemas().get(topic)!.schemaText) as { fields: unknown[] };
  own.fields.push({ name: 'faultNote', type: ['null', 'string'], default: null });
  const text = JSON.stringify(own);
  const id = await serde.register(`${uniqueName('faults')}-value`, text);
  const type = avsc.Type.forSchema(JSON.parse(text));
  return (value) => {
    const body = type.toBuffer({ ...value, faultNote: 'written by a newer producer' });
    const head = Buffer.alloc(5);
    head.writeInt32BE(id, 1);
    return Buffer.concat([head, body]);
  };
}

async function readyz(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, body: await res.text() };
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

describe('schema registry down', () => {
  let proxy: TcpProxy;
  let registryUrl: string;
  let kafka: Kafka;
  let serde: AvroSerde;

  before(async () => {
    const ep = await testEndpoints();
    const target = new URL(ep.registryUrl);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
    registryUrl = `http://${proxy.host}:${proxy.port}${target.pathname}`;
    kafka = createKafka(
      { brokers: ep.kafkaBrokers, clientId: 'faults-registry', ssl: false, replicationFactor: 1 },
      createLogger('test', 'silent'),
    );
    serde = new AvroSerde({ url: ep.registryUrl }); // direct: the test's own calls never go through the cut
  });
  after(async () => {
    proxy.restore();
    await proxy.close();
  });

  it('enforcer: a flag it cannot decode while the registry is down is held, not skipped or committed past; readiness 503; enforced once it is back', async () => {
    const rule = uniqueName('faults-registry');
    const groupId = uniqueName('faults-registry-enf');
    // A private Redis: other enforcers on the shared stack (other tests, whose default policy may
    // automate any rule) consume the same anomalies topic and would write the shared one.
    const priv = await startPrivateRedis();
    const redis = new Redis(priv.url);
    const producer = createProducer(kafka);
    await producer.connect();
    const admin = kafka.admin();
    await admin.connect();
    const write = await variantWriter<Anomaly>(serde, TOPICS.anomalies.name);
    let enforcer: RunningEnforcer | undefined;
    try {
      enforcer = await startEnforcer(
        await enforcerConfig({
          groupId,
          registryUrl,
          redisUrl: priv.url,
          policies: { rules: { [rule]: { mode: 'automate', action: 'block_token', durationMs: HOUR_MS } } },
        }),
      );
      const url = enforcer.url;
      assert.equal((await readyz(url)).status, 200);
      proxy.cut();
      const f = flag({ rule, tokenHash: `th-${randomUUID()}`, tokenExpiresAtMs: Date.now() + HOUR_MS });
      const [meta] = await producer.send({
        topic: TOPICS.anomalies.name,
        acks: -1,
        messages: [{ key: f.accountId ?? f.subjectKey, value: write(f) }],
      });
      const offset = Number(meta!.baseOffset);
      const committed = async () => {
        const [t] = await admin.fetchOffsets({ groupId, topics: [TOPICS.anomalies.name] });
        return Number(t?.partitions.find((p) => p.partition === meta!.partition)?.offset ?? -1);
      };
      // The enforcer has met the flag: it waits on the registry, or (the fault) skipped it and committed past.
      await waitFor(
        'the enforcer to meet the flag',
        async () =>
          (await metric(url, 'leechguard_enforcer_registry_waits_total')) > 0 ||
          (await metric(url, 'leechguard_enforcer_flags_undecodable_total')) > 0 ||
          (await committed()) > offset,
        60_000,
      );
      assert.ok((await committed()) <= offset, 'nothing committed past the flag');
      assert.equal(await metric(url, 'leechguard_enforcer_flags_undecodable_total'), 0, 'nothing skipped');
      const down = await readyz(url);
      assert.equal(down.status, 503);
      assert.match(down.body, /registry/);
      assert.equal(await redis.exists(denyKey('token', f.tokenHash!)), 0);

      proxy.restore();
      await waitFor(
        'the flag enforced',
        async () => (await redis.exists(denyKey('token', f.tokenHash!))) === 1,
        60_000,
      );
      await waitFor('the flag committed', async () => (await committed()) > offset, 30_000);
      assert.equal((await readyz(url)).status, 200);
    } finally {
      proxy.restore();
      await enforcer?.close();
      await producer.disconnect();
      await admin.disconnect();
      redis.disconnect();
      await priv.stop();
    }
  });

  it('detector: input it cannot decode while the registry is down is held, not skipped; readiness 503; the flags of a backtest once it is back', async () => {
    const ctx = await connectDetector();
    const records = scenario({
      accounts: 30,
      durationMs: 3 * 60_000,
      startMs: Math.floor(Date.now() / 1000) * 1000 - 4 * 60_000,
    });
    const expected = await runBacktest(records);
    const [topics] = await createTopics(ctx.kafka, 'det-registry');
    const writeRequest = await variantWriter<CdnRequest>(serde, TOPICS.requests.name);
    // Everything is on the topics before the detector starts (as in the backtest comparison: the
    // order it reads inputs in then does not depend on when they were written).
    // Requests written by a newer producer: the detector must ask the registry for their schema.
    const names: Record<string, string> = {
      [TOPICS.requests.name]: topics!.requests,
      [TOPICS.heartbeats.name]: topics!.heartbeats,
      [TOPICS.accounts.name]: topics!.accounts,
    };
    const producer = createProducer(kafka);
    await producer.connect();
    try {
      for (let i = 0; i < records.length; i += 500) {
        const byTopic = new Map<string, Array<{ key: string; value: Buffer | null; timestamp: string }>>();
        for (const rec of records.slice(i, i + 500)) {
          const list = byTopic.get(names[rec.topic]!) ?? [];
          list.push({
            key: keyOf(rec),
            value:
              rec.value === null
                ? null
                : rec.topic === TOPICS.requests.name
                  ? writeRequest(rec.value as CdnRequest)
                  : ctx.serde.encode(rec.topic, rec.value),
            timestamp: String(recordTimeMs(rec)),
          });
          byTopic.set(names[rec.topic]!, list);
        }
        await producer.sendBatch({
          acks: -1,
          topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        });
      }
    } finally {
      await producer.disconnect();
    }

    // The detector boots (its own schemas register), but its first fetch of the newer schema is
    // held at the proxy until the cut: the registry is down before it could answer.
    proxy.holdWhen((chunk) => /\/schemas\/ids\//.test(chunk.toString('latin1')));
    const detector = await startDetector(
      detectorConfig({
        kafka: { brokers: ctx.brokers },
        registry: { url: registryUrl },
        http: { port: 0 },
        detector: {
          groupId: uniqueName('det-registry'),
          stateDir: tempStateDir(),
          topics,
          flushIntervalMs: 100,
        },
      }),
      { logger: createLogger('detector', 'silent') },
    );
    const url = detector.url!;
    try {
      proxy.cut();
      await waitFor(
        'the detector to meet the new schema',
        async () => (await metric(url, 'leechguard_detector_registry_waits_total')) > 0,
        60_000,
      );
      const down = await readyz(url);
      assert.equal(down.status, 503);
      assert.match(down.body, /registry/);
      proxy.restore();
      await waitFor(
        'all flags',
        async () => (await topicSize(ctx.kafka, topics!.anomalies)) >= expected.flags.length,
        60_000,
      );
      await new Promise((r) => setTimeout(r, 500)); // nothing beyond the expected may follow
    } finally {
      proxy.restore();
      await detector.close();
    }
    const got = await readAnomalies(ctx.kafka, ctx.serde, topics!.anomalies);
    assert.deepEqual(idVersions(got), idVersions(expected.flags));
  });

  it('ingest: batches are still answered 2xx from the ids it registered at boot; readiness 503 while the registry is down, 200 after', async () => {
    const ep = await testEndpoints();
    let ingest: IngestHandle | undefined;
    try {
      ingest = await startIngest(ingestTestConfig({ ...ep, registryUrl }));
      assert.equal((await readyz(ingest.url)).status, 200);
      proxy.cut();
      const down = await readyz(ingest.url);
      assert.equal(down.status, 503);
      assert.match(down.body, /registry/);
      const line = JSON.stringify({
        timestamp: new Date().toISOString(),
        url: '/v/seg1.ts?token=abc',
        clientIp: '203.0.113.7',
        status: 200,
        bytes: 10,
      });
      const res = await fetch(`${ingest.url}/v1/logs/ndjson`, {
        method: 'POST',
        headers: { authorization: 'Bearer ndjson-key-0123456789', 'content-type': 'text/plain' },
        body: line,
      });
      assert.ok(res.status < 300, `answered ${res.status}`);
      proxy.restore();
      assert.equal((await readyz(ingest.url)).status, 200);
    } finally {
      proxy.restore();
      await ingest?.close();
    }
  });
});
