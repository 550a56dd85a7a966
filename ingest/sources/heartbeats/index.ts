/**
 * Format: leechguard player heartbeats, JSON (one object or an array) or NDJSON.
 * `{"event":"start|heartbeat|stop","timestamp":…,"accountId":…,"sessionId":…,"deviceId":…,
 *   "contentId":…,"token":…,"clientIp":…,"playheadMs":…,"bitrateKbps":…,"cmcd":"sid=\"…\",cid=\"…\""}`
 * `cmcd` may be CMCD text or an object; `sid` / `cid` fill sessionId / contentId when absent;
 * snake_case aliases are accepted. A missing timestamp means "now" (set by the pipeline).
 */
import type { Cmcd, HeartbeatEvent } from '../../../core/schemas/generated.ts';
import { collectCmcd } from '../../transforms/enrich/cmcd.ts';
import { floatOrNull, intOrNull, parseTimeMs } from '../fields.ts';
import { isObject, jsonItems, text } from '../json-lines.ts';
import type { LineError, ParseResult } from '../types.ts';

export interface ParsedHeartbeat {
  offset: number;
  line: string;
  event: HeartbeatEvent;
  /** null: the player sent none; the pipeline uses the receive time. */
  timestampMs: number | null;
  accountId: string | null;
  sessionId: string;
  deviceId: string;
  contentId: string;
  /** Raw token: hashed by the pipeline, never stored. */
  token: string | null;
  clientIp: string | null;
  playheadMs: number | null;
  bitrateKbps: number | null;
  cmcd: Cmcd | null;
}

/** Longest id (account, session, device, content) accepted, chars. */
const ID_CHARS_MAX = 256;
const EVENTS = new Set(['start', 'heartbeat', 'stop']);

function first(o: Record<string, unknown>, ...names: string[]): unknown {
  for (const n of names) if (o[n] !== undefined && o[n] !== null && o[n] !== '') return o[n];
  return undefined;
}

function id(v: unknown): string | null {
  const s = text(v);
  return s !== null && s.length <= ID_CHARS_MAX ? s : null;
}

export interface HeartbeatOptions {
  lineBytesMax?: number;
}

/** Parses a batch of heartbeats. Never throws. */
export function parseHeartbeats(input: string, options: HeartbeatOptions = {}): ParseResult<ParsedHeartbeat> {
  const { items, errors } = jsonItems(input, options);
  const records: ParsedHeartbeat[] = [];
  for (const { offset, line, value: o } of items) {
    const r = parseOne(o, offset, line);
    if ('code' in r) errors.push(r);
    else records.push(r);
  }
  errors.sort((a, b) => a.offset - b.offset);
  return { records, errors };
}

function parseOne(o: Record<string, unknown>, offset: number, line: string): ParsedHeartbeat | LineError {
  const fail = (reason: string, code: LineError['code'] = 'ING_ERR_HEARTBEAT_INVALID'): LineError => ({
    offset,
    line,
    code,
    reason,
  });
  const eventRaw = first(o, 'event', 'type', 'e') ?? 'heartbeat';
  if (typeof eventRaw !== 'string' || !EVENTS.has(eventRaw))
    return fail('event must be start, heartbeat or stop');
  const tsRaw = first(o, 'timestampMs', 'timestamp', 'ts', 'time');
  const ts = tsRaw === undefined ? null : parseTimeMs(tsRaw);
  if (ts === undefined) return fail('timestamp is invalid', 'ING_ERR_TIMESTAMP_INVALID');
  const headers: Record<string, string> = {};
  if (isObject(o.headers))
    for (const [k, v] of Object.entries(o.headers)) if (typeof v === 'string') headers[k.toLowerCase()] = v;
  const cmcd = collectCmcd(null, headers, null, o.cmcd ?? null);
  const sessionId = id(first(o, 'sessionId', 'session_id', 'sid')) ?? cmcd?.sid ?? null;
  const contentId = id(first(o, 'contentId', 'content_id', 'cid')) ?? cmcd?.cid ?? null;
  if (sessionId === null) return fail('sessionId is missing (or CMCD sid)', 'ING_ERR_FIELD_MISSING');
  if (contentId === null) return fail('contentId is missing (or CMCD cid)', 'ING_ERR_FIELD_MISSING');
  const playhead = intOrNull(first(o, 'playheadMs', 'playhead_ms'));
  const bitrate = floatOrNull(first(o, 'bitrateKbps', 'bitrate_kbps'));
  if (playhead === undefined) return fail('playheadMs is not an integer', 'ING_ERR_FIELD_INVALID');
  if (bitrate === undefined) return fail('bitrateKbps is not a number', 'ING_ERR_FIELD_INVALID');
  const token = first(o, 'token');
  return {
    offset,
    line,
    event: eventRaw as HeartbeatEvent,
    timestampMs: ts,
    accountId: id(first(o, 'accountId', 'account_id', 'account')),
    sessionId,
    // A player without a device id is one device per session: the narrowest safe reading.
    deviceId: id(first(o, 'deviceId', 'device_id', 'did')) ?? sessionId,
    contentId,
    token: typeof token === 'string' && token !== '' ? token : null,
    clientIp: text(first(o, 'clientIp', 'client_ip', 'ip')),
    playheadMs: playhead,
    bitrateKbps: bitrate === null ? null : Math.round(bitrate),
    cmcd,
  };
}
