/**
 * Redis key scheme of session admission. Both keys of an account share the hash tag
 * `{<accountId>}`, so scripts/session.lua touches one cluster slot.
 *
 *   lg:sess:{<accountId>}:active   HASH sessionId -> JSON {s startedAtMs, l lastSeenMs, d deviceId,
 *                                   c contentId, g [groupId], t tokenHash}
 *   lg:sess:{<accountId>}:ended    HASH sessionId -> JSON {r reason, e endedAtMs}
 *
 * The state is disposable: losing it makes sessions re-register on their next heartbeat.
 */
export const SESSION_KEY_PREFIX = 'lg:sess:';

/** KEYS of scripts/session.lua for one account, in order. */
export function sessionKeys(accountId: string): [active: string, ended: string] {
  return [`${SESSION_KEY_PREFIX}{${accountId}}:active`, `${SESSION_KEY_PREFIX}{${accountId}}:ended`];
}
