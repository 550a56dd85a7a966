/**
 * A deterministic mixed stream of plans, heartbeats and CDN requests: mostly legitimate
 * households (wifi + 4G, a commuter, CGNAT) with a share of abusive accounts (shared token, its
 * CAT used outside its network binding, too many streams, datacenter restreamer, segments without
 * a session, live fan-out). Records are in event-time order with distinct timestamps, so file
 * order and Kafka's merge order agree.
 * Used by the integration tests (kill / rebuild / backtest-vs-Kafka) and the benchmark.
 */

import { TOPICS } from '../../core/topics.ts';
import type { TopicRecord } from '../backtest/index.ts';
import { heartbeat, plan, request } from './fixtures.ts';

export interface ScenarioOptions {
  accounts: number;
  /** Length of the stream, ms. */
  durationMs: number;
  /** Event time of the first record, epoch ms. */
  startMs: number;
  seed?: number;
  /** Segment duration, ms (a request per segment per stream). */
  segmentMs?: number;
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Timed {
  atMs: number;
  seq: number;
  rec: TopicRecord;
}

export function scenario(options: ScenarioOptions): TopicRecord[] {
  const rand = rng(options.seed ?? 1);
  const seg = options.segmentMs ?? 6_000;
  const out: Timed[] = [];
  let seq = 0;
  const push = (atMs: number, rec: TopicRecord) => out.push({ atMs, seq: seq++, rec });
  const end = options.startMs + options.durationMs;
  for (let a = 0; a < options.accounts; a++) {
    const accountId = `acct-${a}`;
    const kind = a % 10;
    push(options.startMs - 1, {
      topic: TOPICS.accounts.name,
      key: accountId,
      value: plan({ accountId, streamLimit: 2, updatedAtMs: options.startMs }),
    });
    const streams = kind === 1 ? 4 : kind === 5 ? 2 : 1;
    for (let s = 0; s < streams; s++) {
      const sessionId = `${accountId}-s${s}`;
      const deviceId = `${accountId}-d${s}`;
      const token = `tok-${accountId}-${s}`;
      const t0 = options.startMs + Math.floor(rand() * 20_000) + s * 5_000;
      const contentId = kind === 4 ? 'live-final' : `title-${a % 7}`;
      // Household: the second stream is a phone on 4G (another network, same country).
      const homeNet = `10.${a % 250}.${s === 0 ? 1 : 2}.0/24`;
      if (kind !== 3) {
        for (let t = t0, i = 0; t < end; t += 30_000, i++) {
          push(t, {
            topic: TOPICS.heartbeats.name,
            value: heartbeat({
              id: `hb-${sessionId}-${i}`,
              event: i === 0 ? 'start' : 'heartbeat',
              timestampMs: t,
              receivedAtMs: t,
              accountId,
              sessionId,
              deviceId,
              contentId,
              tokenHash: token,
              networkPrefix: homeNet,
            }),
          });
        }
      }
      for (let t = t0 + 500, i = 0; t < end; t += seg, i++) {
        const shared = kind === 0 && i % 3 === 0;
        const net = shared ? `198.51.${(i * 7) % 200}.0/24` : homeNet;
        push(t, {
          topic: TOPICS.requests.name,
          value: request({
            id: `rq-${sessionId}-${i}`,
            timestampMs: t,
            receivedAtMs: t,
            accountId,
            tokenHash: token,
            sessionId,
            deviceId,
            contentId,
            segmentNumber: i,
            networkPrefix: net,
            clientIp: net.replace('.0/24', '.9'),
            country: shared && i % 2 === 0 ? ['US', 'BR', 'SG', 'IN'][i % 4]! : 'NL',
            datacenter: kind === 2,
            // The shared token travels to other providers' networks.
            asn: kind === 2 ? 16509 : shared ? 64600 + ((i * 7) % 200) : 64500 + (a % 50),
            // Common Access Tokens bound to the home network (catnip): the shared one (kind 0) by
            // ASN, so its travels are outside the binding; a household at home (kind 6) by prefix.
            ...(kind === 0 ? { tokenKind: 'cat', catNip: [`AS${64500 + (a % 50)}`] } : {}),
            ...(kind === 6 ? { tokenKind: 'cat', catNip: [`cidr:${homeNet}`] } : {}),
          }),
        });
        if (kind === 4 && i % 2 === 0) {
          // A restream crowd fetching the same live segment off this login.
          for (let v = 0; v < 6; v++) {
            push(t + 100 + v * 50, {
              topic: TOPICS.requests.name,
              value: request({
                id: `rq-${sessionId}-${i}-crowd-${v}`,
                timestampMs: t + 100 + v * 50,
                receivedAtMs: t + 100 + v * 50,
                accountId,
                tokenHash: token,
                sessionId: `crowd-${v}`,
                deviceId: `crowd-${v}`,
                contentId,
                segmentNumber: i,
                networkPrefix: `203.0.${v}.0/24`,
              }),
            });
          }
        }
      }
    }
  }
  // Event-time order; ties keep generation order, then timestamps are made distinct.
  out.sort((x, y) => x.atMs - y.atMs || x.seq - y.seq);
  let last = Number.NEGATIVE_INFINITY;
  for (const t of out) {
    const at = Math.max(t.atMs, last + 1);
    last = at;
    const v = t.rec.value;
    if (v && 'timestampMs' in v) {
      v.timestampMs = at;
      v.receivedAtMs = at;
    } else if (v && 'updatedAtMs' in v) v.updatedAtMs = at;
    t.atMs = at;
  }
  return out.map((t) => t.rec);
}

/** The Kafka timestamp the integration tests give a record: its event time. */
export function recordTimeMs(rec: TopicRecord): number {
  const v = rec.value;
  if (!v) return 0;
  return 'timestampMs' in v ? v.timestampMs : v.updatedAtMs;
}
