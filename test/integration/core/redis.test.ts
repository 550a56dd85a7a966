import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../../core/log.ts';
import { createRedis, probeRedis, type Redis } from '../../../core/redis.ts';
import { testEndpoints, uniqueName } from '../../support/stack.ts';

const logger = createLogger('test', 'silent');

describe('Redis (real)', () => {
  let redis: Redis;
  let subscriber: Redis;

  before(async () => {
    const { redisUrl } = await testEndpoints();
    redis = createRedis(redisUrl, logger);
    subscriber = createRedis(redisUrl, logger);
  });

  after(() => {
    redis.disconnect();
    subscriber.disconnect();
  });

  it('answers the readiness probe', async () => {
    await probeRedis(redis);
  });

  it('set with expiry: the value is there, then gone after its TTL', async () => {
    const key = uniqueName('lg:test:expire');
    await redis.set(key, 'v', 'PX', 150);
    assert.equal(await redis.get(key), 'v');
    const ttl = await redis.pttl(key);
    assert.ok(ttl > 0 && ttl <= 150, `pttl ${ttl}`);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await redis.get(key), null);
  });

  it('pub/sub delivers a published message to a subscriber', async () => {
    const channel = uniqueName('lg:test:channel');
    const got = new Promise<string>((resolve) =>
      subscriber.on('message', (ch, msg) => ch === channel && resolve(msg)),
    );
    await subscriber.subscribe(channel);
    const receivers = await redis.publish(channel, '{"op":"set"}');
    assert.equal(receivers, 1);
    assert.equal(await got, '{"op":"set"}');
  });
});
