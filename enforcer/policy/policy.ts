/**
 * Enforcement policy per rule, and the pure decision it makes for a flag:
 *   monitor  – record what would be done ("would have"), change nothing;
 *   moderate – put the flag in the review queue for an analyst;
 *   automate – revoke at once, for the accounts inside the rollout percentage.
 * Allow-listed accounts and networks are never enforced, whatever the mode.
 * No I/O and no wall clock here: the caller passes `nowMs`.
 */
import { BlockList, isIP } from 'node:net';
import { z } from 'zod';
import { deterministicId } from '../../core/ids.ts';
import { LIMITS } from '../../core/limits.ts';
import {
  type Action,
  ActionValues,
  type Anomaly,
  type Revocation,
  type RevokedSubjectKind,
} from '../../core/schemas/generated.ts';
import { inRollout } from './rollout.ts';

export const MODES = ['monitor', 'moderate', 'automate'] as const;
export type Mode = (typeof MODES)[number];

const HOUR_MS = 60 * 60 * 1000;

/** A CIDR (`203.0.113.0/24`, `2001:db8::/48`) or a single address. */
const cidrSchema = z.string().refine((s) => parseCidr(s) !== undefined, 'not an IP network (a.b.c.d/len)');

export const rulePolicySchema = z
  .object({
    mode: z.enum(MODES).default('monitor'),
    /** Share of accounts enforced in automate mode, percent (0–100), by a stable hash of the account. */
    rolloutPercent: z.number().min(0).max(100).default(100),
    action: z.enum(ActionValues).default('block_token'),
    /** How long a revocation lasts when the token's own expiry is unknown (or later), ms. */
    durationMs: z
      .number()
      .int()
      .min(LIMITS.enforcerRevocationDurationMsMin)
      .max(LIMITS.enforcerRevocationDurationMsMax)
      .default(HOUR_MS),
    /** Named slate served instead of the content (action substitute). */
    slate: z.string().min(1).max(200).optional(),
    /** Bitrate cap, kbps (action throttle). */
    throttleKbps: z.number().int().min(1).max(1_000_000).optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.action === 'substitute' && !p.slate) {
      ctx.addIssue({ code: 'custom', path: ['slate'], message: 'action substitute needs a slate' });
    }
    if (p.action === 'throttle' && p.throttleKbps === undefined) {
      ctx.addIssue({ code: 'custom', path: ['throttleKbps'], message: 'action throttle needs throttleKbps' });
    }
  });
export type RulePolicy = z.infer<typeof rulePolicySchema>;

export const allowListSchema = z
  .object({
    accounts: z.array(z.string().min(1)).max(LIMITS.enforcerAllowListEntriesMax).default([]),
    networks: z.array(cidrSchema).max(LIMITS.enforcerAllowListEntriesMax).default([]),
  })
  .strict();
export type AllowList = z.infer<typeof allowListSchema>;

export const policiesSchema = z
  .object({
    /** Policy of every rule without one of its own: monitor, the safe first stage. */
    defaultPolicy: rulePolicySchema.prefault({}),
    rules: z.record(z.string().min(1), rulePolicySchema).default({}),
    allowList: allowListSchema.prefault({}),
  })
  .strict();
export type Policies = z.infer<typeof policiesSchema>;

/** Parses `a.b.c.d/len`, `v6::/len` or a bare address; undefined when it is not one. */
export function parseCidr(
  s: string,
): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [address = '', prefixText] = s.split('/');
  const version = isIP(address);
  if (version === 0) return undefined;
  const family = version === 4 ? 'ipv4' : 'ipv6';
  const maxPrefix = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? maxPrefix : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > maxPrefix) return undefined;
  return { address, prefix, family };
}

/** Policies with the allow-list compiled for fast checks. Build one per policy change. */
export interface CompiledPolicies {
  readonly policies: Policies;
  readonly allowedAccounts: ReadonlySet<string>;
  readonly allowedNetworks: BlockList;
}

export function compilePolicies(policies: Policies): CompiledPolicies {
  const allowedNetworks = new BlockList();
  for (const cidr of policies.allowList.networks) {
    const parsed = parseCidr(cidr)!;
    allowedNetworks.addSubnet(parsed.address, parsed.prefix, parsed.family);
  }
  return { policies, allowedAccounts: new Set(policies.allowList.accounts), allowedNetworks };
}

export function policyFor(compiled: CompiledPolicies, rule: string): RulePolicy {
  return compiled.policies.rules[rule] ?? compiled.policies.defaultPolicy;
}

/** The networks a flag names: its evidence networks and each session's network. */
export function flagNetworks(anomaly: Anomaly): string[] {
  const out = anomaly.evidence.networks.map((n) => n.value);
  for (const s of anomaly.evidence.sessions) if (s.networkPrefix) out.push(s.networkPrefix);
  return out;
}

function networkAllowed(allowed: BlockList, network: string): boolean {
  const parsed = parseCidr(network);
  return parsed !== undefined && allowed.check(parsed.address, parsed.family);
}

/** The account the rollout hashes: the flag's account, else its subject. */
export function rolloutKey(anomaly: Anomaly): string {
  return anomaly.accountId ?? anomaly.subjectKey;
}

