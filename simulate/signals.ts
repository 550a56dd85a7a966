/**
 * Signal margins: for each class, the range of what each detector signal measures on the
 * simulated traffic (distinct /24s and countries per token in 5-minute windows, peak concurrent
 * sessions over the plan, segment fan-out, pace, session-less segments, datacenter share). It
 * shows how far apart legitimate and abusive accounts are, so thresholds can be chosen with
 * margin and a miss or false positive can be traced to the signal. Streaming, bounded state.
 */
import type { SimEvent, Truth } from './model.ts';
import { DATACENTER_NETWORKS, networkOf } from './world/index.ts';

/** Window for the per-token spread signals, ms (tumbling). */
const SPREAD_WINDOW_MS = 5 * 60_000;
/** Fan-out counts fetches of one (account, content, segment) within this long, ms (2–3 segment durations). */
const FANOUT_WINDOW_MS = 12_000;
/** Pace is measured over this window per session or token, ms. */
const PACE_WINDOW_MS = 60_000;
/** Fan-out keys idle longer than this are dropped, ms (bounds memory on long runs). */
const FANOUT_EVICT_MS = 30_000;

const DC_ASNS = new Set(DATACENTER_NETWORKS.map((n) => n.asn));

export interface AccountSignals {
  networksPerToken: number;
  countriesPerToken: number;
  /** Peak concurrent heartbeat sessions minus the plan's stream limit (> 0 is over the plan). */
  sessionsOverLimit: number;
  fanout: number;
  /** Segment pace relative to real time, best 1-minute window. */
  pace: number;
  sessionlessSegments: number;
  datacenterShare: number;
}

export const SIGNAL_NAMES: ReadonlyArray<keyof AccountSignals> = [
  'networksPerToken',
  'countriesPerToken',
  'sessionsOverLimit',
  'fanout',
  'pace',
  'sessionlessSegments',
  'datacenterShare',
];

interface AccountState {
  limit: number;
  open: Map<string, number>;
  peak: number;
  segments: number;
  sessionless: number;
  requests: number;
  datacenter: number;
  fanout: number;
  pace: number;
}

function tokenOf(query: string): string {
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    const k = part.slice(0, eq);
    if (k === 'token' || k === 'hdnts' || k === 'CAT') return part.slice(eq + 1);
  }
  return '';
}

const SEGMENT = /\/seg_(\d+)\.(?:ts|m4s)$/;

