/**
 * Ingest benchmark: lines/s of each parser alone, of parse + token + enrichment, and of HTTP ->
 * Kafka acked end to end, beside a bare kafkajs producer (idempotent, acks=all) sending records
 * of the same size to the same broker in the same run (the raw ceiling). Uses a private broker
 * (so the shared stack's topics are not flooded) and the shared schema registry.
 *
 * The end-to-end phase runs once per `--workers` value (default `0,1`: all on the HTTP thread, then
 * with one batch worker; `auto` = ingest's default), so the pool's effect is measured in the same run.
 *
 *   node bench/ingest.ts [--seconds 6] [--clients 4] [--batch 2000] [--workers 0,1]
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { systemClock } from '../core/clock.ts';
import { createKafka, createProducer } from '../core/kafka.ts';
import { createLogger } from '../core/log.ts';
import { partitionOf } from '../core/partition.ts';
import { AvroSerde } from '../core/serde.ts';
import { TokenHasher } from '../core/token-hash.ts';
import { TOPICS } from '../core/topics.ts';
import { enrichSection } from '../ingest/config.ts';
import { encodeOutput } from '../ingest/encode.ts';
import { buildCdnRequests, createPipelineContext, OPERATOR_SENDER } from '../ingest/pipeline.ts';
import { startIngest } from '../ingest/service.ts';
import { CLOUDFRONT_REALTIME_VIDEO_FIELDS } from '../ingest/sources/cloudfront-realtime/index.ts';
import { type LogFormat, parseBatch } from '../ingest/sources/index.ts';
import { geoResolverFrom, loadGeoTables } from '../ingest/transforms/enrich/geo.ts';
import { tokenSection } from '../ingest/transforms/token/config.ts';
import { runBatchJob } from '../ingest/workers/job.ts';
import { privateKafka } from '../test/integration/ingest/private-kafka.ts';
import { ingestTestConfig } from '../test/integration/ingest/support.ts';
import { testEndpoints } from '../test/support/stack.ts';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const execFileAsync = promisify(execFile);
const { values } = parseArgs({
  options: {
    seconds: { type: 'string' },
    clients: { type: 'string' },
    batch: { type: 'string' },
    workers: { type: 'string' },
  },
});
const SECONDS = Number(values.seconds ?? 6);
const CLIENTS = Number(values.clients ?? 4);
const BATCH = Number(values.batch ?? 2000);
/** Worker counts to run the end-to-end phase with; `auto` is ingest's default (cores - 2, at least 0). */
const WORKER_RUNS = (values.workers ?? '0,1').split(',').map((w) => (w === 'auto' ? undefined : Number(w)));

