import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { before, describe, it } from 'node:test';
import { simulatorTokenConfig } from '../../../cli/demo/harness.ts';
import { createLogger } from '../../../core/log.ts';
import { TokenHasher } from '../../../core/token-hash.ts';
import { TOPICS } from '../../../core/topics.ts';
import { runBacktest, type TopicRecord } from '../../../detector/backtest/index.ts';
import { ingestConfigSchema } from '../../../ingest/config.ts';
import { createPipelineContext } from '../../../ingest/pipeline.ts';
import { emptyReplayStats, replay } from '../../../ingest/replay/index.ts';
import { ship } from '../../../ingest/ship/index.ts';
import { kafkaSender } from '../../../ingest/ship/senders.ts';
import { createGeoResolver } from '../../../ingest/transforms/enrich/geo.ts';
import { createSimulation, OUTPUT_FILES, writeSimulationFiles } from '../../../simulate/index.ts';
import { uniqueName } from '../../support/stack.ts';
import {
  assertLiveDetectorPublishes,
  connect,
  createTopics,
  type DetectorTestContext,
  tempStateDir,
  topicSize,
} from '../detector/support.ts';

describe('backtest over a raw log file vs ship -> Kafka -> detector', () => {
  let ctx: DetectorTestContext;
  before(async () => {
    ctx = await connect();
  });

  it('gives exactly the flags the live detector raises on what ship produced from the same gzip CloudFront log', async () => {
    const sim = await createSimulation({
      seed: 'raw-backtest',
      viewers: 300,
      abuserFraction: 0.05,
      durationMs: 3 * 60_000,
      startMs: Math.floor(Date.now() / 1000) * 1000 - 4 * 60_000,
    });
    const dir = dirname(tempStateDir());
    writeSimulationFiles(sim, dir, { gzip: true });
    const file = join(dir, `${OUTPUT_FILES['cloudfront-standard']}.gz`);
    const sourceName = uniqueName('cf-raw');
    const ingest = ingestConfigSchema.parse({
      kafka: { brokers: ctx.brokers },
      registry: { url: ctx.registryUrl },
      log: { level: 'silent' },
      tokenHashing: sim.config.tokenHashing,
      sources: [
        {
          name: sourceName,
          format: 'cloudfront-standard',
          key: 'cf-raw-key-0123456789',
          token: simulatorTokenConfig(sim.config),
        },
      ],
    });

    // The backtest: the file through ingest's parsers and transforms, then the rules.
    const stats = emptyReplayStats();
    const pipeline = createPipelineContext(
      ingest.enrich,
      new TokenHasher(ingest.tokenHashing),
      createGeoResolver(ingest.enrich.geo),
      ingest.limits.lineBytesMax,
    );
    const expected = await runBacktest(
      replay(
        [{ format: 'cloudfront-standard', files: [file] }],
        { config: ingest, ctx: pipeline, sourceName },
        stats,
      ) as AsyncIterable<TopicRecord>,
    );
    assert.equal(stats.deadLetters, 0);
    assert.ok(stats.records > 1000, `records: ${stats.records}`);
    const rules = new Set(expected.flags.map((f) => f.rule));
    assert.ok(expected.flags.length >= 10 && rules.size >= 3, `flags of several rules: ${[...rules]}`);

    // The live path: ship the same file to (private) topics, the detector service consumes them.
    const [topics] = await createTopics(ctx.kafka, 'raw-bt');
    const sender = await kafkaSender(
      ingest,
      'cloudfront-standard',
      sourceName,
      createLogger('ship', 'silent'),
      {
        topics: { [TOPICS.requests.name]: topics!.requests },
      },
    );
    try {
      const shipped = await ship({
        inputs: [file],
        format: 'cloudfront-standard',
        sender,
        checkpointPath: null,
      });
      assert.equal(shipped.accepted, stats.records);
      assert.equal(shipped.deadLettered, 0);
    } finally {
      await sender.close();
    }
    assert.equal(await topicSize(ctx.kafka, topics!.requests), stats.records);
    await assertLiveDetectorPublishes(ctx, topics!, expected.flags);
  });
});
