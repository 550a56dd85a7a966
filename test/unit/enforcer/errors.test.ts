import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ERRORS } from '../../../core/errors.ts';

// The enforcer process serves both the enforcer's and the edge's routes; either doc may explain a code.
const DOC = ['enforcer.md', 'edge.md']
  .map((f) => readFileSync(new URL(`../../../docs/${f}`, import.meta.url), 'utf8'))
  .join('\n');
const ENFORCER_CODES = Object.keys(ERRORS).filter((c) => c.startsWith('ENF_ERR_'));

describe("the enforcer's error codes", () => {
  it('are there, each with a 4xx or 503 status', () => {
    assert.ok(ENFORCER_CODES.length >= 6);
    for (const code of ENFORCER_CODES) {
      const spec = ERRORS[code as keyof typeof ERRORS];
      assert.ok(spec.httpStatus === 503 || (spec.httpStatus >= 400 && spec.httpStatus < 500), code);
      assert.equal(spec.retriable, spec.httpStatus === 503, `${code}: only 503 is worth retrying`);
    }
  });

  it('are each documented in docs/enforcer.md or docs/edge.md', () => {
    for (const code of ENFORCER_CODES) assert.ok(DOC.includes(code), `${code} is not documented`);
  });
});