// ── synthetic but realistic lines: 2,000 accounts, 50,000 client IPs, segment URLs with tokens ──
function ip(i: number): string {
  return `${81 + (i % 120)}.${(i >> 3) & 255}.${(i >> 7) & 255}.${i & 255}`;
}
function token(i: number): string {
  return `exp%3D1763672400~acl%3D%2Flive%2F*~id%3Dacct-${i % 2000}~hmac%3D${(i % 2000).toString(16).padStart(16, '0')}`;
}
const ua = 'Mozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)%20AppleWebKit/537.36';
function cfStandard(i: number): string {
  return [
    '2026-11-20',
    `20:${String((i >> 6) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}`,
    'FRA56-C1',
    '1254000',
    ip(i % 50_000),
    'GET',
    'd1.cloudfront.net',
    `/live/ch${i % 40}/720p/segment_${(i >> 4) + 1000}.ts`,
    '200',
    '-',
    ua,
    `hdnts=${token(i)}`,
    '-',
    'Hit',
    `req-${i}`,
    'cdn.example.com',
    'https',
    '300',
    '0.010',
    '-',
    'TLSv1.3',
    'TLS_AES_128_GCM_SHA256',
    'Hit',
    'HTTP/2.0',
    '-',
    '-',
    '51515',
    '0.002',
    'Hit',
    'video/MP2T',
    '1254000',
    '-',
    '-',
  ].join('\t');
}
function cfRealtime(i: number): string {
  const cmcd = [
    '3200',
    '21300',
    'false',
    `ch${i % 40}`,
    '4004',
    '-',
    '25000',
    '-',
    '-',
    'v',
    '1',
    '-',
    'h',
    `sess-${i % 5000}`,
    'l',
    'false',
    '6000',
    '1',
  ];
  return [
    `${1763668800 + (i >> 6)}.${String(i % 1000).padStart(3, '0')}`,
    ip(i % 50_000),
    '200',
    '1254000',
    'GET',
    'https',
    'd1.cloudfront.net',
    `/live/ch${i % 40}/720p/segment_${(i >> 4) + 1000}.ts`,
    'FRA56-P1',
    `req-${i}`,
    'AppleCoreMedia/1.0.0',
    '-',
    `hdnts=${token(i)}`,
    'Hit',
    'DE',
    '-',
    '3320',
    ...cmcd,
  ].join('\t');
}
function akamai(i: number): string {
  return JSON.stringify({
    reqTimeSec: `${1763668800 + (i >> 6)}.${i % 1000}`,
    cliIP: ip(i % 50_000),
    reqHost: 'live.example.com',
    reqMethod: 'GET',
    reqPath: `/live/ch${i % 40}/1080p/seg_${(i >> 4) + 1000}.m4s`,
    queryStr: `hdnts=${token(i)}`,
    statusCode: '200',
    bytes: '1800000',
    UA: 'AppleCoreMedia%2F1.0',
    cacheStatus: '1',
    reqId: `r${i}`,
    country: 'SE',
    asn: '3301',
  });
}
function fastly(i: number): string {
  return JSON.stringify({
    timestamp: 1763668800 + (i >> 6),
    client_ip: ip(i % 50_000),
    geo_country: 'DE',
    url: `/live/ch${i % 40}/720p/seg_${(i >> 4) + 1000}.ts?token=t${i % 2000}`,
    request_method: 'GET',
    user_agent: 'VLC/3.0',
    response_status: 200,
    response_body_size: 1400000,
  });
}
/** Logpush http_requests with the fields leechguard reads, Unix-nanosecond timestamps (the default). */
function cloudflare(i: number): string {
  return JSON.stringify({
    ClientIP: ip(i % 50_000),
    ClientRequestHost: 'live.example.com',
    ClientRequestMethod: 'GET',
    ClientRequestURI: `/live/ch${i % 40}/720p/seg_${(i >> 4) + 1000}.ts?token=t${i % 2000}`,
    ClientRequestUserAgent: 'AppleCoreMedia/1.0.0',
    ClientCountry: 'de',
    ClientASN: 3320,
    EdgeColoCode: 'FRA',
    EdgeResponseBytes: 1400000,
    EdgeResponseStatus: 200,
    EdgeStartTimestamp: (1763668800 + (i >> 6)) * 1e9,
    CacheCacheStatus: 'hit',
    RayID: `8${i.toString(16).padStart(15, '0')}`,
  });
}
/** The Fastly line behind an RFC 3164 syslog header, as Fastly's syslog endpoints deliver it. */
function fastlySyslog(i: number): string {
  return `<134>2026-11-20T20:00:00Z cache-fra-etou8220${i % 100} leechguard[289400]: ${fastly(i)}`;
}
/** CloudFront standard logging v2 with every legacy field and a trailing tab, as AWS's example lines end. */
function cfStandardTrailingTab(i: number): string {
  return `${cfStandard(i)}\t`;
}
const MAKERS: Record<LogFormat, (i: number) => string> = {
  'cloudfront-standard': cfStandard,
  'cloudfront-realtime': cfRealtime,
  'akamai-ds2': akamai,
  fastly,
  cloudflare,
  ndjson: fastly,
};
/** Variants of a format parsed in the parse-only table (new line shapes beside the baseline ones). */
const VARIANTS: Array<[string, LogFormat, (i: number) => string]> = [
  ['cloudfront-standard, trailing tab', 'cloudfront-standard', cfStandardTrailingTab],
  ['fastly behind a syslog header', 'fastly', fastlySyslog],
];

