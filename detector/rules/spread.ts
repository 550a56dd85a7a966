/**
 * Shared shape of the "too many distinct values per subject in a sliding window" rules
 * (token network spread, geo spread, datacenter source, CAT replay): per subject, a bounded map
 * of distinct values with count / first / last seen, plus evidence maps beside it.
 */
import type { EvidenceItem, SubjectKind } from '../../core/schemas/generated.ts';
import {
  common,
  type DetectorEvent,
  emptyEvidence,
  type RuleContext,
  type RuleOutput,
  type SeenMap,
  type StateValue,
  type StateView,
  seenCount,
  seenEvidence,
  seenSize,
  seenTouch,
  stateKey,
  windowStart,
} from './kit.ts';

export interface SpreadState extends StateValue {
  /** Distinct values of the counted dimension. */
  p: SeenMap;
  /** Evidence dimensions kept beside it (networks, countries, asns, devices). */
  s: Partial<Record<EvidenceDim, SeenMap>>;
}

export type EvidenceDim = 'networks' | 'countries' | 'asns' | 'devices';

export interface SpreadSpec {
  rule: string;
  /** Evidence field the counted dimension is reported in. */
  primary: EvidenceDim;
  /** Other dimensions recorded as evidence. */
  secondary: readonly EvidenceDim[];
  note: (observed: number, threshold: number, windowMs: number) => string;
  /** What is compared with the threshold: distinct counted values (default) or events. */
  measure?: 'distinct' | 'events';
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
  subject: { kind: SubjectKind; key: string },
  counted: string,
  windowMs: number,
  max: number,
  ctx: RuleContext,
  out: RuleOutput,
): void {
  const c = common(event);
  const key = stateKey(spec.rule, `${subject.kind}:${subject.key}`);
  const prev = view.get<SpreadState>(key);
  const cutoffMs = ctx.nowMs - windowMs;
  const p = seenTouch(prev?.p, counted, c.atMs, cutoffMs, ctx.entriesPerKeyMax);
  if (!p) {
    out.overflow++;
    return;
  }
  const s: SpreadState['s'] = {};
  for (const dim of spec.secondary) {
    const value = dimValue(event, dim);
    const before = prev?.s[dim];
    if (value === null) {
      if (before) s[dim] = before;
      continue;
    }
    const touched = seenTouch(before, value, c.atMs, cutoffMs, ctx.entriesPerKeyMax);
    if (touched) s[dim] = touched;
    else {
      out.overflow++;
      if (before) s[dim] = before;
    }
  }
  const lastMs = Math.max(c.atMs, ctx.nowMs);
  out.changes.push({ key, value: { x: lastMs + windowMs, p, s } as SpreadState });
  const observed = spec.measure === 'events' ? seenCount(p) : seenSize(p);
  if (observed <= max) return;
  const evidence = emptyEvidence();
  evidence.eventCount = seenCount(p);
  const items: Record<EvidenceDim, EvidenceItem[]> = {
    networks: [],
    countries: [],
    asns: [],
    devices: [],
  };
  items[spec.primary] = seenEvidence(p);
  for (const dim of spec.secondary) items[dim] = seenEvidence(s[dim]);
  evidence.networks = items.networks;
  evidence.countries = items.countries;
  evidence.asns = items.asns;
  evidence.devices = items.devices;
  evidence.note = spec.note(observed, max, windowMs);
  const start = windowStart(c.atMs, windowMs);
  out.flags.push({
    rule: spec.rule,
    subjectKind: subject.kind,
    subjectKey: subject.key,
    tenant: c.tenant,
    accountId: c.accountId,
    tokenHash: c.tokenHash,
    tokenExpiresAtMs: c.tokenExpiresAtMs,
    evictSessionId: null,
    threshold: max,
    observed,
    windowStartMs: start,
    windowEndMs: start + windowMs,
    detectedAtMs: c.atMs,
    triggerEventId: c.id,
    evidence,
    escalateOn: spec.measure === 'events' ? 'severity' : 'increase',
  });
}