export type Outcome =
  | { kind: 'allow-listed'; reason: 'account' | 'network'; policy: RulePolicy }
  | { kind: 'would-have'; reason: 'monitor' | 'outside-rollout'; policy: RulePolicy }
  | { kind: 'review'; policy: RulePolicy }
  | { kind: 'revoke'; policy: RulePolicy };

/** What the policy of the flag's rule does with it. Allow-lists win over every mode. */
export function decide(compiled: CompiledPolicies, anomaly: Anomaly): Outcome {
  const policy = policyFor(compiled, anomaly.rule);
  if (anomaly.accountId && compiled.allowedAccounts.has(anomaly.accountId)) {
    return { kind: 'allow-listed', reason: 'account', policy };
  }
  if (anomaly.subjectKind === 'account' && compiled.allowedAccounts.has(anomaly.subjectKey)) {
    return { kind: 'allow-listed', reason: 'account', policy };
  }
  // Any allow-listed network in the evidence exempts the flag: an office or partner network is
  // never enforced on, even when other networks share the token.
  if (flagNetworks(anomaly).some((n) => networkAllowed(compiled.allowedNetworks, n))) {
    return { kind: 'allow-listed', reason: 'network', policy };
  }
  switch (policy.mode) {
    case 'monitor':
      return { kind: 'would-have', reason: 'monitor', policy };
    case 'moderate':
      return { kind: 'review', policy };
    case 'automate':
      return inRollout(rolloutKey(anomaly), policy.rolloutPercent)
        ? { kind: 'revoke', policy }
        : { kind: 'would-have', reason: 'outside-rollout', policy };
  }
}

/** The subject an action applies to, from the flag; undefined when the flag does not name it. */
export function subjectFor(
  action: Action,
  anomaly: Anomaly,
): { kind: RevokedSubjectKind; key: string } | undefined {
  switch (action) {
    case 'block_token': {
      const key = anomaly.tokenHash ?? (anomaly.subjectKind === 'token' ? anomaly.subjectKey : null);
      return key ? { kind: 'token', key } : undefined;
    }
    case 'evict_session': {
      // The newest session, as the flag names it: the earliest keep playing.
      const key = anomaly.evictSessionId ?? (anomaly.subjectKind === 'session' ? anomaly.subjectKey : null);
      return key ? { kind: 'session', key } : undefined;
    }
    case 'block_account':
    case 'throttle':
    case 'substitute': {
      const key = anomaly.accountId ?? (anomaly.subjectKind === 'account' ? anomaly.subjectKey : null);
      return key ? { kind: 'account', key } : undefined;
    }
  }
}

/**
 * Expiry of a revocation: the policy's duration from now, but never past the token's own expiry
 * for a token block (a dead token needs no denylist entry).
 */
export function expiryFor(action: Action, policy: RulePolicy, anomaly: Anomaly, nowMs: number): number {
  const byPolicy = nowMs + policy.durationMs;
  if (action === 'block_token' && anomaly.tokenExpiresAtMs !== null) {
    return Math.min(anomaly.tokenExpiresAtMs, byPolicy);
  }
  return byPolicy;
}

/** Deterministic revocation id: the same flag and action give the same id after any replay. */
export function revocationId(
  action: Action,
  kind: RevokedSubjectKind,
  key: string,
  anomalyId: string,
): string {
  return deterministicId(action, kind, key, anomalyId);
}

function reasonText(anomaly: Anomaly): string {
  const base = `${anomaly.rule}: observed ${anomaly.observed} > threshold ${anomaly.threshold}`;
  return anomaly.evidence.note ? `${base} (${anomaly.evidence.note})` : base;
}

/**
 * The revocation a policy issues for a flag; undefined when the flag does not name the subject
 * the action needs, or when it would already have expired.
 */
export function buildRevocation(
  policy: RulePolicy,
  anomaly: Anomaly,
  nowMs: number,
  issuedBy: string,
): Revocation | undefined {
  const subject = subjectFor(policy.action, anomaly);
  if (!subject) return undefined;
  const expiresAtMs = expiryFor(policy.action, policy, anomaly, nowMs);
  if (expiresAtMs <= nowMs) return undefined;
  return {
    id: revocationId(policy.action, subject.kind, subject.key, anomaly.id),
    action: policy.action,
    subjectKind: subject.kind,
    subjectKey: subject.key,
    tenant: anomaly.tenant,
    accountId: anomaly.accountId,
    rule: anomaly.rule,
    anomalyId: anomaly.id,
    reason: reasonText(anomaly),
    issuedBy,
    issuedAtMs: nowMs,
    expiresAtMs,
    state: 'active',
    liftedAtMs: null,
    liftedBy: null,
    liftReason: null,
    slate: policy.action === 'substitute' ? (policy.slate ?? null) : null,
    throttleKbps: policy.action === 'throttle' ? (policy.throttleKbps ?? null) : null,
  };
}

/** Where a revocation stands at `nowMs`: an active one past its expiry is expired. */
export function revocationStatus(r: Revocation, nowMs: number): 'active' | 'lifted' | 'expired' {
  if (r.state === 'lifted') return 'lifted';
  return r.expiresAtMs <= nowMs ? 'expired' : 'active';
}