function pct(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : 0;
}
/** CPU time of this process (every thread) since `since`, µs per item. */
function cpuUsPer(since: NodeJS.CpuUsage, items: number): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / Math.max(1, items);
}
const mib = () => Math.round(process.memoryUsage().rss / 1024 / 1024);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const out: string[] = [];
  const say = (s: string) => {
    out.push(s);
    process.stdout.write(`${s}\n`);
  };
  say(
    `# ingest bench: ${SECONDS}s per end-to-end phase, ${CLIENTS} HTTP clients, ${BATCH} lines per request, node ${process.version}`,
  );

  // ── 1. parsers alone; + token + enrichment; the whole batch job a worker runs (+ Avro, partition, pack) ──
  const geoTables = loadGeoTables({ bundled: true });
  const geo = geoResolverFrom(geoTables);
  const ctx = createPipelineContext(
    enrichSection.parse({}),
    new TokenHasher({ currentKeyId: 'k1', keys: { k1: 'z'.repeat(32) } }),
    geo,
  );
  const source = { name: 'bench', format: 'x', tenant: 'default', token: tokenSection.parse({}) };
  // Schema ids as a registry would give them (the job needs no registry call to encode).
  const jobSerde = new AvroSerde({ url: 'http://registry.unused.invalid' });
  jobSerde.adoptIds(
    new Map([
      [TOPICS.requests.name, 1],
      [TOPICS.deadLetters.name, 2],
    ]),
  );
  const jobEnv = {
    ctx,
    serde: jobSerde,
    limits: { lineBytesMax: 32 * 1024, batchLinesMax: 50_000, bodyBytesMax: 64 * 1024 * 1024 },
    partitions: new Map([[TOPICS.requests.name, TOPICS.requests.partitions]]),
  };
  say(
    '\n| format | parse only, lines/s | parse + token + enrich, lines/s | whole batch job (+ Avro, partition, pack), lines/s |\n|---|---:|---:|---:|',
  );
  const runs: Array<[string, LogFormat, (i: number) => string]> = [
    ...(Object.keys(MAKERS) as LogFormat[])
      .filter((f) => f !== 'ndjson')
      .map((f): [string, LogFormat, (i: number) => string] => [f, f, MAKERS[f]]),
    ...VARIANTS,
  ];
  for (const [label, format, make] of runs) {
    const text = Array.from({ length: 20_000 }, (_, i) => make(i)).join('\n');
    const fields = format === 'cloudfront-realtime' ? CLOUDFRONT_REALTIME_VIDEO_FIELDS : undefined;
    const rate = (fn: () => void) => {
      fn(); // warm up
      let n = 0;
      const t0 = performance.now();
      while (performance.now() - t0 < 1000) {
        fn();
        n += 20_000;
      }
      return n / ((performance.now() - t0) / 1000);
    };
    const parseRate = rate(() => {
      const r = parseBatch(format, text, { fields });
      if (r.errors.length) throw new Error(`${format}: ${r.errors[0]!.reason}`);
    });
    const fullRate = rate(() =>
      buildCdnRequests(
        parseBatch(format, text, { fields }),
        { ...source, format },
        { batchId: 'b', receivedAtMs: 0 },
        ctx,
      ),
    );
    const body = Buffer.from(text);
    const jobRate = rate(() => {
      const r = runBatchJob(
        {
          format,
          body,
          contentEncoding: '',
          source: { ...source, format },
          fields,
          givenBatchId: 'b',
          receivedAtMs: 0,
          sender: OPERATOR_SENDER,
        },
        jobEnv,
      );
      if (r.deadLetters.length) throw new Error(`${format}: ${r.deadLetters[0]!.reason}`);
    });
    say(`| ${label} | ${fmt(parseRate)} | ${fmt(fullRate)} | ${fmt(jobRate)} |`);
  }

  // ── 2. private broker, shared registry ──
  const shared = await testEndpoints();
  const kafka = await privateKafka();
  const endpoints = { ...shared, kafkaBrokers: kafka.brokers };
  try {
    const format: LogFormat = 'cloudfront-realtime';
    const bodies = Array.from({ length: 16 }, (_, b) =>
      Array.from({ length: BATCH }, (_, i) => MAKERS[format](b * BATCH + i)).join('\n'),
    );
    // Record size as ingest produces it, for the baseline.
    const serde = new AvroSerde({ url: endpoints.registryUrl });
    await serde.registerAll([TOPICS.requests.name]);
    const sample = encodeOutput(
      serde,
      TOPICS.requests.name,
      buildCdnRequests(
        parseBatch(format, bodies[0]!, { fields: CLOUDFRONT_REALTIME_VIDEO_FIELDS }),
        { ...source, format },
        { batchId: 'b', receivedAtMs: 0 },
        ctx,
      ),
      { ...source, format },
      { batchId: 'b', receivedAtMs: 0 },
      ctx,
    );
    const msgs = sample.batches[0]!.messages;
    const recordBytes = msgs.reduce((n, m) => n + (m.value?.length ?? 0), 0) / msgs.length;

    // 2a. bare kafkajs producer, same record size and keys, same request size as the sink uses.
    const baseLogger = createLogger('bench', 'silent');
    const producer = createProducer(
      createKafka(
        { brokers: kafka.brokers, clientId: 'bench-raw', ssl: false, replicationFactor: 1 },
        baseLogger,
      ),
    );
    await producer.connect();
    const perRequest = Math.max(1, Math.floor((900 * 1024) / (recordBytes + 32 + 16)));
    // Partitions computed outside the timed loop, as ingest's sink does (same as Kafka's default).
    const rawBatch = msgs
      .concat(msgs)
      .slice(0, perRequest)
      .map((m) => ({ ...m, partition: partitionOf(m.key, TOPICS.requests.partitions) }));
    // Warm the fresh broker (JIT, page cache) before measuring anything against it.
    for (const t = performance.now(); performance.now() - t < 2000; ) {
      await producer.sendBatch({
        acks: -1,
        topicMessages: [{ topic: TOPICS.requests.name, messages: rawBatch }],
      });
    }
    let rawRecords = 0;
    const rawLat: number[] = [];
    const rawCpu0 = process.cpuUsage();
    const tRaw = performance.now();
    while (performance.now() - tRaw < SECONDS * 1000) {
      const t = performance.now();
      await producer.sendBatch({
        acks: -1,
        topicMessages: [{ topic: TOPICS.requests.name, messages: rawBatch }],
      });
      rawLat.push(performance.now() - t);
      rawRecords += rawBatch.length;
    }
    const rawRate = rawRecords / ((performance.now() - tRaw) / 1000);
    const rawCpuUs = cpuUsPer(rawCpu0, rawRecords);
    await producer.disconnect();

    // 2b. HTTP -> ingest -> Kafka acked, once per worker setting.
    const bodiesFile = join(mkdtempSync(join(tmpdir(), 'lg-bench-')), 'bodies.json');
    writeFileSync(bodiesFile, JSON.stringify(bodies));
    const loadScript = join(import.meta.dirname, 'ingest-load.ts');
    const rows: string[] = [];
    let bestRate = 0;
    let refusedTotal = 0;
    let rss = 0;
    for (const workers of WORKER_RUNS) {
      const config = ingestTestConfig(endpoints, { workers });
      const ingest = await startIngest(config, { geoTables });
      const runLoad = (seconds: number) =>
        // Asynchronous on purpose: the ingest server under test runs on this process's event loop.
        execFileAsync(
          process.execPath,
          [
            loadScript,
            ingest.url,
            'cf-rt-key-0123456789',
            format,
            String(seconds),
            String(CLIENTS),
            bodiesFile,
          ],
          { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
        );
      // The same 2 s warm-up the bare producer had (JIT, token-hash and geo caches), not measured.
      await runLoad(2);
      const cpu0 = process.cpuUsage();
      const mainCpu0 = process.threadCpuUsage();
      const workerCpu0 = ingest.workerCpuUs();
      const { stdout } = await runLoad(SECONDS);
      const load = JSON.parse(stdout) as {
        lines: number;
        refused: number;
        latenciesMs: number[];
        seconds: number;
      };
      const cpuUs = cpuUsPer(cpu0, load.lines);
      const mainCpu = process.threadCpuUsage(mainCpu0);
      const mainUs = (mainCpu.user + mainCpu.system) / Math.max(1, load.lines);
      const workerUs = (ingest.workerCpuUs() - workerCpu0) / Math.max(1, load.lines);
      rss = Math.max(rss, mib());
      await ingest.close();
      const lat = load.latenciesMs.sort((a, b) => a - b);
      const rate = load.lines / load.seconds;
      bestRate = Math.max(bestRate, rate);
      refusedTotal += load.refused;
      rows.push(
        `| HTTP ${format} -> parse, token, enrich, Avro -> Kafka acked, ${
          workers === 0 ? 'all on the HTTP thread (workers 0)' : `${ingest.workers} batch worker(s)`
        } (${CLIENTS} clients x ${BATCH} lines, clients in their own process) | ${fmt(rate)} | ${pct(lat, 50).toFixed(1)} | ${pct(lat, 99).toFixed(1)} | ${cpuUs.toFixed(1)} (HTTP thread ${mainUs.toFixed(1)}, workers ${workerUs.toFixed(1)}) | ${(rate / rawRate).toFixed(2)} |`,
      );
    }
    rmSync(dirname(bodiesFile), { recursive: true, force: true });
    rawLat.sort((a, b) => a - b);
    say(
      `\n| path | records/s | p50 ms | p99 ms | CPU µs/record (this process, all threads) | / ceiling |\n|---|---:|---:|---:|---:|---:|`,
    );
    say(
      `| bare kafkajs producer, idempotent acks=all, partitions given, ${Math.round(recordBytes)}-byte records, ${perRequest}/request (ceiling) | ${fmt(rawRate)} | ${pct(rawLat, 50).toFixed(1)} | ${pct(rawLat, 99).toFixed(1)} | ${rawCpuUs.toFixed(1)} | 1.00 |`,
    );
    for (const r of rows) say(r);
    const e2eRate = bestRate;
    say(`\nrequests refused (503) ${refusedTotal}; process RSS ${rss} MiB (max over the runs)`);
    say(
      `targets (best run): >= 100,000 lines/s end to end (${e2eRate >= 100_000 ? 'met' : 'NOT met'}) or ratio >= 0.5 (${e2eRate / rawRate >= 0.5 ? 'met' : 'NOT met'})`,
    );
  } finally {
    await kafka.stop();
  }
  void systemClock;
}

await main();
process.exit(0);
