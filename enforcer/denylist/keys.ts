/**
 * The Redis denylist key scheme, shared by the writer (enforcer) and every reader (decision API,
 * edge client, nginx / Lua edges reading Redis directly). README documents it; keep them equal.
 *
 *   lg:deny:token:{<tokenHash>}     HASH  one active revocation of a token (keyed hash, never raw)
 *   lg:deny:session:{<sessionId>}   HASH  one active eviction of a playback session
 *   lg:deny:account:{<accountId>}   HASH  one active block / throttle / substitute of an account
 *
 * Hash fields: action, reason, rule, revocationId, expiresAtMs, issuedAtMs, slate, throttleKbps.
 * TTL = expiresAtMs − now, so Redis forgets an entry the moment it stops applying.
 * The braces are a Redis Cluster hash tag: each script touches one key, so it runs on a cluster.
 *
 *   lg:deny:changes                 PUB/SUB channel; one JSON message per change:
 *                                   {"op":"set"|"del","kind","subject","entry"?}
 */
import type { Action, RevokedSubjectKind } from '../../core/schemas/generated.ts';

export const DENY_KEY_PREFIX = 'lg:deny:';
export const DENY_CHANGES_CHANNEL = 'lg:deny:changes';

export function denyKey(kind: RevokedSubjectKind, subject: string): string {
  return `${DENY_KEY_PREFIX}${kind}:{${subject}}`;
}

/** Inverse of denyKey; undefined for keys outside the scheme. */
export function parseDenyKey(key: string): { kind: RevokedSubjectKind; subject: string } | undefined {
  const m = /^lg:deny:(token|session|account):\{(.*)\}$/.exec(key);
  return m ? { kind: m[1] as RevokedSubjectKind, subject: m[2]! } : undefined;
}

/** What the edge needs to act, as stored in the hash. */
export interface DenyEntry {
  action: Action;
  reason: string;
  rule: string;
  revocationId: string;
  expiresAtMs: number;
  issuedAtMs: number;
  slate: string | null;
  throttleKbps: number | null;
}

export interface DenyChange {
  op: 'set' | 'del';
  kind: RevokedSubjectKind;
  subject: string;
  entry?: DenyEntry;
}

/** Flattens an entry into HSET field/value pairs (empty string for null). */
export function entryToFields(entry: DenyEntry): string[] {
  return [
    'action',
    entry.action,
    'reason',
    entry.reason,
    'rule',
    entry.rule,
    'revocationId',
    entry.revocationId,
    'expiresAtMs',
    String(entry.expiresAtMs),
    'issuedAtMs',
    String(entry.issuedAtMs),
    'slate',
    entry.slate ?? '',
    'throttleKbps',
    entry.throttleKbps === null ? '' : String(entry.throttleKbps),
  ];
}

/** Reads an HGETALL answer back; undefined when the hash is empty or incomplete. */
export function entryFromFields(fields: Record<string, string>): DenyEntry | undefined {
  if (!fields.action || !fields.revocationId || !fields.expiresAtMs) return undefined;
  return {
    action: fields.action as Action,
    reason: fields.reason ?? '',
    rule: fields.rule ?? '',
    revocationId: fields.revocationId,
    expiresAtMs: Number(fields.expiresAtMs),
    issuedAtMs: Number(fields.issuedAtMs ?? 0),
    slate: fields.slate ? fields.slate : null,
    throttleKbps: fields.throttleKbps ? Number(fields.throttleKbps) : null,
  };
}
