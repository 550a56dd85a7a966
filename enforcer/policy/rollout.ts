/**
 * Rollout by a stable hash of the account: each account has a fixed bucket in [0, 10000), and a
 * rollout of p % takes the buckets below p × 100. Growing p only adds buckets, so the accounts
 * already in stay in (5 % → 10 % keeps the first 5 %), and every enforcer instance agrees.
 */
import { createHash } from 'node:crypto';

/** Buckets per 100 %: a rollout step can be as fine as 0.01 %. */
export const ROLLOUT_BUCKETS = 10_000;

/** Salt so the buckets are not the same as any other hash of account ids in the system. */
const ROLLOUT_SALT = 'leechguard-rollout-v1';

/** The account's fixed bucket in [0, ROLLOUT_BUCKETS). */
export function rolloutBucket(accountKey: string): number {
  const digest = createHash('sha256').update(ROLLOUT_SALT).update('\u001f').update(accountKey).digest();
  return digest.readUInt32BE(0) % ROLLOUT_BUCKETS;
}

/** True when the account falls inside a rollout of `percent` (0–100). */
export function inRollout(accountKey: string, percent: number): boolean {
  if (percent >= 100) return true;
  if (percent <= 0) return false;
  return rolloutBucket(accountKey) < Math.round(percent * (ROLLOUT_BUCKETS / 100));
}
