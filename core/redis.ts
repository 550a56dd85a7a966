/** Redis client factory (ioredis). Commands time out instead of hanging the caller. */
import { Redis, type RedisOptions } from 'ioredis';
import { LIMITS } from './limits.ts';
import type { Logger } from './log.ts';

export { Redis };

export function createRedis(url: string, logger: Logger, options: RedisOptions = {}): Redis {
  const redis = new Redis(url, {
    commandTimeout: LIMITS.redisCommandTimeoutMs,
    maxRetriesPerRequest: 2,
    retryStrategy: (attempt) => Math.min(attempt * 100, LIMITS.redisReconnectBackoffMsMax),
    lazyConnect: false,
    ...options,
  });
  let lastError = '';
  redis.on('error', (err: Error) => {
    // ioredis emits the same error on every reconnect attempt; log each distinct one once.
    if (err.message !== lastError) logger.warn({ err: err.message }, 'redis connection error');
    lastError = err.message;
  });
  redis.on('ready', () => {
    lastError = '';
  });
  return redis;
}

export async function probeRedis(redis: Redis): Promise<void> {
  const pong = await redis.ping();
  if (pong !== 'PONG') throw new Error(`redis answered ${pong}`);
}
