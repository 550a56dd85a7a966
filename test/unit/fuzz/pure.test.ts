/** The fuzz properties of test/fuzz, each run a few hundred times (`npm run fuzz` runs them longer). */
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PURE_PROPERTIES } from '../../fuzz/pure.ts';

describe('fuzzed pure input handlers', () => {
  for (const p of PURE_PROPERTIES) {
    it(p.name, () => {
      fc.assert(p.property, { numRuns: p.unitRuns });
    });
  }
});
