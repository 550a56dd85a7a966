import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ERRORS } from '../../../core/errors.ts';
import { parseAccountsCsv, parseAccountsJson } from '../../../ingest/accounts/parse.ts';
import { LOG_FORMATS, parseBatch, parseHeartbeats } from '../../../ingest/sources/index.ts';
import { batchText } from '../../fuzz/pure.ts';

function checkResult(
  text: string,
  result: { records: Array<{ offset: number }>; errors: Array<{ offset: number; code: string }> },
): void {
  for (const e of result.errors) {
    assert.ok(e.code in ERRORS, `unknown code ${e.code}`);
    assert.match(e.code, /^ING_ERR_/);
  }
  const lineCount = text.split('\n').length;
  for (const r of [...result.records, ...result.errors])
    assert.ok(r.offset >= 0 && r.offset < Math.max(lineCount, 1) + 1000);
}

describe('parsers on arbitrary input', () => {
  for (const format of LOG_FORMATS) {
    it(`${format}: never throws, and every line it cannot read yields an ING_ERR_* error`, () => {
      fc.assert(
        fc.property(batchText, (text) => {
          const result = parseBatch(format, text, { lineBytesMax: 2048 });
          checkResult(text, result);
          // Every non-blank, non-comment line is accounted for: a record or an error.
          const comments = format === 'cloudfront-standard' || format === 'cloudfront-realtime';
          const meaningful = text
            .split('\n')
            .filter((l) => l.trim() !== '' && !(comments && l.startsWith('#'))).length;
          if (!text.trimStart().startsWith('[')) {
            assert.equal(
              result.records.length + result.errors.filter((e) => e.code !== 'ING_ERR_LINE_MALFORMED').length,
              meaningful,
            );
          }
        }),
        { numRuns: 300 },
      );
    });
  }

  it('heartbeats: never throw, every bad line has a code', () => {
    fc.assert(
      fc.property(batchText, (text) => {
        const result = parseHeartbeats(text, { lineBytesMax: 2048 });
        checkResult(text, result);
      }),
      { numRuns: 300 },
    );
  });

  it('account changes (JSON and CSV): never throw, every bad line has a code', () => {
    fc.assert(
      fc.property(batchText, (text) => {
        const j = parseAccountsJson(text, 0);
        const c = parseAccountsCsv(text, 0);
        for (const e of [...j.errors, ...c.errors]) assert.match(e.code, /^ING_ERR_/);
      }),
      { numRuns: 200 },
    );
  });
});
