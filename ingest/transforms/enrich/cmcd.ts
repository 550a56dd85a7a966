/**
 * Format: Common Media Client Data, CTA-5004 and its v2 (CTA-5004-B). Keys from a `CMCD=` query
 * value (comma-separated, strings quoted, booleans as bare keys, v2 inner lists such as
 * `br=(3000;v 256;a)` read as their first item), from `CMCD-Object / -Request / -Session / -Status`
 * headers (same syntax), or from a JSON object. Unknown keys are ignored; values of the wrong type
 * are dropped (CMCD is advisory data from the player: never a reason to reject a line).
 */
import type { Cmcd } from '../../../core/schemas/generated.ts';

/** Longest CMCD string value kept, chars (the spec caps cid / sid at 64). */
const CMCD_STRING_CHARS_MAX = 256;

export const CMCD_HEADERS = ['cmcd-object', 'cmcd-request', 'cmcd-session', 'cmcd-status'] as const;

export function emptyCmcd(): Cmcd {
  return {
    br: null,
    bl: null,
    bs: null,
    cid: null,
    d: null,
    dl: null,
    mtp: null,
    nor: null,
    nrr: null,
    ot: null,
    pr: null,
    rtp: null,
    sf: null,
    sid: null,
    st: null,
    su: null,
    tb: null,
    v: null,
  };
}

/** How a CMCD key's value is read: 1 integer, 2 decimal, 3 boolean, 4 string; 0 unknown (ignored). */
function keyKind(key: string): number {
  // A switch on the key, not Set lookups: this runs for every CMCD field of every log line.
  switch (key) {
    case 'br':
    case 'bl':
    case 'd':
    case 'dl':
    case 'mtp':
    case 'rtp':
    case 'tb':
    case 'v':
      return 1;
    case 'pr':
      return 2;
    case 'bs':
    case 'su':
      return 3;
    case 'cid':
    case 'nor':
    case 'nrr':
    case 'ot':
    case 'sf':
    case 'sid':
    case 'st':
      return 4;
    default:
      return 0;
  }
}

/**
 * The first item of a CMCD v2 inner list (`(3000;v 256;a)` -> `3000`, `("seg-2.m4v" "seg-3.m4v")`
 * -> `seg-2.m4v`; parameters after `;` dropped), or the value itself. JSON reports may carry a list
 * as an array, its items bare or `{value, params}`.
 */
function firstItem(value: unknown): unknown {
  if (typeof value !== 'string') {
    if (!Array.isArray(value)) return value;
    const v = value[0];
    return typeof v === 'object' && v !== null && 'value' in v ? (v as { value: unknown }).value : v;
  }
  // Most values are plain tokens: one char test and out.
  if (value.charCodeAt(0) !== 40 /* ( */) return value;
  let i = 1;
  while (value[i] === ' ') i++;
  if (value[i] === '"') {
    const end = value.indexOf('"', i + 1);
    return end === -1 ? value.slice(i + 1) : value.slice(i + 1, end);
  }
  let j = i;
  while (j < value.length && value[j] !== ';' && value[j] !== ' ' && value[j] !== ')') j++;
  return value.slice(i, j);
}

/**
 * Sets one key from text or a JSON value; returns whether anything was set. A quoted text value is
 * a string whatever it starts with (`sid="(x"` is not an inner list).
 */
function setKey(out: Cmcd, key: string, raw: unknown, quoted = false): boolean {
  const kind = keyKind(key);
  if (kind === 0) return false;
  const value = quoted ? raw : firstItem(raw);
  const target = out as unknown as Record<string, unknown>;
  if (kind === 1 || kind === 2) {
    const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
    if (kind === 1 ? !Number.isInteger(n) || Math.abs(n) > 2_147_483_647 : !Number.isFinite(n)) return false;
    target[key] = n;
    return true;
  }
  if (kind === 3) {
    const b = value === true || value === 'true' ? true : value === false || value === 'false' ? false : null;
    if (b === null) return false;
    target[key] = b;
    return true;
  }
  if (typeof value !== 'string' || value.length === 0) return false;
  target[key] = value.slice(0, CMCD_STRING_CHARS_MAX);
  return true;
}

/**
 * Walks CMCD text (`br=3200,bs,cid="abc",bl=(2000;v 800;a)`): `fn(key, value)` per pair, value
 * `true` for a bare key, the unquoted text of a quoted string, else the raw token (inner lists
 * included, parentheses and all).
 */
