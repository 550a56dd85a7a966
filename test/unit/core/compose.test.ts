import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { PROJECT_ROOT } from '../../../core/endpoints.ts';

/** `docker compose` (plugin) or `docker-compose` (standalone); both parse the file without an engine. */
function composeCommand(): string[] | undefined {
  if (spawnSync('docker', ['compose', 'version']).status === 0) return ['docker', 'compose'];
  if (spawnSync('docker-compose', ['version']).status === 0) return ['docker-compose'];
  return undefined;
}

const compose = composeCommand();

describe('docker-compose.yml', () => {
  it('docker compose config accepts it', {
    skip: compose
      ? false
      : 'neither `docker compose` nor `docker-compose` is installed (scripts/setup.sh installs it)',
  }, () => {
    const [cmd, ...args] = compose!;
    const res = spawnSync(cmd!, [...args, '-f', 'docker-compose.yml', 'config', '-q'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
    });
    assert.equal(res.status, 0, res.stderr);
  });

  it('runs the same three parts as the local stack and the three services', () => {
    const text = readFileSync(`${PROJECT_ROOT}/docker-compose.yml`, 'utf8');
    for (const service of ['kafka:', 'registry:', 'redis:', 'ingest:', 'detector:', 'enforcer:']) {
      assert.ok(text.includes(`\n  ${service}`), `service ${service} missing`);
    }
    assert.match(text, /apache\/kafka:4\.1\.1/);
    assert.match(text, /apicurio-registry:3\.3\.3/);
  });
});
