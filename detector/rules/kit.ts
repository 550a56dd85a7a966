/**
 * The rule kit: the contract every rule implements and the small pure helpers they share.
 * A rule is `(state view, event, nowMs) -> state changes + flags`: it reads state through a
 * view, writes its changes and flags into an output it is handed, and never reads the clock.
 */
import type { z } from 'zod';
import type {
  AccountPlan,
  CdnRequest,
  Evidence,
  EvidenceItem,
  PlayerHeartbeat,
  SubjectKind,
} from '../../core/schemas/generated.ts';

/** One input event for the rules: a CDN request or a player heartbeat. */
export type DetectorEvent =
  | { readonly kind: 'request'; readonly value: CdnRequest }
  | { readonly kind: 'heartbeat'; readonly value: PlayerHeartbeat };

/** Every state value carries its own expiry (event time, epoch ms): the store sweeps it after. */
export interface StateValue {
  /** Expires at (event time, epoch ms); 0 never expires. */
  x: number;
}

/**
 * Read access to one partition's state: values by namespace (a rule's constant name) and key
 * (the raw subject: token hash, account id...). Two levels, so a lookup hashes strings the event
 * already carries instead of building a composite key per rule.
 */
export interface StateView {
  get<T extends StateValue>(ns: string, key: string): T | undefined;
}

/** A flag as a rule raises it; the engine adds id, version and severity. */
export interface FlagDraft {
  rule: string;
  subjectKind: SubjectKind;
  subjectKey: string;
  tenant: string;
  accountId: string | null;
  tokenHash: string | null;
  tokenExpiresAtMs: number | null;
  evictSessionId: string | null;
  threshold: number;
  observed: number;
  windowStartMs: number;
  windowEndMs: number;
  detectedAtMs: number;
  triggerEventId: string;
  /** The evidence, or a function building it: called only when the flag is published. */
  evidence: Evidence | (() => Evidence);
  /** Key the flag id is derived from when it differs from subjectKey (one flag per window). */
  idKey?: string;
  /**
   * When the flag is re-published with version+1: on any rise of `observed` (distinct counts,
   * sessions: bounded by the entries per key) or only when the severity rises (counters).
   */
  escalateOn?: 'increase' | 'severity';
}

/** What a rule returns: the state changes to apply (undefined deletes) and the flags raised. */
export interface RuleOutput {
  changes: Array<{ ns: string; key: string; value: StateValue | undefined }>;
  flags: FlagDraft[];
  /** Entries a bounded map refused (entries per key at their limit): counted, never a crash. */
  overflow: number;
  /** Events the rule could not judge for want of a signal (heartbeats behind): counted. */
  silenced: number;
}

/** Context the engine hands every rule call. */
export interface RuleContext {
  /** The partition's watermark (max event time seen), epoch ms: the rules' notion of now. */
  readonly nowMs: number;
  /**
   * The tenant's heartbeat watermark in this partition (latest heartbeat event time), epoch ms:
   * sessions live in heartbeat time, so heartbeats delivered minutes behind the CDN logs do not
   * make every session look like a ghost. nowMs when the tenant sends no heartbeats.
   */
  readonly heartbeatNowMs: number;
  /** The account's plan (from the accounts topic, else the tenant's default plan). */
  readonly plan: AccountPlan;
  /** Largest number of entries one state value may hold (distinct networks, sessions, ...). */
  readonly entriesPerKeyMax: number;
  /**
   * False when this subject's flag for the window is already published at this level (no
   * escalation): the rule then skips building the draft. Keyed like the flag id (idKey ?? subjectKey).
   */
  readonly wouldFlag: (
    rule: string,
    kind: SubjectKind,
    key: string,
    windowStartMs: number,
    observed: number,
    threshold: number,
    escalateOn: 'increase' | 'severity',
  ) => boolean;
}

/**
 * What a rule needs of a tenant's inputs before it judges (see rules/signals): `heartbeats`, or
 * `no-heartbeats` for a rule that stands in for heartbeat rules where heartbeats are missing
 * (where they flow, the rules that read them judge the same abuse exactly).
 */
export type RequiredSignal = 'heartbeats' | 'no-heartbeats';

/** A detector rule. `C` is its config after defaults and tenant / plan overrides. */
export interface Rule<C extends { enabled: boolean }> {
  readonly name: string;
  /**
   * Signals the rule needs: on a CDN request of a tenant without them (none seen within the
   * signals rule's window), the engine does not call the rule and counts the request as silenced.
   * A `no-heartbeats` rule is not called for a tenant whose heartbeats flow (not counted).
   */
  readonly requires?: readonly RequiredSignal[];
  readonly configSchema: z.ZodType<C>;
  /** How far back (event time) the rule's state reaches: recovery re-reads at least this much. */
  horizonMs(config: C): number;
  apply(view: StateView, event: DetectorEvent, config: C, ctx: RuleContext, out: RuleOutput): void;
}

