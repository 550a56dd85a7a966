import { hash } from 'node:crypto';

/** Length of deterministic ids, hex chars (128 bits: collisions are not a concern at any volume). */
const ID_HEX_CHARS = 32;

/**
 * Deterministic id from its parts: the same inputs give the same id in every process and after
 * every replay, so consumers can drop duplicates. Parts are joined with a unit separator.
 */
export function deterministicId(...parts: ReadonlyArray<string | number | null | undefined>): string {
  // One-shot crypto.hash: half the cost of createHash().update().digest() on a short input.
  // A loop, not map + join: this runs once per ingested line.
  let joined = '';
  for (let i = 0; i < parts.length; i++) {
    if (i > 0) joined += '\u001f';
    const p = parts[i];
    if (p !== null && p !== undefined) joined += typeof p === 'string' ? p : String(p);
  }
  return hash('sha256', joined, 'hex').slice(0, ID_HEX_CHARS);
}
