/**
 * Format: leechguard player heartbeats, JSON (one object or an array) or NDJSON.
 * `{"event":"start|heartbeat|stop","timestamp":…,"accountId":…,"sessionId":…,"deviceId":…,
 *   "contentId":…,"token":…,"clientIp":…,"playheadMs":…,"bitrateKbps":…,"cmcd":"sid=\"…\",cid=\"…\""}`
 * `cmcd` may be CMCD text or an object; `sid` / `cid` fill sessionId / contentId when absent;
 * snake_case aliases are accepted. A missing timestamp means "now" (set by the pipeline).
 *
 * Also CMCD v2 event-mode reports (CTA-5004-B), as players post them to a reporting endpoint:
 * batched, one report per line in CMCD text (`e=t,sid="…",cid="…",sn=2,sta=p,ts=…,v=2`) or as
 * JSON objects (a JSON array or NDJSON) with the same keys. `sid` / `cid` are the session and
 * content, `ts` the time (ms), `pt` the playhead (ms), `br` the bitrate; the player state `sta`
 * gives the event: `s` (starting) a start, `e` (ended), `f` (fatal error) and `q` (quit) a stop,
 * anything else (every event type `e`: time interval, play state, error, response received, …)
 * keeps the session alive. Custom keys (`<prefix>-account`, `<prefix>-token`, `<prefix>-device`)
 * carry the account, token and device when a player is set up to send them.
 * https://github.com/cta-wave/common-media-client-data
 */
import type { Cmcd, HeartbeatEvent } from '../../../core/schemas/generated.ts';
import { cmcdPairs, collectCmcd, emptyCmcd, parseCmcdObject } from '../../transforms/enrich/cmcd.ts';
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
/** A line of CMCD text (a v2 event-mode report): lower-case key first, then `=`, `,` or the end. */
const CMCD_LINE_RE = /^[a-z][a-z0-9.]*(?:-[a-z0-9.]+)*(?:=|,|$)/;

function cmcdLine(line: string): Record<string, unknown> | null {
  return CMCD_LINE_RE.test(line) ? cmcdPairs(line) : null;
}

export function parseHeartbeats(input: string, options: HeartbeatOptions = {}): ParseResult<ParsedHeartbeat> {
  const { items, errors } = jsonItems(input, { ...options, lineObject: cmcdLine });
  const records: ParsedHeartbeat[] = [];
  for (const { offset, line, value: o } of items) {
    const r = parseOne(o, offset, line);
    if ('code' in r) errors.push(r);
    else records.push(r);
  }
  errors.sort((a, b) => a.offset - b.offset);
  return { records, errors };
}

/** A CMCD v2 event-mode report: an event type `e` of CMCD's (not start / heartbeat / stop), or v2 keys only. */
function isCmcdReport(o: Record<string, unknown>): boolean {
  if (o.event !== undefined) return false;
  if (typeof o.e === 'string') return !EVENTS.has(o.e);
  return o.v === 2 && typeof o.sid === 'string' && (o.sta !== undefined || o.ts !== undefined);
}

/** The value of a CMCD custom key ending in one of `suffixes` (`com.example-account`), else undefined. */
function customKey(o: Record<string, unknown>, suffixes: readonly string[]): unknown {
  for (const [k, v] of Object.entries(o)) {
    const dash = k.lastIndexOf('-');
    if (dash > 0 && suffixes.includes(k.slice(dash + 1).toLowerCase())) return v;
  }
  return undefined;
}

/** CMCD player state (`sta`) -> heartbeat event. */
function stateEvent(sta: unknown): HeartbeatEvent {
  if (sta === 's') return 'start';
  if (sta === 'e' || sta === 'f' || sta === 'q') return 'stop';
  return 'heartbeat';
}

function parseCmcdReport(
  o: Record<string, unknown>,
  offset: number,
  line: string,
): ParsedHeartbeat | LineError {
  const fail = (reason: string, code: LineError['code']): LineError => ({ offset, line, code, reason });
  const ts = o.ts === undefined ? null : parseTimeMs(o.ts);
  if (ts === undefined) return fail('ts is not a time', 'ING_ERR_TIMESTAMP_INVALID');
  const cmcd = emptyCmcd();
  const set = parseCmcdObject(o, cmcd);
  const sessionId = cmcd.sid;
  const contentId = cmcd.cid;
  if (sessionId === null) return fail('CMCD report without sid', 'ING_ERR_FIELD_MISSING');
  if (contentId === null) return fail('CMCD report without cid', 'ING_ERR_FIELD_MISSING');
  const playhead = intOrNull(o.pt);
  const token = customKey(o, ['token']) ?? o.token;
  return {
    offset,
    line,
    event: stateEvent(o.sta),
    timestampMs: ts,
    accountId: id(first(o, 'accountId', 'account_id') ?? customKey(o, ['account', 'accountid'])),
    sessionId,
    deviceId:
      id(first(o, 'deviceId', 'device_id') ?? customKey(o, ['device', 'deviceid', 'did'])) ?? sessionId,
    contentId,
    token: typeof token === 'string' && token !== '' ? token : null,
    clientIp: text(first(o, 'clientIp', 'client_ip')),
    playheadMs: playhead === undefined ? null : playhead,
    bitrateKbps: cmcd.br,
    cmcd: set > 0 ? cmcd : null,
  };
}

function parseOne(o: Record<string, unknown>, offset: number, line: string): ParsedHeartbeat | LineError {
  if (isCmcdReport(o)) return parseCmcdReport(o, offset, line);
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