// ── distinct-value lists ───────────────────────────────────────────────────────────────────────
// A short array searched linearly: the lists are small (bounded by entriesPerKeyMax, usually 1–5).
// Entries are objects, not tuples: V8 keeps their epoch-ms fields as in-place doubles, where a
// mixed tuple would allocate a new heap number on every update.

/** One distinct value: v value, n count, f first seen (epoch ms), l last seen (epoch ms). */
export interface Seen {
  v: string;
  n: number;
  f: number;
  l: number;
}
export type SeenMap = Seen[];

/**
 * Records `value` seen at `atMs` in `list` (updated in place; a new list when undefined), after
 * removing entries last seen before `cutoffMs`; a new value seen before `cutoffMs` (a late event)
 * is not added. Returns undefined when a new value would exceed
 * `entriesMax` (the list is then only pruned). Values belong to the store: a rule that updates one
 * must list it in its changes, which marks it for the next flush.
 */
export function seenTouch(
  list: SeenMap | undefined,
  value: string,
  atMs: number,
  cutoffMs: number,
  entriesMax: number,
): SeenMap | undefined {
  const out: SeenMap = list ?? [];
  const count = out.length;
  let w = 0;
  let found: Seen | undefined;
  for (let r = 0; r < count; r++) {
    const e = out[r]!;
    if (e.l < cutoffMs) continue;
    if (w !== r) out[w] = e;
    w++;
    if (e.v === value) found = e;
  }
  // Truncating only when something expired: setting length is not free.
  if (w < count) out.length = w;
  if (found) {
    found.n++;
    if (atMs < found.f) found.f = atMs;
    if (atMs > found.l) found.l = atMs;
    return out;
  }
  // A late event from before the window adds no value to it: the window it belongs to is over.
  if (atMs < cutoffMs) return out;
  if (w >= entriesMax) return undefined;
  out.push({ v: value, n: 1, f: atMs, l: atMs });
  return out;
}

export function seenSize(list: SeenMap | undefined): number {
  return list ? list.length : 0;
}

export function seenCount(list: SeenMap | undefined): number {
  let n = 0;
  if (list) for (const e of list) n += e.n;
  return n;
}

/** Evidence items, ordered by first seen then value (deterministic). */
export function seenEvidence(list: SeenMap | undefined): EvidenceItem[] {
  if (!list) return [];
  return list
    .map((e) => ({ value: e.v, count: e.n, firstSeenMs: e.f, lastSeenMs: e.l }))
    .sort((a, b) => a.firstSeenMs - b.firstSeenMs || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
}

/** An empty evidence record to fill in. */
export function emptyEvidence(): Evidence {
  return {
    eventCount: 0,
    networks: [],
    countries: [],
    asns: [],
    devices: [],
    sessions: [],
    travel: null,
    note: null,
    signals: [],
    ruledOut: [],
  };
}

/**
 * A 30-bit FNV-1a fingerprint of an event id: what a rule keeps to recognise a redelivered event.
 * A small integer (no heap number, compact JSON); a collision makes one event count as seen.
 */
export function idFingerprint(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return (h >>> 1) & 0x3fffffff;
}

/**
 * Remembers an event id among the latest `max` (oldest forgotten first) in `list`, updated in
 * place; false when it was there already: the same line delivered again (a batch re-sent after
 * a lost answer).
 */
export function firstDelivery(list: number[], id: string, max: number): boolean {
  const fp = idFingerprint(id);
  if (list.includes(fp)) return false;
  list.push(fp);
  if (list.length > max) list.shift();
  return true;
}

/** Start of the tumbling window holding `atMs` (flag ids are per subject and window). */
export function windowStart(atMs: number, windowSizeMs: number): number {
  return Math.floor(atMs / windowSizeMs) * windowSizeMs;
}

/** Great-circle distance, km (haversine on a 6371 km sphere). */
export function distanceKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** The common fields of an event the rules read. */
export function common(event: DetectorEvent): {
  id: string;
  tenant: string;
  atMs: number;
  accountId: string | null;
  tokenHash: string | null;
  tokenExpiresAtMs: number | null;
  networkPrefix: string | null;
  country: string | null;
  asn: number | null;
  deviceId: string | null;
  sessionId: string | null;
  contentId: string | null;
} {
  const v = event.value;
  return {
    id: v.id,
    tenant: v.tenant,
    atMs: v.timestampMs,
    accountId: v.accountId,
    tokenHash: v.tokenHash,
    tokenExpiresAtMs: v.tokenExpiresAtMs,
    networkPrefix: v.networkPrefix,
    country: v.country,
    asn: v.asn,
    deviceId: v.deviceId,
    sessionId: v.sessionId,
    contentId: v.contentId,
  };
}
