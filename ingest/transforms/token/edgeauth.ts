/**
 * Format: Akamai EdgeAuth (Token Auth 2.0) tokens, `hdnts` / `__token__`:
 * `st=<start>~exp=<epoch s>~acl=<path>~id=<session id>~data=<payload>~hmac=<hex>` (fields in any
 * order, `~` separated; `!` may separate ACL alternatives). The hmac is not checked here: the edge
 * already did, and leechguard holds no EdgeAuth key.
 */
export interface EdgeAuthClaims {
  expiresAtMs: number | null;
  id: string | null;
  acl: string | null;
  data: string | null;
}

export function parseEdgeAuth(token: string): EdgeAuthClaims | null {
  if (token.indexOf('=') === -1) return null;
  const out: EdgeAuthClaims = { expiresAtMs: null, id: null, acl: null, data: null };
  let seen = false;
  for (const part of token.split('~')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const k = part.slice(0, eq);
    const v = part.slice(eq + 1);
    if (k === 'exp' && /^\d{1,12}$/.test(v)) out.expiresAtMs = Number(v) * 1000;
    else if (k === 'id') out.id = v || null;
    else if (k === 'acl') out.acl = v || null;
    else if (k === 'data') out.data = v || null;
    else if (k !== 'hmac' && k !== 'st' && k !== 'ip' && k !== 'url') continue;
    seen = true;
  }
  return seen ? out : null;
}
