/**
 * The one entry to every pure parser: `parseBatch(format, text, options)` turns a batch of raw
 * log text into {@link ParsedRequest}s plus per-line errors (ING_ERR_* codes), with no I/O.
 * Token identity and enrichment come after (ingest/pipeline.ts turns these into CdnRequest records).
 */
import { parseAkamaiDs2 } from './akamai-ds2/index.ts';
import { parseCloudflare } from './cloudflare/index.ts';
import { parseCloudFrontRealtime } from './cloudfront-realtime/index.ts';
import { parseCloudFrontStandard } from './cloudfront-standard/index.ts';
import { parseHeartbeats } from './heartbeats/index.ts';
import {
  FASTLY_DEFAULT_MAPPING,
  type FieldMapping,
  NDJSON_DEFAULT_MAPPING,
  parseMappedNdjson,
} from './ndjson/index.ts';
import type { ParsedRequest, ParseResult } from './types.ts';

export type { ParsedHeartbeat } from './heartbeats/index.ts';
export type { FieldMapping } from './ndjson/index.ts';
export type { LineError, ParsedRequest, ParseResult } from './types.ts';
export { parseHeartbeats };

/** Log formats accepted on `POST /v1/logs/{format}`. */
export const LOG_FORMATS = [
  'cloudfront-standard',
  'cloudfront-realtime',
  'akamai-ds2',
  'fastly',
  'cloudflare',
  'ndjson',
] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export function isLogFormat(v: string): v is LogFormat {
  return (LOG_FORMATS as readonly string[]).includes(v);
}

export interface ParseOptions {
  /** CloudFront standard: field order before a `#Fields` line; real-time: the configured order. */
  fields?: readonly string[] | undefined;
  /** fastly / ndjson: leechguard field -> JSON path. */
  mapping?: FieldMapping | undefined;
  lineBytesMax?: number | undefined;
}

/** Parses one batch of `format` text. Pure; never throws on input. */
export function parseBatch(
  format: LogFormat,
  text: string,
  options: ParseOptions = {},
): ParseResult<ParsedRequest> {
  const lineBytesMax = options.lineBytesMax;
  const base = lineBytesMax === undefined ? {} : { lineBytesMax };
  switch (format) {
    case 'cloudfront-standard':
      return parseCloudFrontStandard(text, options.fields ? { ...base, fields: options.fields } : base);
    case 'cloudfront-realtime':
      return parseCloudFrontRealtime(text, options.fields ? { ...base, fields: options.fields } : base);
    case 'akamai-ds2':
      return parseAkamaiDs2(text, base);
    case 'cloudflare':
      return parseCloudflare(text, base);
    case 'fastly':
      return parseMappedNdjson(text, { ...base, mapping: options.mapping ?? FASTLY_DEFAULT_MAPPING });
    case 'ndjson':
      return parseMappedNdjson(text, { ...base, mapping: options.mapping ?? NDJSON_DEFAULT_MAPPING });
  }
}
