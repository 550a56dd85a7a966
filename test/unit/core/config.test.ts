import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { httpSection, kafkaSection, loadConfig, redisSection } from '../../../core/config.ts';
import { LeechguardError } from '../../../core/errors.ts';

const schema = z
  .object({
    kafka: kafkaSection.default(kafkaSection.parse({})),
    redis: redisSection.default(redisSection.parse({})),
    http: httpSection(8080).default(httpSection(8080).parse({})),
  })
  .strict();
const noStack = { LEECHGUARD_STACK_DIR: join(tmpdir(), 'leechguard-no-stack-here') };

describe('config', () => {
  it('defaults apply when nothing is given', () => {
    const cfg = loadConfig(schema, { env: noStack });
    assert.deepEqual(cfg.kafka.brokers, ['127.0.0.1:9092']);
    assert.equal(cfg.http.port, 8080);
  });

  it('a file overrides defaults and the environment overrides the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lg-cfg-'));
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ http: { port: 9000 }, redis: { url: 'redis://file:1' } }));
    const cfg = loadConfig(schema, {
      env: {
        ...noStack,
        LEECHGUARD_CONFIG: file,
        LEECHGUARD_CFG__http__port: '9100',
        LEECHGUARD_REDIS_URL: 'x',
      },
    });
    assert.equal(cfg.http.port, 9100);
    assert.equal(cfg.redis.url, 'redis://file:1');
  });

  it('endpoints from LEECHGUARD_KAFKA_BROKERS / _REGISTRY_URL / _REDIS_URL point at a user cluster', () => {
    const cfg = loadConfig(schema, {
      env: {
        ...noStack,
        LEECHGUARD_KAFKA_BROKERS: 'k1:9092, k2:9092',
        LEECHGUARD_REGISTRY_URL: 'http://reg:8081',
        LEECHGUARD_REDIS_URL: 'redis://r:6379',
      },
    });
    assert.deepEqual(cfg.kafka.brokers, ['k1:9092', 'k2:9092']);
    assert.equal(cfg.redis.url, 'redis://r:6379');
  });

  it('an unknown key is rejected, naming it', () => {
    assert.throws(
      () => loadConfig(schema, { env: { ...noStack, LEECHGUARD_CFG__http__prot: '1' } }),
      (err: unknown) =>
        err instanceof LeechguardError && err.code === 'LG_ERR_CONFIG_INVALID' && /prot/.test(err.message),
    );
  });

  it('a wrong type is rejected with its path', () => {
    assert.throws(
      () => loadConfig(schema, { env: { ...noStack, LEECHGUARD_CFG__http__port: '"eighty"' } }),
      (err: unknown) => err instanceof LeechguardError && /http\.port/.test(err.message),
    );
  });

  it('an unreadable file is a clear error', () => {
    assert.throws(
      () => loadConfig(schema, { env: { ...noStack, LEECHGUARD_CONFIG: '/nonexistent/lg.json' } }),
      (err: unknown) => err instanceof LeechguardError && err.code === 'LG_ERR_CONFIG_FILE_UNREADABLE',
    );
  });

  it('the result is frozen all the way down', () => {
    const cfg = loadConfig(schema, { env: noStack });
    assert.ok(Object.isFrozen(cfg));
    assert.ok(Object.isFrozen(cfg.kafka.brokers));
    assert.throws(() => {
      (cfg.http as { port: number }).port = 1;
    }, TypeError);
  });
});
