/**
 * signals: which inputs the detector has for a tenant (and for a content id of the tenant), so a
 * rule whose signal needs player heartbeats judges only where heartbeats are sent. Many services
 * ship CDN logs long before their players send heartbeats, some never do, and some send them
 * from a few apps only: without this, "no heartbeat session" would describe every viewer.
 * Raises no flags; keeps the latest event time of each input per tenant, and of heartbeats per
 * tenant + content id.
 */
import { z } from 'zod';
import type { Rule, RuleOutput, StateValue, StateView } from '../kit.ts';

export const signalsConfig = z
  .object({
    enabled: z.boolean().default(true),
    /**
     * An input counts as present for a tenant (or a content id) when an event of it was seen this
     * recently, in event time, ms. Half an hour: players beat every 30–60 s, so a longer silence
     * means the heartbeat feed is off, or was never on.
     */
    presentWithinMs: z
      .number()
      .int()
      .positive()
      .default(30 * 60_000),
  })
  .strict();
export type SignalsConfig = z.infer<typeof signalsConfig>;

/** The latest event of one input seen for a scope (a tenant, or a tenant's content id). */
export interface SignalSeen extends StateValue {
  /** Latest event time seen, epoch ms: the input's watermark for this scope. */
  l: number;
}

/** Inputs a rule can depend on. */
export type Signal = 'cdn-logs' | 'heartbeats';

/** Namespace of the entries (keys from `scopeKey`). */
export const SIGNALS_NS = 'signals';

/** Tenant-level keys, built once per tenant and signal: they are read on every event. */
const tenantKeys: Record<Signal, Map<string, string>> = { 'cdn-logs': new Map(), heartbeats: new Map() };
/** Tenants whose keys are kept built; beyond, keys are built per call (a bound, not a failure). */
const TENANT_KEYS_MAX = 10_000;

/** State key of one input's entry for a tenant, or for one content id of the tenant. */
export function scopeKey(signal: Signal, tenant: string, contentId?: string | null): string {
  if (contentId != null) return `${signal}\u001f${tenant}\u001f${contentId}`;
  const keys = tenantKeys[signal];
  let key = keys.get(tenant);
  if (key === undefined) {
    key = `${signal}\u001f${tenant}`;
    if (keys.size < TENANT_KEYS_MAX) keys.set(tenant, key);
  }
  return key;
}

/** Latest event time of `signal` for the scope, or null when none is remembered. */
export function lastSeenMs(
  view: StateView,
  signal: Signal,
  tenant: string,
  contentId?: string | null,
): number | null {
  return view.get<SignalSeen>(SIGNALS_NS, scopeKey(signal, tenant, contentId))?.l ?? null;
}

/** The inputs seen for the tenant within `withinMs` of `atMs`, in a fixed order (evidence). */
export function signalsOf(view: StateView, tenant: string, atMs: number, withinMs: number): Signal[] {
  const out: Signal[] = [];
  for (const s of ['cdn-logs', 'heartbeats'] as const) {
    const l = lastSeenMs(view, s, tenant);
    if (l !== null && l >= atMs - withinMs) out.push(s);
  }
  return out;
}

/**
 * CDN-log presence is rewritten only when its time moves this far, ms: requests are most of the
 * events, and presence within a half-hour window needs no finer time. Heartbeat times are kept
 * exact: they are the sessions' clock.
 */
const CDN_LOGS_STEP_MS = 10_000;

function touch(
  view: StateView,
  key: string,
  atMs: number,
  stepMs: number,
  withinMs: number,
  out: RuleOutput,
): void {
  const prev = view.get<SignalSeen>(SIGNALS_NS, key);
  if (prev && atMs < prev.l + stepMs) return;
  const l = Math.max(atMs, prev?.l ?? 0);
  out.changes.push({ ns: SIGNALS_NS, key, value: { x: l + withinMs, l } as SignalSeen });
}

export const signals: Rule<SignalsConfig> = {
  name: 'signals',
  configSchema: signalsConfig,
  horizonMs: (c) => c.presentWithinMs,
  apply(view, event, config, _ctx, out) {
    const v = event.value;
    const w = config.presentWithinMs;
    if (event.kind === 'request') {
      touch(view, scopeKey('cdn-logs', v.tenant), v.timestampMs, CDN_LOGS_STEP_MS, w, out);
      return;
    }
    touch(view, scopeKey('heartbeats', v.tenant), v.timestampMs, 1, w, out);
    touch(view, scopeKey('heartbeats', v.tenant, event.value.contentId), v.timestampMs, 1, w, out);
  },
};
