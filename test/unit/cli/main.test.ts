import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const BIN = join(import.meta.dirname, '..', '..', '..', 'bin', 'leechguard.mjs');
const cli = (...args: string[]) =>
  spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });

describe('leechguard CLI options', () => {
  it('answers --help of a command without its own help with the command usage, exit 0', () => {
    const r = cli('all', '--help');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^usage: leechguard all /);
    assert.equal(r.stderr, '');
  });

  it('names an unknown option, with the usage, exit 2 (no stack trace)', () => {
    const r = cli('all', '--no-such-option');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^leechguard all: .*'--no-such-option'/);
    assert.match(r.stderr, /usage: leechguard all /);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
});
