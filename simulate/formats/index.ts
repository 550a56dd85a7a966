/** Every output format of the simulator: CDN logs, heartbeats and account plans as lines. */
import type { AccountPlan } from '../../core/schemas/generated.ts';
import type { CdnFormat, SimEvent, SimHeartbeat, SimRequest } from '../model.ts';
import { formatAkamaiDs2 } from './akamai-ds2.ts';
import { cloudFrontRealtimeFormatter } from './cloudfront-realtime.ts';
import { cloudFrontStandardHeader, formatCloudFrontStandard } from './cloudfront-standard.ts';
import { formatFastly } from './fastly.ts';

export * from './akamai-ds2.ts';
export * from './cloudfront-realtime.ts';
export * from './cloudfront-standard.ts';
export * from './fastly.ts';

/** One line (with its newline) of a request in a CDN's format. */
export type RequestFormatter = (r: SimRequest) => string;

export function requestFormatters(
  realtimeFields?: ReadonlyArray<string>,
): Record<CdnFormat, RequestFormatter> {
  return {
    'cloudfront-standard': formatCloudFrontStandard,
    'cloudfront-realtime': cloudFrontRealtimeFormatter(realtimeFields),
    'akamai-ds2': formatAkamaiDs2,
    fastly: formatFastly,
  };
}

/** Text a batch or file of this format starts with (CloudFront standard: the W3C header). */
export function formatPreamble(format: CdnFormat): string {
  return format === 'cloudfront-standard' ? cloudFrontStandardHeader() : '';
}

/** A heartbeat as one NDJSON line, as a player posts it to /v1/heartbeats. */
export function formatHeartbeat(h: SimHeartbeat): string {
  return `${JSON.stringify(h)}\n`;
}

/** An account plan as one NDJSON line (AccountPlan fields), as posted to /v1/accounts. */
export function formatAccount(plan: AccountPlan): string {
  return `${JSON.stringify(plan)}\n`;
}

/** File name of each output in the output folder. */
export const OUTPUT_FILES = {
  'cloudfront-standard': 'cloudfront-standard.log',
  'cloudfront-realtime': 'cloudfront-realtime.tsv',
  'akamai-ds2': 'akamai-ds2.jsonl',
  fastly: 'fastly.ndjson',
  heartbeats: 'heartbeats.ndjson',
  accounts: 'accounts.ndjson',
  truth: 'truth.json',
  realtimeFields: 'cloudfront-realtime.fields.txt',
  summary: 'simulation.json',
} as const;

/** Where an event goes and its line: the ingest endpoint kind and the text to post or write. */
export interface EventLine {
  endpoint: CdnFormat | 'heartbeats' | 'accounts';
  line: string;
}

/** The line of any simulated event (formatters from requestFormatters(), made once and reused). */
export function eventLine(e: SimEvent, formatters: Record<CdnFormat, RequestFormatter>): EventLine {
  if (e.type === 'request') return { endpoint: e.request.cdn, line: formatters[e.request.cdn](e.request) };
  if (e.type === 'heartbeat') return { endpoint: 'heartbeats', line: formatHeartbeat(e.heartbeat) };
  return { endpoint: 'accounts', line: formatAccount(e.plan) };
}
