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
  /**
   * Request-body bytes being received at once by one process (Content-Length, or the body limit
   * when the length is not declared), counted from the moment a key is accepted. Above: 503 +
   * Retry-After before a byte of the body is read, so a flood of uploads cannot exhaust memory.
   */
  httpInFlightBytesMax: 64 * MiB,
  /** The same per bearer key: one client cannot take the whole process's allowance. Above: 503. */
  httpInFlightBytesPerKeyMax: 32 * MiB,
  /**
   * Shortest secret (bearer key, token-hashing key, SASL / registry password) a service boots
   * with, chars: 32 hex chars are 128 bits (`openssl rand -hex 32` gives 64). Below: the boot stops.
   */
  secretCharsMin: 32,
  /**
   * Gauges whose value needs a scan of a table (active revocations, pending reviews) are
   * recomputed at most this often, ms: scrapes cost one scan per interval, however many arrive.
   */
  metricsScanIntervalMs: 15_000,
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
  /**
   * Time a registry call may take, ms. Calls happen at boot (register) and on a writer id first
   * seen; Apicurio's kafkasql storage was seen taking over 5 s to answer a register right after a
   * heavy run on a 2-core machine.
   */
  registryRequestTimeoutMs: 15_000,
  /**
   * First wait before asking an unanswering registry again for a writer schema, ms; doubles up to
   * registryRetryBackoffMsMax. A consumer holds the record (never skips it) until the registry is back.
   */
  registryRetryBackoffMs: 200,
  registryRetryBackoffMsMax: 5_000,

  // ── ingest ───────────────────────────────────────────────────────────────────────────────────
  /** Longest log line accepted, bytes (CloudFront lines with long cookies stay under 8 KiB). Above: ING_ERR_LINE_TOO_LONG for that line, the rest of the batch goes on. */
  ingestLineBytesMax: 32 * KiB,
  /** Longest syslog header read before a JSON log record (`<134>2026-02-09T13:52:42Z host name[pid]: {…}`), chars: RFC 5424 headers with structured data stay well under it. A longer prefix is not taken for a header, and the line is dead-lettered as invalid JSON. */
  ingestSyslogHeaderCharsMax: 1_024,
  /**
   * Longest request path (before the query), chars: CDNs refuse URLs past 8 KiB, and the segment
   * and content patterns run on it. Above: the line is dead-lettered ING_ERR_FIELD_INVALID.
   */
  ingestPathCharsMax: 8 * KiB,
  /** Lines per HTTP batch or shipped chunk. Above: 413 ING_ERR_BATCH_TOO_MANY_LINES for the whole batch (the client splits it). */
  ingestBatchLinesMax: 50_000,
  /** Records produced but not yet acked by Kafka, across all requests. Above: 503 + Retry-After (back-pressure, nothing taken). */
  ingestInFlightRecordsMax: 200_000,
  /** Records per Kafka produce request, so one request stays well under message.max.bytes. */
  ingestProduceChunkRecordsMax: 10_000,
  /** Bytes per Kafka produce request, so each partition's batch stays under the broker's 1 MiB message.max.bytes. */
  ingestProduceRequestBytesMax: 900 * KiB,
  /** Batches waiting for or inside one ingest batch worker; beyond it a batch gets 503 (back-pressure, bounded memory). */
  ingestWorkerQueuedBatchesMax: 8,
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
  /**
   * State keys one partition holds in memory. At it, the coldest 1/64 (soonest-expiring values) are
   * shed and counted, so a flood of random tokens cannot stop new keys from being tracked.
   */
  detectorStateKeysPerPartitionMax: 2_000_000,
  /** Entries one state value holds (distinct networks, sessions, devices). Above: refused, counted. */
  detectorEntriesPerKeyMax: 64,
  /** Dirty keys written in one RocksDB batch (with the offsets): a 1k batch costs ~1 ms of JS thread. */
  detectorFlushKeysMax: 20_000,
  /**
   * Heartbeats from a player key stamped further ahead of their receipt than this come from a
   * device clock ahead (a beat cannot arrive before it was sent): the session's beats in the batch
   * are shifted back by it, ms (else the detector drops them as from the future).
   */
  ingestPlayerClockAheadMaxMs: 10_000,
  /** Clock skew tolerated for event times ahead of the detector's clock, ms (CDN clocks are NTP-synced; a minute is generous). */
  detectorMaxFutureSkewMs: 60_000,
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
  /** Longest revocation a policy may ask for, ms (30 days): a block outliving a billing cycle needs a human. */
  enforcerRevocationDurationMsMax: 30 * 24 * 60 * 60 * 1000,
  /** Shortest revocation, ms: below a minute the edge's caches would not even see it. */
  enforcerRevocationDurationMsMin: 60_000,
  /** Entries one API list call returns at most. Above: the `limit` query is refused (400). */
  enforcerApiListLimitMax: 1_000,
  /** Characters of an analyst's comment or a lift reason. Above: 400. */
  enforcerCommentCharsMax: 2_000,
  /** Accounts or networks in one allow-list. Above: the policy change is refused (400). */
  enforcerAllowListEntriesMax: 10_000,
  /** Would-have items listed per rule and day; past it they are still counted, not listed. */
  enforcerWouldHaveItemsPerRuleDayMax: 10_000,
  /** Days the would-have counts are kept in Redis (an operator compares a month of stages). */
  enforcerWouldHaveRetentionDays: 35,
  /** Time boot waits to read the state topics to their end before giving up (crash, restart), ms. */
  enforcerStateCatchUpTimeoutMs: 60_000,
  /** Longest time a fetch of the state topics waits for new records, ms: bounds read-your-writes lag. */
  enforcerStateFetchWaitMs: 50,
  /** How often the enforcer checks that Redis still holds its denylist (wipe detection), ms. */
  enforcerDenylistCheckIntervalMs: 5_000,
  /**
   * How long an expired or lifted revocation stays on the compacted topic before a tombstone
   * removes it, ms (7 days: support can still read why a viewer was blocked last week). Bounds the
   * topic and the enforcer's memory to about a week of revocations.
   */
  enforcerRevocationKeepAfterExpiryMs: 7 * 24 * 60 * 60 * 1000,
  /**
   * How long a decided review entry stays on the compacted review-queue topic, ms (35 days: past
   * the anomalies topic's 30-day retention, so a replayed flag can no longer find its entry gone
   * and open a new one). Then a tombstone removes it; pending entries stay until decided.
   */
  enforcerReviewKeepAfterDecisionMs: 35 * 24 * 60 * 60 * 1000,
  /** How often expired revocations (and old decided reviews) are swept into tombstones, ms. */
  enforcerRevocationSweepIntervalMs: 60 * 60 * 1000,
  /** Tombstones written per produce request by the sweep: bounds one request's size. */
  enforcerRevocationSweepBatchMax: 1_000,
  /** Bytes fetched per anomaly partition per batch: bounds one batch (~a few thousand flags). */
  enforcerAnomalyBatchBytesMax: 1 * MiB,
  // enforcer / analyst console
  /** Flags the enforcer's in-memory flag index holds (every mode). Above: the oldest are dropped. ~2 KiB each. */
  enforcerFlagIndexMax: 100_000,
  /** How long a flag stays in the flag index, ms (35 days: the would-have counts' span). */
  enforcerFlagIndexRetentionMs: 35 * 24 * 60 * 60 * 1000,
  /** Rows one CSV / NDJSON flag export returns at most: bounds one response's size (~20 MiB). */
  enforcerFlagExportRowsMax: 10_000,
  /** Days a policy preview may look back over the flag index (its retention). Above: 400. */
  enforcerPreviewDaysMax: 35,
  /** Review entries one bulk decision may name. Above: 400 (each decision is one Kafka write). */
  enforcerBulkDecisionsMax: 200,
  /** Notes kept on one review entry (oldest dropped past it): bounds the compacted record's size. */
  enforcerReviewNotesMax: 50,
  /** Lifetime of a console sign-in (session cookie), ms: a working day, then the key is asked again. */
  enforcerConsoleSessionTtlMs: 8 * 60 * 60 * 1000,
  /** Console sessions held at once. Above: the oldest is signed out (bounds memory against sign-in floods). */
  enforcerConsoleSessionsMax: 10_000,
  // enforcer / edge (decision API, edge client, session admission)
  /** Longest subject (token, hash, session id, account id) the decision API accepts, chars. Above: 400. */
  decisionSubjectCharsMax: 4_096,
  /**
   * Bytes the decision API's "not denied" cache may hold (its keys are caller-chosen subjects of up
   * to decisionSubjectCharsMax chars, so a count alone does not bound it). Above: oldest dropped.
   */
  edgeNegativeCacheBytesMax: 16 * MiB,
  /** Most sessions one account may hold at once whatever its plan says; bounds the Lua loop. */
  sessionsPerAccountMax: 64,
  /**
   * Ended-session reasons one account keeps (they answer late heartbeats with why the session
   * ended); every start reads them whole. 8x the most sessions an account may hold. Above: a
   * refused unknown id is not remembered, a real session's end replaces a random entry.
   */
  sessionEndedPerAccountMax: 512,
  /** Longest account / device / content / session id accepted by session admission, chars. Above: 400. */
  sessionIdCharsMax: 256,
  /** Heartbeat records buffered for Kafka before new ones are dropped (counted + logged). */
  admissionHeartbeatQueueMax: 50_000,
  /** Records per Kafka send from session admission; bigger batches amortise acks=all. */
  admissionHeartbeatBatchMax: 1_000,
  /**
   * Wait before sending a partial batch of admission records, ms: one acks=all request per linger
   * instead of one per broker round trip. The broker's CPU is mostly per request: measured with
   * bench/edge.ts at ~14k ops/s, 8–13 µs per admission op at 20 ms, 3 µs at 50 ms (and at 100).
   * The detector reads these records in windows of seconds, so 50 ms of delay costs it little.
   */
  admissionHeartbeatLingerMs: 50,
} as const;

export type Limits = typeof LIMITS;