function eachPair(text: string, fn: (key: string, value: string | true, quoted: boolean) => void): void {
  let i = 0;
  const n = text.length;
  while (i < n) {
    let j = i;
    while (j < n && text[j] !== '=' && text[j] !== ',') j++;
    const key = text.slice(i, j).trim();
    if (j >= n || text[j] === ',') {
      if (key) fn(key, true, false);
      i = j + 1;
      continue;
    }
    j++; // skip '='
    if (text[j] === '"') {
      let k = j + 1;
      let v = '';
      while (k < n && text[k] !== '"') {
        if (text[k] === '\\' && k + 1 < n) k++;
        v += text[k];
        k++;
      }
      j = k + 1;
      while (j < n && text[j] !== ',') j++;
      fn(key, v, true);
    } else {
      let k = j;
      while (k < n && text[k] !== ',') k++;
      fn(key, text.slice(j, k).trim(), false);
      j = k;
    }
    i = j + 1;
  }
}

/** Parses CMCD text (`br=3200,bs,cid="abc",sid="6e2f..."`, v1 or v2) into `out`. Returns keys set. */
export function parseCmcdText(text: string, out: Cmcd): number {
  let set = 0;
  // Unquoted tokens (ot=v, sf=h, st=l) are strings; numbers go to numeric keys.
  eachPair(text, (key, value, quoted) => {
    if (setKey(out, key, value, quoted)) set++;
  });
  return set;
}

/**
 * Every pair of a CMCD text line as a plain object (a CMCD v2 event-mode report: `e=t,ts=…,sid="…"`):
 * numbers as numbers, bare keys as true, strings as text, an inner list as its first item.
 */
export function cmcdPairs(text: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  eachPair(text, (key, value, quoted) => {
    if (value === true) {
      out[key] = true;
      return;
    }
    if (quoted) {
      out[key] = value;
      return;
    }
    const item = firstItem(value);
    const n = typeof item === 'string' && /^-?\d+(?:\.\d+)?$/.test(item) ? Number(item) : Number.NaN;
    out[key] = Number.isFinite(n) ? n : item;
  });
  return out;
}

/** CMCD from a JSON object (keys as in the spec). */
export function parseCmcdObject(obj: Record<string, unknown>, out: Cmcd): number {
  let set = 0;
  for (const [k, v] of Object.entries(obj)) if (setKey(out, k, v)) set++;
  return set;
}

/** The raw `CMCD=` (or `cmcd=`) value of a query string, URL-decoded, or null. */
export function cmcdFromQuery(query: string | null): string | null {
  if (!query) return null;
  const at = query.search(/(?:^|&)cmcd=/i);
  if (at === -1) return null;
  const start = query.indexOf('=', at) + 1;
  const end = query.indexOf('&', start);
  const raw = query.slice(start, end === -1 ? undefined : end);
  try {
    return decodeURIComponent(raw.replace(/\+/g, '%20'));
  } catch {
    return raw;
  }
}

function hasCmcdHeader(headers: Readonly<Record<string, string>>): boolean {
  for (const h of CMCD_HEADERS) if (headers[h] !== undefined) return true;
  return false;
}

/**
 * Every CMCD key a request carries: query, headers, then separate log fields (later wins).
 * Returns null when none.
 */
export function collectCmcd(
  query: string | null,
  headers: Readonly<Record<string, string>>,
  fields: readonly string[] | null,
  json: unknown = null,
): Cmcd | null {
  // Fast path: most log lines carry no CMCD at all.
  const hasFields = fields !== null && fields.length > 0;
  if (json === null && !hasFields && (query === null || !/cmcd=/i.test(query)) && !hasCmcdHeader(headers))
    return null;
  const out = emptyCmcd();
  let set = 0;
  const q = cmcdFromQuery(query);
  if (q !== null) set += parseCmcdText(q, out);
  for (const h of CMCD_HEADERS) {
    const v = headers[h];
    if (v) set += parseCmcdText(v, out);
  }
  if (fields)
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const k = fields[i]!;
      const v = fields[i + 1]!;
      if (v !== '' && setKey(out, k, k === 'bs' || k === 'su' ? v === 'true' || v === '1' : v)) set++;
    }
  if (typeof json === 'string') set += parseCmcdText(json, out);
  else if (typeof json === 'object' && json !== null && !Array.isArray(json))
    set += parseCmcdObject(json as Record<string, unknown>, out);
  return set > 0 ? out : null;
}
