import { hash } from 'node:crypto';

/** Length of deterministic ids, hex chars (128 bits: collisions are not a concern at any volume). */
const ID_HEX_CHARS = 32;

/**
 * Deterministic id from its parts: the same inputs give the same id in every process and after
 * every replay, so consumers can drop duplicates. Parts are joined with a unit separator.
 */
export function deterministicId(...parts: ReadonlyArray<string | number | null | undefined>): string {
  // One-shot crypto.hash: half the cost of createHash().update().digest() on a short input.
  const joined = parts.map((p) => (p === null || p === undefined ? '' : String(p))).join('\u001f');
  return hash('sha256', joined, 'hex').slice(0, ID_HEX_CHARS);
}
