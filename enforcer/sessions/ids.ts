/**
 * Session ids the service makes: `<uuid>.<mac>`, where the mac binds the account and the start
 * time (a MAC under the token-hashing keys, derived for this purpose, 80 bits). A heartbeat that
 * re-registers a session after state loss keeps its claimed start only when the id vouches for
 * it: a forged id, or a start moved earlier, counts from now and so can never evict anyone.
 * 57 characters, within CMCD's 64 for the sid players carry the id as.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { TokenHasher } from '../../core/token-hash.ts';

const PURPOSE = 'session-id';
/** 80 bits: a forgery needs ~2^79 heartbeats, and the id stays within CMCD's 64 characters. */
const MAC_HEX_CHARS = 20;

/** JSON, not joined text: no account id or nonce can make another triple's input. */
function macInput(accountId: string, nonce: string, startedAtMs: number): string {
  return JSON.stringify([accountId, nonce, startedAtMs]);
}

/** A new session id for `accountId` starting at `startedAtMs`. */
export function makeSessionId(hasher: TokenHasher, accountId: string, startedAtMs: number): string {
  const nonce = randomUUID();
  const [mac] = hasher.macAll(PURPOSE, macInput(accountId, nonce, startedAtMs));
  return `${nonce}.${mac!.hash.slice(0, MAC_HEX_CHARS)}`;
}

/** Whether `sessionId` was made by makeSessionId (under any configured key) for this account and start. */
export function vouchesForStart(
  hasher: TokenHasher,
  sessionId: string,
  accountId: string,
  startedAtMs: number,
): boolean {
  const dot = sessionId.lastIndexOf('.');
  const given = sessionId.slice(dot + 1);
  if (dot <= 0 || given.length !== MAC_HEX_CHARS || !Number.isSafeInteger(startedAtMs)) return false;
  const presented = Buffer.from(given, 'latin1');
  for (const m of hasher.macAll(PURPOSE, macInput(accountId, sessionId.slice(0, dot), startedAtMs))) {
    if (timingSafeEqual(Buffer.from(m.hash.slice(0, MAC_HEX_CHARS), 'latin1'), presented)) return true;
  }
  return false;
}
