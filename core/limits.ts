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

  // ── detector ─────────────────────────────────────────────────────────────────────────────────
  /** State keys one partition holds in memory. Above: new keys are refused and counted (overflow). */
  detectorStateKeysPerPartitionMax: 2_000_000,
  /** Entries one state value holds (distinct networks, sessions, devices). Above: refused, counted. */
  detectorEntriesPerKeyMax: 64,
  /** Dirty keys written in one RocksDB batch (with the offsets): a 1k batch costs ~1 ms of JS thread. */
  detectorFlushKeysMax: 20_000,
  /**
   * Time between two state flushes, ms: the replay after a crash is at most this much input; a
   * longer interval writes a hot key once instead of once a second (RocksDB batches run on the JS thread).
   */
  detectorFlushIntervalMs: 5_000,
  /** Records buffered per input topic-partition before that partition is paused (back-pressure). */
  detectorBufferedRecordsMax: 20_000,
  /** Versions one flag may reach: escalations past it are counted, not published. */
  detectorFlagVersionsMax: 32,
  /** Already-published flag ids kept per partition to drop replayed duplicates. Above: oldest dropped. */
  detectorSuppressIdsMax: 200_000,
  /** Flags produced to Kafka in one send. */
  detectorProduceBatchMax: 2_000,

  // ── enforcer ─────────────────────────────────────────────────────────────────────────────────
} as const;

export type Limits = typeof LIMITS;
