/**
 * Format: Amazon CloudFront real-time logs (delivered through Kinesis Data Streams).
 * Tab-separated, positional, no header: the values come in the order of the operator's real-time
 * log configuration, given here as configuration (`sources[].fields`). Without one, CloudFront's
 * documented full field order is assumed: a record of every field selected has all of its fields,
 * and a record written before CloudFront added the later ones (40 fields until 2021, 45 before the
 * CMCD fields) is read as that leading part of the order. A `#Fields` line, as some shippers write
 * ahead of a file, sets the order. `timestamp` is epoch seconds with milliseconds; `-` means empty;
 * cs-headers is URL-encoded `Name:value` lines; 18 cmcd-* fields.
 * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/real-time-logs.html
 */

import {
  CLOUDFRONT_CMCD_FIELDS,
  type CompiledFields,
  compileFields,
  compileFieldsText,
  readFields,
} from '../cloudfront/fields.ts';
import { splitLines } from '../fields.ts';
import type { LineError, ParsedRequest, ParseResult } from '../types.ts';

/** CloudFront's documented order of every real-time log field (the default). */
export const CLOUDFRONT_REALTIME_DOCUMENTED_FIELDS = [
  'timestamp',
  'c-ip',
  'time-to-first-byte',
  'sc-status',
  'sc-bytes',
  'cs-method',
  'cs-protocol',
  'cs-host',
  'cs-uri-stem',
  'cs-bytes',
  'x-edge-location',
  'x-edge-request-id',
  'x-host-header',
  'time-taken',
  'cs-protocol-version',
  'c-ip-version',
  'cs-user-agent',
  'cs-referer',
  'cs-cookie',
  'cs-uri-query',
  'x-edge-response-result-type',
  'x-forwarded-for',
  'ssl-protocol',
  'ssl-cipher',
  'x-edge-result-type',
  'fle-encrypted-fields',
  'fle-status',
  'sc-content-type',
  'sc-content-len',
  'sc-range-start',
  'sc-range-end',
  'c-port',
  'x-edge-detailed-result-type',
  'c-country',
  'cs-accept-encoding',
  'cs-accept',
  'cache-behavior-path-pattern',
  'cs-headers',
  'cs-header-names',
  'cs-headers-count',
  'primary-distribution-id',
  'primary-distribution-dns-name',
  'origin-fbl',
  'origin-lbl',
  'asn',
  ...Object.keys(CLOUDFRONT_CMCD_FIELDS),
] as const;

/** Lengths of the documented order as CloudFront grew it: a record of every field then selected. */
const DOCUMENTED_PREFIX_LENGTHS = [40, 45, CLOUDFRONT_REALTIME_DOCUMENTED_FIELDS.length] as const;
const DOCUMENTED_PREFIXES = new Map(
  DOCUMENTED_PREFIX_LENGTHS.map((n) => [n, compileFields(CLOUDFRONT_REALTIME_DOCUMENTED_FIELDS.slice(0, n))]),
);

/** A compact selection for video (every field leechguard reads); operators often pick such a list. */
export const CLOUDFRONT_REALTIME_VIDEO_FIELDS = [
  'timestamp',
  'c-ip',
  'sc-status',
  'sc-bytes',
  'cs-method',
  'cs-protocol',
  'cs-host',
  'cs-uri-stem',
  'x-edge-location',
  'x-edge-request-id',
  'cs-user-agent',
  'cs-cookie',
  'cs-uri-query',
  'x-edge-result-type',
  'c-country',
  'cs-headers',
  'asn',
  ...Object.keys(CLOUDFRONT_CMCD_FIELDS),
] as const;

export interface CloudFrontRealtimeOptions {
  /** Field order of the operator's real-time log configuration; absent: the documented order. */
  fields?: readonly string[];
  lineBytesMax?: number;
}

/** Parses one batch of CloudFront real-time log text. Never throws. */
export function parseCloudFrontRealtime(
  text: string,
  options: CloudFrontRealtimeOptions = {},
): ParseResult<ParsedRequest> {
  const { lines, errors } = splitLines(text, options);
  const records: ParsedRequest[] = [];
  let configured: CompiledFields | null = options.fields ? compileFields(options.fields) : null;
  for (const { offset, text: line } of lines) {
    if (line.charCodeAt(0) === 35 /* # */) {
      if (line.startsWith('#Fields:')) {
        const list = line.slice('#Fields:'.length).trim();
        configured = compileFieldsText(list, () => list.split(/\s+/));
      }
      continue;
    }
    const f = line.split('\t');
    const compiled = configured ?? DOCUMENTED_PREFIXES.get(f.length);
    if (compiled === undefined || f.length !== compiled.codes.length) {
      errors.push(countError(offset, line, f.length, configured));
      continue;
    }
    const result = readFields(f, offset, line, compiled);
    if ('code' in result) errors.push(result);
    else records.push(result);
  }
  errors.sort((a, b) => a.offset - b.offset);
  return { records, errors };
}

function countError(
  offset: number,
  line: string,
  found: number,
  configured: CompiledFields | null,
): LineError {
  const expected = configured
    ? `${configured.codes.length} (the configured field list)`
    : `${DOCUMENTED_PREFIX_LENGTHS.join(', ')} (CloudFront's documented order, every field selected)`;
  return {
    offset,
    line,
    code: 'ING_ERR_FIELD_COUNT',
    reason: `expected ${expected} tab-separated fields, found ${found}: set sources[].fields (defaultFields.cloudfront-realtime for keys from http.apiKeys) to the field list of your real-time log configuration, in its order`,
  };
}
