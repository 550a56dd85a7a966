/**
 * Account plans: an in-memory view of the compacted topic leechguard.accounts.v1, consumed from the
 * beginning at every boot (keyed by account id; a tombstone deletes). Unknown accounts get their
 * tenant's default plan from config. `limitsFor` is pure.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { createConsumer } from '../../core/kafka.ts';
import { LIMITS } from '../../core/limits.ts';
import type { Logger } from '../../core/log.ts';
import type { AccountPlan } from '../../core/schemas/generated.ts';
import type { AvroSerde } from '../../core/serde.ts';
import { TOPICS } from '../../core/topics.ts';
import type { PlanLimits } from './config.ts';

/** Limits for one session, as scripts/session.lua ARGV[9] expects, plus the session's groups. */
export interface SessionLimits {
  /** Stream limit. */
  n: number;
  /** Per-title limit, 0 when none. */
  p: number;
  /** Limit by group id, for the groups this content belongs to. */
  g: Record<string, number>;
  /** Groups the content belongs to (stored on the session for later counts). */
  groups: string[];
}

/** Whether a content id matches a group pattern (`*` at the end matches by prefix). */
export function contentMatches(pattern: string, contentId: string): boolean {
  return pattern.endsWith('*') ? contentId.startsWith(pattern.slice(0, -1)) : pattern === contentId;
}

export function limitsFor(plan: PlanLimits, contentId: string): SessionLimits {
  const g: Record<string, number> = {};
  const groups: string[] = [];
  for (const group of plan.concurrencyGroups) {
    if (group.contentIdPatterns.some((p) => contentMatches(p, contentId))) {
      g[group.groupId] = group.limit;
      groups.push(group.groupId);
    }
  }
  // A plan from the topic is not bounded by our config schema: cap it so one account's script
  // loop (and hash) stays small whatever a subscriber backend publishes.
  return {
    n: Math.min(plan.streamLimit, LIMITS.sessionsPerAccountMax),
    p: plan.perTitleLimit ?? 0,
    g,
    groups,
  };
}

export class PlanView {
  private readonly plans = new Map<string, AccountPlan>();
  private readonly defaults: Readonly<Record<string, PlanLimits>>;

  constructor(defaults: Readonly<Record<string, PlanLimits>>) {
    if (!defaults.default) throw new Error('sessions.defaultPlans must name a `default` tenant plan');
    this.defaults = defaults;
  }

  apply(accountId: string, plan: AccountPlan | null): void {
    if (plan === null) this.plans.delete(accountId);
    else this.plans.set(accountId, plan);
  }

  /** The account's plan, or its tenant's default, or the `default` tenant's. */
  get(accountId: string, tenant = 'default'): { plan: PlanLimits; tenant: string } {
    const p = this.plans.get(accountId);
    if (p) return { plan: p, tenant: p.tenant };
    return { plan: this.defaults[tenant] ?? this.defaults.default!, tenant };
  }

  get size(): number {
    return this.plans.size;
  }
}

/**
 * Consumes leechguard.accounts.v1 from the beginning into `view` (a fresh consumer group each boot:
 * the view lives in memory, so it must be rebuilt). Resolves once the view has caught up with the
 * end offsets seen at start; keeps consuming after that.
 */
export async function consumePlans(
  kafka: Kafka,
  serde: AvroSerde,
  view: PlanView,
  logger: Logger,
): Promise<{ stop: () => Promise<void>; caughtUp: Promise<void> }> {
  const topic = TOPICS.accounts.name;
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const pending = new Map(ends.filter((o) => Number(o.high) > 0).map((o) => [o.partition, Number(o.high)]));
  let resolveCaughtUp!: () => void;
  const caughtUp = new Promise<void>((r) => (resolveCaughtUp = r));
  if (pending.size === 0) resolveCaughtUp();
  const consumer = createConsumer(kafka, { groupId: `leechguard-admission-plans-${randomUUID()}` });
  const caughtUpPartition = (partition: number) => {
    if (pending.delete(partition) && pending.size === 0) resolveCaughtUp();
  };
  // A batch that leaves no lag also counts: the last offsets of a compacted or transactional
  // partition need not be records this consumer sees.
  consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
    if (e.payload.topic === topic && Number(e.payload.offsetLag) <= 0) caughtUpPartition(e.payload.partition);
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      const accountId = message.key?.toString('utf8');
      if (accountId) {
        try {
          view.apply(accountId, message.value ? await serde.decode<AccountPlan>(topic, message.value) : null);
        } catch (err) {
          logger.warn(
            { err: (err as Error).message, partition, offset: message.offset },
            'bad account plan skipped',
          );
        }
      }
      const high = pending.get(partition);
      if (high !== undefined && Number(message.offset) + 1 >= high) caughtUpPartition(partition);
    },
  });
  return { stop: () => consumer.disconnect(), caughtUp };
}
