/**
 * Edge client library: import this from a Node edge, API gateway or licence server.
 *
 *   const edge = new EdgeClient({ redisUrl, failMode: 'open' });
 *   await edge.start();
 *   const d = edge.check({ tokenHash, accountId });   // synchronous, from the in-process mirror
 *   if (d.decision === 'block') ...
 */
export {
  EdgeClient,
  type EdgeClientOptions,
  type EdgeClientStats,
  type EdgeQuery,
  type FailMode,
} from './client.ts';
export { type Decision, type DecisionSource, type Verdict, verdictOf } from './decision.ts';
export { DenyCache, type DenyCacheOptions } from './deny-cache.ts';
