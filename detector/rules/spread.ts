/**
 * Shared shape of the "too many distinct values per subject in a sliding window" rules
 * (token network spread, geo spread, datacenter source, CAT replay): per subject, a bounded map
 * of distinct values with count / first / last seen, plus evidence maps beside it.
 */
import type { Evidence, EvidenceItem, SubjectKind } from '../../core/schemas/generated.ts';
import {
  type DetectorEvent,
  emptyEvidence,
  firstDelivery,
  type RuleContext,
  type RuleOutput,
  type SeenMap,
  type StateValue,
  type StateView,
  seenCount,
  seenEvidence,
  seenSize,
  seenTouch,
  windowStart,
} from './kit.ts';

export interface SpreadState extends StateValue {
  /** Distinct values of the counted dimension. */
  p: SeenMap;
  /** The one evidence dimension kept beside it (spec.secondary): a fixed field, not a record. */
  q: SeenMap;
  /**
   * When events are counted (measure 'events'): fingerprints of the latest events' ids, so a line
   * delivered twice (a batch re-sent after a lost answer) counts once.
   */
  h?: number[];
}

/** Event ids an event-counting subject remembers to drop redeliveries. */
const EVENT_IDS_MAX = 32;

export type EvidenceDim = 'networks' | 'countries' | 'asns' | 'devices';

export interface SpreadSpec {
  rule: string;
  /** State namespace per subject kind (built once: lookups then hash no new string). */
  ns: Partial<Record<SubjectKind, string>>;
  /** Evidence field the counted dimension is reported in. */
  primary: EvidenceDim;
  /** The other dimension recorded as evidence. */
  secondary: EvidenceDim;
  note: (observed: number, threshold: number, windowMs: number) => string;
  /**
   * What is compared with the threshold: distinct counted values (default), events, or a count
   * the rule derives from the distinct values, never more than them (e.g. far-apart regions among
   * countries): it is computed only when the distinct values exceed the threshold.
   */
  measure?: 'distinct' | 'events' | ((p: SeenMap) => number);
  /** Legitimate explanations the rule excluded, for the flag's evidence. */
  ruledOut?: string[];
}

/** Namespaces of a spread rule for each subject kind. */
export function spreadNamespaces(rule: string): Record<SubjectKind, string> {
  return {
    token: `${rule}/token`,
    account: `${rule}/account`,
    session: `${rule}/session`,
    segment: `${rule}/segment`,
  };
}

/** Value of one evidence dimension on an event, or null when the event does not carry it. */
export function dimValue(event: DetectorEvent, dim: EvidenceDim): string | null {
  const v = event.value;
  switch (dim) {
    case 'networks':
      return v.networkPrefix;
    case 'countries':
      return v.country;
    case 'asns':
      return v.asn === null ? null : String(v.asn);
    case 'devices':
      return v.deviceId ?? v.sessionId ?? null;
  }
}

/**
 * Records `value` for the subject and raises a flag when the distinct count exceeds `max`.
 * `counted` is the value of the counted dimension (may differ from the primary evidence field).
 */
export function spreadApply(
  spec: SpreadSpec,
  view: StateView,
  event: DetectorEvent,
  kind: SubjectKind,
  key: string,
  counted: string,
  windowMs: number,
  max: number,
  ctx: RuleContext,
  out: RuleOutput,
): void {
  const v = event.value;
  const atMs = v.timestampMs;
  const ns = spec.ns[kind] ?? `${spec.rule}/${kind}`;
  const prev = view.get<SpreadState>(ns, key);
  const cutoffMs = ctx.nowMs - windowMs;
  // Counting events: a redelivered one is not counted (nor anything else of it recorded).
  let ids: number[] | undefined;
  if (spec.measure === 'events') {
    ids = prev?.h ?? [];
    if (!firstDelivery(ids, v.id, EVENT_IDS_MAX)) return;
  }
  const p = seenTouch(prev?.p, counted, atMs, cutoffMs, ctx.entriesPerKeyMax);
  const next: SpreadState = prev ?? { x: 0, p: p ?? [], q: [] };
  next.x = Math.max(atMs, ctx.nowMs) + windowMs;
  out.changes.push({ ns, key, value: next });
  if (!p) {
    out.overflow++;
    return;
  }
  next.p = p;
  if (ids) next.h = ids;
  const second = dimValue(event, spec.secondary);
  if (second !== null && !seenTouch(next.q, second, atMs, cutoffMs, ctx.entriesPerKeyMax)) out.overflow++;
  const q = next.q;
  const distinct = seenSize(p);
  const observed =
    spec.measure === 'events'
      ? seenCount(p)
      : typeof spec.measure === 'function' && distinct > max
        ? spec.measure(p)
        : distinct;
  if (observed <= max) return;
  const start = windowStart(atMs, windowMs);
  const escalateOn = spec.measure === 'events' ? 'severity' : 'increase';
  if (!ctx.wouldFlag(spec.rule, kind, key, start, observed, max, escalateOn)) return;
  const evidence = (): Evidence => {
    const e = emptyEvidence();
    e.eventCount = seenCount(p);
    const items: Record<EvidenceDim, EvidenceItem[]> = {
      networks: [],
      countries: [],
      asns: [],
      devices: [],
    };
    items[spec.primary] = seenEvidence(p);
    items[spec.secondary] = seenEvidence(q);
    e.networks = items.networks;
    e.countries = items.countries;
    e.asns = items.asns;
    e.devices = items.devices;
    e.note = spec.note(observed, max, windowMs);
    if (spec.ruledOut) e.ruledOut = [...spec.ruledOut];
    return e;
  };
  out.flags.push({
    rule: spec.rule,
    subjectKind: kind,
    subjectKey: key,
    tenant: v.tenant,
    accountId: v.accountId,
    tokenHash: v.tokenHash,
    tokenExpiresAtMs: v.tokenExpiresAtMs,
    evictSessionId: null,
    threshold: max,
    observed,
    windowStartMs: start,
    windowEndMs: start + windowMs,
    detectedAtMs: atMs,
    triggerEventId: v.id,
    evidence,
    escalateOn,
  });
}
