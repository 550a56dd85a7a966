/**
 * Every bound of leechguard in one place: a named constant with its unit and why.
 * What happens at the limit is said beside it: a clear error or back-pressure, never silent loss.
 * Service-specific limits live in the service's section below; boot-time asserts tie related ones.
 */

const KiB = 1024;
const MiB = 1024 * KiB;

export const LIMITS = {
  // ── HTTP (all services) ──────────────────────────────────────────────────────────────────────
  /** Largest request body accepted (after gzip inflation for ingest). Above: 413. */
  httpBodyBytesMax: 16 * MiB,
  /** Time a client may take to send a request, ms. Above: the socket is closed. */
  httpRequestTimeoutMs: 30_000,
  /** Time graceful shutdown waits for in-flight requests before closing anyway, ms. */
  shutdownGraceMs: 10_000,

  // ── Kafka ────────────────────────────────────────────────────────────────────────────────────
  /** Retries of a Kafka call before it is reported unavailable (503 / crash-and-restart). */
  kafkaRetriesMax: 5,
  /** First retry back-off, ms; doubles up to kafkaRetryBackoffMsMax. */
  kafkaRetryBackoffMs: 100,
  kafkaRetryBackoffMsMax: 5_000,
  /** Time to wait for acks=all, ms. Above: the batch fails with 503 and nothing is acknowledged. */
  kafkaAckTimeoutMs: 30_000,
  /** Time an admin or metadata call may take when checking readiness, ms. */
  readinessProbeTimeoutMs: 2_000,

  // ── Redis ────────────────────────────────────────────────────────────────────────────────────
  /** Time a Redis command may take before the caller gets LG_ERR_REDIS_UNAVAILABLE, ms. */
  redisCommandTimeoutMs: 1_000,
  /** Reconnect back-off cap, ms. */
  redisReconnectBackoffMsMax: 2_000,

  // ── schema registry ──────────────────────────────────────────────────────────────────────────
  /** Time a registry call may take, ms. */
  registryRequestTimeoutMs: 5_000,

  // ── ingest ───────────────────────────────────────────────────────────────────────────────────
  /** Longest log line accepted, bytes (CloudFront lines with long cookies stay under 8 KiB). Above: ING_ERR_LINE_TOO_LONG for that line, the rest of the batch goes on. */
  ingestLineBytesMax: 32 * KiB,
  /** Lines per HTTP batch or shipped chunk. Above: 413 ING_ERR_BATCH_TOO_MANY_LINES for the whole batch (the client splits it). */
  ingestBatchLinesMax: 50_000,
  /** Records produced but not yet acked by Kafka, across all requests. Above: 503 + Retry-After (back-pressure, nothing taken). */
  ingestInFlightRecordsMax: 200_000,
  /** Records per Kafka produce request, so one request stays well under message.max.bytes. */
  ingestProduceChunkRecordsMax: 10_000,
  /** Bytes per Kafka produce request, so each partition's batch stays under the broker's 1 MiB message.max.bytes. */
  ingestProduceRequestBytesMax: 900 * KiB,
  /** After a failed produce, new batches are refused with 503 for this long, ms (fail fast instead of queueing into a dead broker). */
  ingestKafkaFailFastMs: 1_000,
  /** Per-line errors echoed in an HTTP answer (all of them are on the dead-letter topic). */
  ingestErrorsEchoedMax: 100,
  /** Account plans per POST /v1/accounts or import chunk. */
  ingestAccountsPerBatchMax: 10_000,
  /** ship: lines per batch it sends. */
  shipBatchLinesDefault: 5_000,
  /** ship: attempts per batch before it stops with ING_ERR_SHIP_GAVE_UP (checkpoint kept). */
  shipAttemptsMax: 10,
  /** ship: first back-off, ms; doubles up to shipBackoffMsMax. */
  shipBackoffMs: 200,
  shipBackoffMsMax: 10_000,
  /** ship --follow: how often a followed file is polled for growth, ms. */
  shipFollowPollMs: 500,

  // ── detector ─────────────────────────────────────────────────────────────────────────────────

  // ── enforcer ─────────────────────────────────────────────────────────────────────────────────
} as const;

export type Limits = typeof LIMITS;
