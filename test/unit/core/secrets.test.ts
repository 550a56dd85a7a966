import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../../core/config.ts';
import { PROJECT_ROOT } from '../../../core/endpoints.ts';
import type { LeechguardError } from '../../../core/errors.ts';
import { refuseWeakSecrets, weakSecrets } from '../../../core/secrets.ts';
import { enforcerConfigSchema } from '../../../enforcer/config.ts';
import { ingestConfigSchema } from '../../../ingest/config.ts';

const env = { LEECHGUARD_STACK_DIR: join(PROJECT_ROOT, 'no-stack-for-this-test') };
const strong = 'b3f1c0e9a8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1';

describe('no default, example or short secrets outside the demo', () => {
  it('the built-in token-hashing key is refused, naming the key', () => {
    const cfg = loadConfig(ingestConfigSchema, { env });
    assert.deepEqual(weakSecrets(cfg), ['tokenHashing.keys.k1: is the built-in development key']);
    assert.throws(
      () => refuseWeakSecrets('ingest', cfg, {}),
      (e: LeechguardError) =>
        e.code === 'LG_ERR_CONFIG_WEAK_SECRET' &&
        /tokenHashing\.keys\.k1/.test(e.message) &&
        /openssl rand -hex 32/.test(e.message),
    );
  });

  it('every change-me key of the example configs is named', () => {
    const cfg = loadConfig(enforcerConfigSchema, {
      env,
      file: join(PROJECT_ROOT, 'config', 'enforcer.json'),
    });
    const problems = weakSecrets(cfg);
    for (const path of ['http.apiKeys.0.key', 'http.apiKeys.3.key', 'tokenHashing.keys.k1']) {
      assert.ok(
        problems.some((p) => p.startsWith(`${path}: is an example value`)),
        `${path} in ${problems}`,
      );
    }
  });

  it('short bearer keys and SASL passwords are refused; generated ones pass', () => {
    const cfg = {
      http: { apiKeys: [{ name: 'a', key: 'x7Kq9mP2vL4nR8sT', roles: ['analyst'] }] },
      kafka: { sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'hunter22hunter22' } },
      tokenHashing: { currentKeyId: 'k1', keys: { k1: strong } },
    };
    assert.deepEqual(weakSecrets(cfg), [
      'http.apiKeys.0.key: is shorter than 32 characters',
      'kafka.sasl.password: is shorter than 32 characters',
    ]);
    cfg.http.apiKeys[0]!.key = strong;
    cfg.kafka.sasl.password = strong;
    assert.deepEqual(weakSecrets(cfg), []);
    refuseWeakSecrets('x', cfg, {});
  });

  it('LEECHGUARD_INSECURE_DEMO_SECRETS=1 lets a local demo boot with them', () => {
    const cfg = loadConfig(ingestConfigSchema, { env });
    refuseWeakSecrets('ingest', cfg, { LEECHGUARD_INSECURE_DEMO_SECRETS: '1' });
  });

  it('`leechguard ingest` with the example config stops at boot with LG_ERR_CONFIG_WEAK_SECRET, before any connection', () => {
    const r = spawnSync(
      process.execPath,
      [
        join(PROJECT_ROOT, 'bin', 'leechguard.mjs'),
        'ingest',
        '--config',
        join(PROJECT_ROOT, 'config', 'ingest.json'),
      ],
      {
        encoding: 'utf8',
        timeout: 60_000,
        // Nothing listens there: a boot that got past the check would fail on Kafka instead.
        env: {
          ...process.env,
          ...env,
          LEECHGUARD_KAFKA_BROKERS: '127.0.0.1:1',
          LEECHGUARD_INSECURE_DEMO_SECRETS: '',
        },
      },
    );
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^leechguard ingest: LG_ERR_CONFIG_WEAK_SECRET: .*: ingest: /);
    assert.match(r.stderr, /tokenHashing\.keys\.k1: is an example value/);
    assert.match(r.stderr, /sources\.0\.key: is an example value/);
  });
});
