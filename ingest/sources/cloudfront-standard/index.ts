/**
 * Format: Amazon CloudFront standard logs (legacy and v2), W3C extended log file format, or v2's
 * JSON output. Tab-separated; the `#Fields` header is the authority on which field sits where
 * (until one is seen: the documented 33-field order, for chunks cut from a file). A line may carry
 * fields past the header (CloudFront adds fields at the end over time; AWS's own example lines end
 * with a tab) or stop early (trailing empty fields left out): both are read, as long as the line
 * reaches its time and cs-uri-stem. A line that opens with `{` is one JSON record (v2 JSON
 * output), its keys the same field names. Values are URL-encoded; `-` means empty; times are UTC.
 * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logs-reference.html
 * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logging.html
 */

import { type CompiledFields, compileFields, compileFieldsText, readFields } from '../cloudfront/fields.ts';
import { splitLines } from '../fields.ts';
import { isObject } from '../json-lines.ts';
import type { LineError, ParsedRequest, ParseResult } from '../types.ts';

/** The documented field order of the standard log (33 fields). */
export const CLOUDFRONT_STANDARD_FIELDS = [
  'date',
  'time',
  'x-edge-location',
  'sc-bytes',
  'c-ip',
  'cs-method',
  'cs(Host)',
  'cs-uri-stem',
  'sc-status',
  'cs(Referer)',
  'cs(User-Agent)',
  'cs-uri-query',
  'cs(Cookie)',
  'x-edge-result-type',
  'x-edge-request-id',
  'x-host-header',
  'cs-protocol',
  'cs-bytes',
  'time-taken',
  'x-forwarded-for',
  'ssl-protocol',
  'ssl-cipher',
  'x-edge-response-result-type',
  'cs-protocol-version',
  'fle-status',
  'fle-encrypted-fields',
  'c-port',
  'time-to-first-byte',
  'x-edge-detailed-result-type',
  'sc-content-type',
  'sc-content-len',
  'sc-range-start',
  'sc-range-end',
] as const;

export interface CloudFrontStandardOptions {
  /** Field order used until a `#Fields` line is seen (batches cut from the middle of a file). */
  fields?: readonly string[];
  lineBytesMax?: number;
}

/** Parses one batch of CloudFront standard log text (W3C or JSON lines). Never throws. */
export function parseCloudFrontStandard(
  text: string,
  options: CloudFrontStandardOptions = {},
): ParseResult<ParsedRequest> {
  const { lines, errors } = splitLines(text, options);
  const records: ParsedRequest[] = [];
  let compiled = compileFields(options.fields ?? CLOUDFRONT_STANDARD_FIELDS);
  for (const { offset, text: line } of lines) {
    const first = line.charCodeAt(0);
    if (first === 35 /* # */) {
      if (line.startsWith('#Fields:')) {
        const list = line.slice('#Fields:'.length).trim();
        compiled = compileFieldsText(list, () => list.split(/\s+/));
        if (!compiled.complete) {
          errors.push({
            offset,
            line,
            code: 'ING_ERR_LINE_MALFORMED',
            reason: '#Fields lacks a time (date and time, or timestamp) or cs-uri-stem',
          });
        }
      }
      continue;
    }
    const result = first === 123 /* { */ ? parseJsonLine(line, offset) : parseLine(line, offset, compiled);
    if ('code' in result) errors.push(result);
    else records.push(result);
  }
  errors.sort((a, b) => a.offset - b.offset);
  return { records, errors };
}

function parseLine(line: string, offset: number, compiled: CompiledFields): ParsedRequest | LineError {
  const f = line.split('\t');
  if (f.length < compiled.requiredCount) {
    return {
      offset,
      line,
      code: 'ING_ERR_FIELD_COUNT',
      reason: `${f.length} tab-separated fields, but the #Fields header (${compiled.codes.length} fields) puts the time and cs-uri-stem within the first ${compiled.requiredCount}`,
    };
  }
  return readFields(f, offset, line, compiled);
}

/** One record of standard logging v2's JSON output: field names as keys. */
function parseJsonLine(line: string, offset: number): ParsedRequest | LineError {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch (err) {
    return { offset, line, code: 'ING_ERR_JSON_INVALID', reason: (err as Error).message };
  }
  if (!isObject(obj))
    return { offset, line, code: 'ING_ERR_JSON_INVALID', reason: 'line is not a JSON object' };
  const keys = Object.keys(obj);
  const compiled = compileFieldsText(`json\n${keys.join('\t')}`, () => keys);
  const values = keys.map((k) => {
    const v = obj[k];
    // A date column of Parquet output comes back as a timestamp at midnight.
    if (k === 'date' && typeof v === 'string' && v.length > 10 && v[10] === 'T') return v.slice(0, 10);
    return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '-';
  });
  return readFields(values, offset, line, compiled);
}
