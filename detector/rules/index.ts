/**
 * Every rule of the detector, in the order they run on each event: signals and sessions first,
 * the others read their tables.
 */
import { accountConcurrency } from './account-concurrency/index.ts';
import { catNetworkBinding } from './cat-network-binding/index.ts';
import { catReplay } from './cat-replay/index.ts';
import { cmcdConcurrency } from './cmcd-concurrency/index.ts';
import { datacenterSource } from './datacenter-source/index.ts';
import { geoSpread } from './geo-spread/index.ts';
import { groupConcurrency } from './group-concurrency/index.ts';
import { impossibleTravel } from './impossible-travel/index.ts';
import type { Rule } from './kit.ts';
import { requestRate } from './request-rate/index.ts';
import { segmentFanout } from './segment-fanout/index.ts';
import { segmentWithoutSession } from './segment-without-session/index.ts';
import { sessions } from './sessions/index.ts';
import { signals } from './signals/index.ts';
import { titleConcurrency } from './title-concurrency/index.ts';
import { tokenNetworkSpread } from './token-network-spread/index.ts';

// biome-ignore lint/suspicious/noExplicitAny: each rule has its own config type
export type AnyRule = Rule<any>;

export const RULES: readonly AnyRule[] = [
  signals,
  sessions,
  tokenNetworkSpread,
  geoSpread,
  impossibleTravel,
  accountConcurrency,
  titleConcurrency,
  groupConcurrency,
  cmcdConcurrency,
  segmentFanout,
  requestRate,
  segmentWithoutSession,
  datacenterSource,
  catReplay,
  catNetworkBinding,
];

/** Names of the rules that raise flags (signals and sessions only keep tables). */
export const FLAG_RULES: readonly string[] = RULES.map((r) => r.name).filter(
  (n) => n !== 'sessions' && n !== 'signals',
);

/** Signals each rule needs before it judges a tenant (rules needing none are absent). */
export const RULE_SIGNALS: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  RULES.filter((r) => r.requires && r.requires.length > 0).map((r) => [r.name, r.requires ?? []]),
);
