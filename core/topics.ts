/**
 * The Kafka topics of leechguard: names, value schema files and how each is created.
 * Subjects follow Confluent's TopicNameStrategy: `<topic>-value`.
 */

export interface TopicSpec {
  readonly name: string;
  /** File under schemas/ holding the value schema. */
  readonly schemaFile: string;
  /** Fully qualified Avro name of the value record. */
  readonly recordName: string;
  readonly partitions: number;
  /** Compacted topics keep the latest value per key (plans, revocations). */
  readonly compacted: boolean;
  /** Retention for non-compacted topics, ms. */
  readonly retentionMs: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export const TOPICS = {
  requests: {
    name: 'cdn.requests.v1',
    schemaFile: 'cdn-request.avsc',
    recordName: 'dev.leechguard.v1.CdnRequest',
    partitions: 6,
    compacted: false,
    retentionMs: 3 * DAY_MS, // long enough to rebuild the longest window after a weekend outage
  },
  heartbeats: {
    name: 'player.heartbeats.v1',
    schemaFile: 'player-heartbeat.avsc',
    recordName: 'dev.leechguard.v1.PlayerHeartbeat',
    partitions: 6,
    compacted: false,
    retentionMs: 3 * DAY_MS,
  },
  accounts: {
    name: 'leechguard.accounts.v1',
    schemaFile: 'account-plan.avsc',
    recordName: 'dev.leechguard.v1.AccountPlan',
    partitions: 6,
    compacted: true,
    retentionMs: -1,
  },
  deadLetters: {
    name: 'leechguard.deadletter.v1',
    schemaFile: 'dead-letter.avsc',
    recordName: 'dev.leechguard.v1.DeadLetter',
    partitions: 3,
    compacted: false,
    retentionMs: 14 * DAY_MS, // operators fix a parser config and replay within two weeks
  },
  anomalies: {
    name: 'leechguard.anomalies.v1',
    schemaFile: 'anomaly.avsc',
    recordName: 'dev.leechguard.v1.Anomaly',
    partitions: 6,
    compacted: false,
    retentionMs: 30 * DAY_MS, // analysts look back a month
  },
  reviews: {
    name: 'leechguard.reviews.v1',
    schemaFile: 'review-decision.avsc',
    recordName: 'dev.leechguard.v1.ReviewDecision',
    partitions: 3,
    compacted: false,
    retentionMs: 365 * DAY_MS, // audit trail
  },
  revocations: {
    name: 'leechguard.revocations.v1',
    schemaFile: 'revocation.avsc',
    recordName: 'dev.leechguard.v1.Revocation',
    partitions: 6,
    compacted: true,
    retentionMs: -1,
  },
  // ── enforcer ───────────────────────────────────────────────────────────────────────────────
  policyChanges: {
    name: 'leechguard.policy-changes.v1',
    schemaFile: 'policy-change.avsc',
    recordName: 'dev.leechguard.v1.PolicyChange',
    partitions: 1, // one partition: replaying it in order gives the current policies
    compacted: false,
    retentionMs: -1, // the audit trail of policy changes is kept forever (a few records a day)
  },
  reviewQueue: {
    name: 'leechguard.review-queue.v1',
    schemaFile: 'review-entry.avsc',
    recordName: 'dev.leechguard.v1.ReviewEntry',
    partitions: 3,
    compacted: true, // latest state per flag id: the queue survives restarts and Redis wipes
    retentionMs: -1,
  },
} as const satisfies Record<string, TopicSpec>;

export type TopicKey = keyof typeof TOPICS;

export const ALL_TOPICS: readonly TopicSpec[] = Object.values(TOPICS);

export function subjectOf(topic: string): string {
  return `${topic}-value`;
}
