import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ERRORS, LeechguardError } from '../../../core/errors.ts';

describe('error table', () => {
  const codes = Object.keys(ERRORS);

  it('every code is <AREA>_ERR_<CONDITION> with a known area', () => {
    for (const code of codes) assert.match(code, /^(LG|ING|DET|ENF)_ERR_[A-Z0-9_]+$/, code);
  });

  it('every code has a message, an HTTP status in 4xx/5xx and a retriable flag', () => {
    for (const [code, spec] of Object.entries(ERRORS)) {
      assert.ok(spec.message.length > 0, code);
      assert.ok(spec.httpStatus >= 400 && spec.httpStatus < 600, code);
      assert.equal(typeof spec.retriable, 'boolean', code);
    }
  });

  it('only 5xx-class unavailability is retriable, never a client error', () => {
    for (const [code, spec] of Object.entries(ERRORS)) {
      if ((spec.httpStatus as number) >= 400 && (spec.httpStatus as number) < 500) {
        assert.equal(spec.retriable, false, `${code} is a client error and must not be retriable`);
      }
    }
  });

  it('every code is documented in docs/errors.md', () => {
    const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
    for (const code of codes) assert.ok(doc.includes(code), `${code} missing from docs/errors.md`);
  });

  it('a LeechguardError carries code, status, retriable, cause and a JSON body without the cause', () => {
    const cause = new Error('connection refused');
    const err = new LeechguardError('LG_ERR_KAFKA_UNAVAILABLE', 'broker 127.0.0.1:9092', { cause });
    assert.equal(err.code, 'LG_ERR_KAFKA_UNAVAILABLE');
    assert.equal(err.httpStatus, 503);
    assert.equal(err.retriable, true);
    assert.equal(err.cause, cause);
    assert.deepEqual(err.toJSON(), {
      code: 'LG_ERR_KAFKA_UNAVAILABLE',
      message: 'Kafka is unavailable: broker 127.0.0.1:9092',
      retriable: true,
    });
  });
});
