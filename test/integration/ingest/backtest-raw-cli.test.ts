import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parquetWriteFile } from 'hyparquet-writer';
import { simulatorTokenConfig } from '../../../cli/demo/harness.ts';
import { PROJECT_ROOT } from '../../../core/endpoints.ts';
import type { CdnRequest } from '../../../core/schemas/generated.ts';
import { TokenHasher } from '../../../core/token-hash.ts';
import { runBacktest, type TopicRecord } from '../../../detector/backtest/index.ts';
import { ingestConfigSchema } from '../../../ingest/config.ts';
import { createPipelineContext } from '../../../ingest/pipeline.ts';
import { emptyReplayStats, replay } from '../../../ingest/replay/index.ts';
import { createGeoResolver } from '../../../ingest/transforms/enrich/geo.ts';
import {
  createSimulation,
  OUTPUT_FILES,
  type Simulation,
  writeSimulationFiles,
} from '../../../simulate/index.ts';

describe('leechguard backtest --format over raw files', () => {
  let dir: string;
  let sim: Simulation;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lg-bt-raw-'));
    sim = await createSimulation({
      seed: 'raw-cli',
      viewers: 200,
      abuserFraction: 0.05,
      durationMs: 3 * 60_000,
      startMs: 1_763_668_800_000,
    });
    writeSimulationFiles(sim, join(dir, 'sim'), { gzip: true });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const run = (args: string[]) =>
    spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'leechguard.mjs'), 'backtest', ...args], {
      encoding: 'utf8',
      env: { ...process.env, LEECHGUARD_LOG_LEVEL: 'warn' },
    });

  it('a gzip CloudFront log with heartbeats and plans: the flags of ingest + the rules, a summary and the quality report', async () => {
    const sims = join(dir, 'sim');
    const cfg = join(dir, 'ingest.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        tokenHashing: sim.config.tokenHashing,
        sources: [
          {
            name: 'cf',
            format: 'cloudfront-standard',
            key: 'cf-key-0123456789',
            token: simulatorTokenConfig(sim.config),
          },
        ],
        defaultToken: simulatorTokenConfig(sim.config),
      }),
    );
    // A folder holding the log (gzip) beside a plain copy of nothing else: folders are read whole.
    const logs = join(dir, 'logs');
    mkdirSync(logs);
    copyFileSync(
      join(sims, `${OUTPUT_FILES['cloudfront-standard']}.gz`),
      join(logs, 'E2ABC.2026-11-20-20.gz'),
    );
    const out = join(dir, 'flags.ndjson');
    const reportOut = join(dir, 'report');
    const res = run([
      '--format',
      'cloudfront-standard',
      logs,
      '--heartbeats',
      join(sims, `${OUTPUT_FILES.heartbeats}*`),
      '--accounts',
      join(sims, `${OUTPUT_FILES.accounts}.gz`),
      '--ingest-config',
      cfg,
      '--truth',
      join(sims, OUTPUT_FILES.truth),
      '--report-out',
      reportOut,
      '--out',
      out,
      '--no-progress',
    ]);
    assert.equal(res.status, 0, res.stderr);
    const printed = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; version: number });

    // The same inputs through the library: ingest's replay, then the rules.
    const ingest = ingestConfigSchema.parse(JSON.parse(readFileSync(cfg, 'utf8')));
    const ctx = createPipelineContext(
      ingest.enrich,
      new TokenHasher(ingest.tokenHashing),
      createGeoResolver(ingest.enrich.geo),
    );
    const expected = await runBacktest(
      replay(
        [
          { format: 'accounts', files: [join(sims, `${OUTPUT_FILES.accounts}.gz`)] },
          { format: 'cloudfront-standard', files: [join(logs, 'E2ABC.2026-11-20-20.gz')] },
          { format: 'heartbeat', files: [join(sims, `${OUTPUT_FILES.heartbeats}.gz`)] },
        ],
        { config: ingest, ctx, sourceName: 'cf' },
        emptyReplayStats(),
      ) as AsyncIterable<TopicRecord>,
    );
    assert.ok(expected.flags.length > 0);
    assert.deepEqual(
      printed.map((f) => `${f.id}:${f.version}`),
      expected.flags.map((f) => `${f.id}:${f.version}`),
    );
    assert.match(res.stderr, /\d+ lines -> \d+ records, 0 dead letters; source cf/);
    assert.match(res.stderr, /rule\s+flag ids/);
    assert.match(res.stderr, /precision \d+\.\d\d %\s+recall/);
    assert.ok(existsSync(join(reportOut, 'report.md')));
  });

  it('bad lines are counted by code and shown with file and line; a name that matches nothing is an error', () => {
    const file = join(dir, 'bad.log');
    writeFileSync(
      file,
      '#Version: 1.0\n#Fields: date time c-ip cs-uri-stem sc-status\n2026-01-02\t03:04:05\t192.0.2.1\t/a.ts\t200\n2026-01-02\t03:04:05\t192.0.2.1\t/b.ts\tOK\n',
    );
    const res = run(['--format', 'cloudfront-standard', file, '--no-progress']);
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stderr, /2 lines -> 1 records, 1 dead letters \(ING_ERR_FIELD_INVALID 1\)/);
    assert.match(res.stderr, /bad\.log:4: ING_ERR_FIELD_INVALID: sc-status is not a number/);
    const none = run(['--format', 'cloudfront-standard', join(dir, 'nothing-*.gz')]);
    assert.notEqual(none.status, 0);
    assert.match(none.stderr, /no file matches/);
  });

  it('CloudFront v2 Parquet output is read like its W3C form (same requests, field for field)', async () => {
    const w3cFile = join(
      PROJECT_ROOT,
      'test',
      'fixtures',
      'ingest',
      'cloudfront-standard',
      'elastic-integrations.log',
    );
    const lines = readFileSync(w3cFile, 'utf8').trim().split('\n');
    const names = lines[1]!.slice('#Fields: '.length).split(' ');
    const rows = lines.slice(2).map((l) => l.split('\t'));
    const file = join(dir, 'cf-v2.parquet');
    parquetWriteFile({
      filename: file,
      columnData: names.map((name, i) => {
        const values = rows.map((r) => (r[i] === undefined || r[i] === '-' ? null : r[i]!));
        // sc-bytes as a 64-bit integer column, the rest as text.
        return name === 'sc-bytes'
          ? {
              name,
              data: values.map((v) => (v === null ? null : BigInt(v))),
              type: 'INT64' as const,
              nullable: true,
            }
          : { name, data: values, type: 'STRING' as const, nullable: true };
      }),
    });
    const ingest = ingestConfigSchema.parse({});
    const ctx = createPipelineContext(ingest.enrich, new TokenHasher(ingest.tokenHashing));
    const read = async (f: string) => {
      const out = [];
      for await (const r of replay(
        [{ format: 'cloudfront-standard', files: [f] }],
        { config: ingest, ctx, sourceName: 's' },
        emptyReplayStats(),
      ))
        out.push(r);
      return out.map((r) => {
        const { id: _id, ...v } = r.value as CdnRequest;
        return v;
      });
    };
    const fromParquet = await read(file);
    const fromW3c = await read(w3cFile);
    assert.equal(fromParquet.length, 4);
    assert.deepEqual(fromParquet, fromW3c);
  });
});
