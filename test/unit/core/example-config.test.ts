import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../../core/config.ts';
import { PROJECT_ROOT } from '../../../core/endpoints.ts';
import { detectorConfigSchema } from '../../../detector/config.ts';
import { enforcerConfigSchema } from '../../../enforcer/config.ts';
import { ingestConfigSchema } from '../../../ingest/config.ts';

const env = { LEECHGUARD_STACK_DIR: join(PROJECT_ROOT, 'no-stack-for-this-test') };

describe('example configs in config/ (mounted by docker-compose.yml)', () => {
  it('config/ingest.json is a valid ingest config', () => {
    const cfg = loadConfig(ingestConfigSchema, { env, file: join(PROJECT_ROOT, 'config', 'ingest.json') });
    assert.equal(cfg.sources.length, 3);
  });

  it('config/detector.json is a valid detector config', () => {
    const cfg = loadConfig(detectorConfigSchema, {
      env,
      file: join(PROJECT_ROOT, 'config', 'detector.json'),
    });
    assert.equal(cfg.detector.stateDir, '/app/.leechguard/detector-state');
  });

  it('config/enforcer.json is a valid enforcer config starting in monitor mode', () => {
    const cfg = loadConfig(enforcerConfigSchema, {
      env,
      file: join(PROJECT_ROOT, 'config', 'enforcer.json'),
    });
    assert.equal(cfg.policies.defaultPolicy.mode, 'monitor');
  });
});
