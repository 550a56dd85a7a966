/**
 * signals: which inputs the detector has for a tenant (and for a content id of the tenant), so a
 * rule whose signal needs player heartbeats judges only where heartbeats are sent. Many services
 * ship CDN logs long before their players send heartbeats, some never do, and some send them
 * from a few apps only: without this, "no heartbeat session" would describe every viewer.
 * The engine keeps the latest event time of each input per tenant in the partition's meta (read
 * on every event); this rule keeps the latest heartbeat per tenant + content id in the state.
 * It raises no flags; its config is the window in which an input counts as present.
 */
import { z } from 'zod';
import type { Rule, StateValue, StateView } from '../kit.ts';

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

/** Latest heartbeat of a tenant's content id. */
export interface ContentSeen extends StateValue {
  /** Latest heartbeat event time, epoch ms. */
  l: number;
}

/**
 * A content id's latest heartbeat is rewritten only when it moves this far, ms: a popular title's
 * players beat many times a second, and one write per beat is most of this rule's cost. The
 * stored time then lags by less than this, so a content id can count as without heartbeats up
 * to 10 s early, at the end of its window: the silent side.
 */
const CONTENT_SEEN_STEP_MS = 10_000;

/** Namespace of the entries (key: `contentKey`). */
export const SIGNALS_NS = 'signals';

/** State key of a tenant's content id. */
export function contentKey(tenant: string, contentId: string): string {
  return `${tenant}\u001f${contentId}`;
}

/** Latest heartbeat event time of the tenant's content id, or null when none is remembered. */
export function contentHeartbeatMs(view: StateView, tenant: string, contentId: string): number | null {
  return view.get<ContentSeen>(SIGNALS_NS, contentKey(tenant, contentId))?.l ?? null;
}

export const signals: Rule<SignalsConfig> = {
  name: 'signals',
  configSchema: signalsConfig,
  horizonMs: (c) => c.presentWithinMs,
  apply(view, event, config, _ctx, out) {
    if (event.kind !== 'heartbeat') return;
    const hb = event.value;
    const key = contentKey(hb.tenant, hb.contentId);
    const prev = view.get<ContentSeen>(SIGNALS_NS, key);
    if (prev && hb.timestampMs < prev.l + CONTENT_SEEN_STEP_MS) return;
    const l = hb.timestampMs;
    out.changes.push({ ns: SIGNALS_NS, key, value: { x: l + config.presentWithinMs, l } as ContentSeen });
  },
};
