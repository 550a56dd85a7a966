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

  // ── enforcer ─────────────────────────────────────────────────────────────────────────────────
  // enforcer / edge (decision API, edge client, session admission)
  /** Longest subject (token, hash, session id, account id) the decision API accepts, chars. Above: 400. */
  decisionSubjectCharsMax: 4_096,
  /** Most sessions one account may hold at once whatever its plan says; bounds the Lua loop. */
  sessionsPerAccountMax: 64,
  /** Longest account / device / content / session id accepted by session admission, chars. Above: 400. */
  sessionIdCharsMax: 256,
  /** Heartbeat records buffered for Kafka before new ones are dropped (counted + logged). */
  admissionHeartbeatQueueMax: 50_000,
  /** Records per Kafka send from session admission; bigger batches amortise acks=all. */
  admissionHeartbeatBatchMax: 1_000,
} as const;

export type Limits = typeof LIMITS;