/** Measures every account's signals over a time-ordered event stream. */
export function measureSignals(events: Iterable<SimEvent>): Map<string, AccountSignals> {
  const accounts = new Map<string, AccountState>();
  const tokenWindows = new Map<
    string,
    { window: number; nets: Set<string>; countries: Set<string>; account: string }
  >();
  const tokenPeak = new Map<string, { nets: number; countries: number }>();
  const fan = new Map<string, { firstMs: number; lastMs: number; ips: Set<string> }>();
  const pace = new Map<string, { window: number; segmentMs: number }>();
  let lastSweepMs = 0;

  const stateOf = (id: string): AccountState => {
    let s = accounts.get(id);
    if (!s) {
      s = {
        limit: 1,
        open: new Map(),
        peak: 0,
        segments: 0,
        sessionless: 0,
        requests: 0,
        datacenter: 0,
        fanout: 0,
        pace: 0,
      };
      accounts.set(id, s);
    }
    return s;
  };

  for (const e of events) {
    if (e.type === 'account') {
      stateOf(e.plan.accountId).limit = e.plan.streamLimit;
      continue;
    }
    if (e.type === 'heartbeat') {
      const h = e.heartbeat;
      const s = stateOf(h.accountId);
      if (h.event === 'stop') s.open.delete(h.sessionId);
      else s.open.set(h.sessionId, h.timestampMs);
      s.peak = Math.max(s.peak, s.open.size);
      continue;
    }
    const r = e.request;
    const s = stateOf(r.accountId);
    s.requests++;
    if (DC_ASNS.has(r.asn)) s.datacenter++;
    const token = tokenOf(r.query);
    const window = Math.floor(r.timestampMs / SPREAD_WINDOW_MS);
    let tw = tokenWindows.get(token);
    if (!tw || tw.window !== window) {
      tw = { window, nets: new Set(), countries: new Set(), account: r.accountId };
      tokenWindows.set(token, tw);
    }
    tw.nets.add(networkOf(r.clientIp));
    tw.countries.add(r.country);
    const tp = tokenPeak.get(token) ?? { nets: 0, countries: 0 };
    tp.nets = Math.max(tp.nets, tw.nets.size);
    tp.countries = Math.max(tp.countries, tw.countries.size);
    tokenPeak.set(token, tp);
    const m = SEGMENT.exec(r.path);
    if (!m) continue;
    s.segments++;
    if (s.open.size === 0) s.sessionless++;
    const contentKey = r.path.slice(0, r.path.indexOf('/', r.path.indexOf('/', 1) + 1));
    const key = `${r.accountId}|${contentKey}|${m[1]}`;
    let f = fan.get(key);
    if (!f || r.timestampMs - f.firstMs > FANOUT_WINDOW_MS) {
      f = { firstMs: r.timestampMs, lastMs: r.timestampMs, ips: new Set() };
      fan.set(key, f);
    }
    f.lastMs = r.timestampMs;
    f.ips.add(r.clientIp);
    s.fanout = Math.max(s.fanout, f.ips.size);
    const paceKey = r.cmcd?.sid ?? `${token}|${r.clientIp}`;
    const pw = Math.floor(r.timestampMs / PACE_WINDOW_MS);
    let p = pace.get(paceKey);
    if (!p || p.window !== pw) {
      p = { window: pw, segmentMs: 0 };
      pace.set(paceKey, p);
    }
    p.segmentMs += r.cmcd?.d ?? 4000;
    s.pace = Math.max(s.pace, p.segmentMs / PACE_WINDOW_MS);
    if (r.timestampMs - lastSweepMs > FANOUT_EVICT_MS) {
      for (const [k, v] of fan) if (r.timestampMs - v.lastMs > FANOUT_EVICT_MS) fan.delete(k);
      lastSweepMs = r.timestampMs;
    }
  }

  const byAccountTokens = new Map<string, { nets: number; countries: number }>();
  for (const [token, tp] of tokenPeak) {
    const account = tokenWindows.get(token)?.account ?? '';
    const cur = byAccountTokens.get(account) ?? { nets: 0, countries: 0 };
    cur.nets = Math.max(cur.nets, tp.nets);
    cur.countries = Math.max(cur.countries, tp.countries);
    byAccountTokens.set(account, cur);
  }
  const out = new Map<string, AccountSignals>();
  for (const [id, s] of accounts) {
    const t = byAccountTokens.get(id) ?? { nets: 0, countries: 0 };
    out.set(id, {
      networksPerToken: t.nets,
      countriesPerToken: t.countries,
      sessionsOverLimit: s.peak - s.limit,
      fanout: s.fanout,
      // The startup burst (three segments in ~1 s) is not a pace: only whole windows count.
      pace: Math.round(s.pace * 100) / 100,
      sessionlessSegments: s.sessionless,
      datacenterShare: s.requests ? Math.round((s.datacenter / s.requests) * 100) / 100 : 0,
    });
  }
  return out;
}

/** Per class, min–max of each signal, as a markdown table. */
export function signalTable(truth: Truth, signals: Map<string, AccountSignals>): string {
  const byClass = new Map<string, { label: string; min: AccountSignals; max: AccountSignals; n: number }>();
  for (const a of truth.accounts) {
    const sig = signals.get(a.accountId);
    if (!sig) continue;
    let c = byClass.get(a.class);
    if (!c) {
      c = { label: a.label, min: { ...sig }, max: { ...sig }, n: 0 };
      byClass.set(a.class, c);
    }
    c.n++;
    for (const k of SIGNAL_NAMES) {
      c.min[k] = Math.min(c.min[k], sig[k]);
      c.max[k] = Math.max(c.max[k], sig[k]);
    }
  }
  const rows = [...byClass.entries()].sort((x, y) =>
    x[1].label === y[1].label ? x[0].localeCompare(y[0]) : x[1].label === 'legit' ? -1 : 1,
  );
  const lines = [
    `| class | truth | accounts | ${SIGNAL_NAMES.join(' | ')} |`,
    `|---|---|---|${SIGNAL_NAMES.map(() => '---').join('|')}|`,
  ];
  for (const [cls, c] of rows) {
    const cells = SIGNAL_NAMES.map((k) =>
      c.min[k] === c.max[k] ? `${c.max[k]}` : `${c.min[k]}–${c.max[k]}`,
    );
    lines.push(`| ${cls} | ${c.label} | ${c.n} | ${cells.join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}
