/** Boots the standalone edge server (decision + sessions) on real Kafka / registry / Redis for tests. */
import { ManualClock } from '../../../core/clock.ts';
import { loadConfig } from '../../../core/config.ts';
import { type EdgeServer, edgeConfigSchema, startEdgeServer } from '../../../enforcer/decision/standalone.ts';
import { testEndpoints } from '../../support/stack.ts';

export const EDGE_KEY = 'edge-key-0123456789abcdef';
export const BACKEND_KEY = 'backend-key-0123456789abcdef';

export const HEARTBEAT_MS = 30_000;
export const GRACE_MS = 90_000;

export async function bootEdge(
  redisUrl?: string,
  extra: Record<string, unknown> = {},
): Promise<{ server: EdgeServer; clock: ManualClock }> {
  const endpoints = await testEndpoints();
  // An hour behind the wall clock: the tests advance it by minutes, and the admission heartbeat
  // records it stamps go to the stack's shared player.heartbeats.v1. Stamped ahead of real time,
  // they would move a detector partition's watermark into the future for every later consumer.
  const clock = new ManualClock(Date.now() - 60 * 60_000);
  const config = loadConfig(edgeConfigSchema, {
    env: {},
    overrides: {
      kafka: { brokers: endpoints.kafkaBrokers },
      registry: { url: endpoints.registryUrl },
      redis: { url: redisUrl ?? endpoints.redisUrl },
      http: {
        port: 0,
        apiKeys: [
          { name: 'cdn-edge', key: EDGE_KEY, roles: ['edge'] },
          { name: 'licence-server', key: BACKEND_KEY, roles: ['backend'] },
        ],
      },
      log: { level: 'silent' },
      sessions: {
        heartbeatIntervalMs: HEARTBEAT_MS,
        ghostGraceMs: GRACE_MS,
        defaultPlans: {
          default: { streamLimit: 2 },
          one: { streamLimit: 1 },
          three: { streamLimit: 3 },
          pair: { streamLimit: 2, perTitleLimit: 1 },
          titles: {
            streamLimit: 4,
            perTitleLimit: 1,
            concurrencyGroups: [{ groupId: 'studio-x', limit: 2, contentIdPatterns: ['x-*'] }],
          },
        },
      },
      ...extra,
    },
  });
  const server = await startEdgeServer(config, clock);
  return { server, clock };
}

export const asBackend = { authorization: `Bearer ${BACKEND_KEY}` };
export const asEdge = { authorization: `Bearer ${EDGE_KEY}` };
