/**
 * The current policies: the configured ones, overlaid with every change made at runtime, in the
 * order of the one-partition leechguard.policy-changes.v1 topic (infinite retention). A change is
 * validated, written there (acks=all) with who / when / before / after, and only then applied,
 * so it survives restarts and a Redis wipe, and the topic is its audit trail.
 */
import type { Clock } from '../../core/clock.ts';
import { LeechguardError } from '../../core/errors.ts';
import { deterministicId } from '../../core/ids.ts';
import type { PolicyChange } from '../../core/schemas/generated.ts';
import { TOPICS } from '../../core/topics.ts';
import type { StateRecord, StateTable, StateWriter } from '../state/state-log.ts';
import {
  type AllowList,
  allowListSchema,
  type CompiledPolicies,
  compilePolicies,
  type Policies,
  type RulePolicy,
  rulePolicySchema,
} from './policy.ts';

/** What a change targets: one rule's policy, the default policy, or the allow-list. */
export type PolicyTarget = `rule:${string}` | 'default' | 'allow-list';

const RULE_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;

export function parseTarget(target: string): PolicyTarget {
  if (target === 'default' || target === 'allow-list') return target;
  if (target.startsWith('rule:') && RULE_NAME.test(target.slice(5))) return target as PolicyTarget;
  throw new LeechguardError('ENF_ERR_POLICY_INVALID', `unknown target ${target}`);
}

/** Validates a new value for a target; null removes a rule's own policy (it falls back to default). */
export function validateChange(target: PolicyTarget, after: unknown): RulePolicy | AllowList | null {
  if (after === null && target.startsWith('rule:')) return null;
  const schema = target === 'allow-list' ? allowListSchema : rulePolicySchema;
  const parsed = schema.safeParse(after);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new LeechguardError('ENF_ERR_POLICY_INVALID', problems.join('; '), { details: { problems } });
  }
  return parsed.data;
}

/** The target's current value in a set of policies (null: a rule without its own policy). */
export function currentValue(policies: Policies, target: PolicyTarget): RulePolicy | AllowList | null {
  if (target === 'default') return policies.defaultPolicy;
  if (target === 'allow-list') return policies.allowList;
  return policies.rules[target.slice(5)] ?? null;
}

/** Pure: the policies after one change. */
export function applyChange(
  policies: Policies,
  target: PolicyTarget,
  after: RulePolicy | AllowList | null,
): Policies {
  if (target === 'default') return { ...policies, defaultPolicy: after as RulePolicy };
  if (target === 'allow-list') return { ...policies, allowList: after as AllowList };
  const rules = { ...policies.rules };
  const rule = target.slice(5);
  if (after === null) delete rules[rule];
  else rules[rule] = after as RulePolicy;
  return { ...policies, rules };
}

export class PolicyStore implements StateTable<PolicyChange> {
  readonly topic = TOPICS.policyChanges.name;
  private current: Policies;
  private compiledCurrent: CompiledPolicies;
  private lastOffset = -1;
  private readonly changes: PolicyChange[] = [];
  private readonly writer: StateWriter;
  private readonly clock: Clock;

  constructor(configured: Policies, writer: StateWriter, clock: Clock) {
    this.current = configured;
    this.compiledCurrent = compilePolicies(configured);
    this.writer = writer;
    this.clock = clock;
  }

  apply(record: StateRecord<PolicyChange>): void {
    if (record.offset <= this.lastOffset || record.value === null) return;
    this.lastOffset = record.offset;
    const change = record.value;
    try {
      const target = parseTarget(change.target);
      const after = validateChange(target, JSON.parse(change.afterJson));
      this.current = applyChange(this.current, target, after);
      this.compiledCurrent = compilePolicies(this.current);
    } catch {
      // A change this version cannot read (written by a newer one) stays in the audit, not applied.
    }
    this.changes.push(change);
  }

  get policies(): Policies {
    return this.current;
  }

  get compiled(): CompiledPolicies {
    return this.compiledCurrent;
  }

  /** Audit trail, newest first. */
  history(limit: number, target?: string): PolicyChange[] {
    const out: PolicyChange[] = [];
    for (let i = this.changes.length - 1; i >= 0 && out.length < limit; i--) {
      const c = this.changes[i]!;
      if (!target || c.target === target) out.push(c);
    }
    return out;
  }

  /** Validates, writes the audited change durably, applies it; returns the change record. */
  async change(
    target: PolicyTarget,
    after: unknown,
    changedBy: string,
    comment: string | null,
  ): Promise<PolicyChange> {
    const valid = validateChange(target, after);
    const before = currentValue(this.current, target);
    const changedAtMs = this.clock.nowMs();
    const afterJson = JSON.stringify(valid);
    const record: PolicyChange = {
      id: deterministicId(target, changedAtMs, changedBy, afterJson),
      target,
      changedBy,
      changedAtMs,
      beforeJson: before === null ? null : JSON.stringify(before),
      afterJson,
      comment,
    };
    await this.writer.write([{ table: this, key: record.id, value: record }]);
    return record;
  }
}
