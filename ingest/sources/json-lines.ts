/**
 * JSON lines as input: NDJSON (one object per line) or one JSON array of objects. Each element
 * keeps a line-like offset so per-line errors and dead letters point at it. A line may carry a
 * syslog header before its JSON object, as syslog endpoints and many shippers deliver JSON logs:
 * RFC 3164 (`<134>Feb  9 13:52:42 host name[pid]: {…}`, also with an ISO time as Fastly writes it)
 * or RFC 5424 (`<134>1 2026-02-09T13:52:42Z host app pid msgid - {…}`), with or without `<PRI>`.
 * https://www.rfc-editor.org/rfc/rfc3164 https://www.rfc-editor.org/rfc/rfc5424
 */
import { LIMITS } from '../../core/limits.ts';
import { splitLines } from './fields.ts';
import type { LineError } from './types.ts';

export interface JsonItem {
  offset: number;
  line: string;
  value: Record<string, unknown>;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Splits text into JSON objects; a leading `[` means one array. Never throws. */
export function jsonItems(
  text: string,
  options: {
    lineBytesMax?: number;
    /** Reads a line that is not a JSON object in another syntax; null: not that syntax either. */
    lineObject?: (line: string) => Record<string, unknown> | null;
  } = {},
): { items: JsonItem[]; errors: LineError[] } {
  const max = options.lineBytesMax ?? LIMITS.ingestLineBytesMax;
  const trimmed = text.trimStart();
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (err) {
      return {
        items: [],
        errors: [
          {
            offset: 0,
            line: trimmed.slice(0, 1024),
            code: 'ING_ERR_JSON_INVALID',
            reason: (err as Error).message,
          },
        ],
      };
    }
    const items: JsonItem[] = [];
    const errors: LineError[] = [];
    // Each element is a line: the same size limit applies to it as to an NDJSON line.
    (parsed as unknown[]).forEach((value, offset) => {
      const line = JSON.stringify(value) ?? 'undefined';
      if (line.length > max || (line.length * 3 > max && Buffer.byteLength(line) > max)) {
        errors.push({
          offset,
          line: line.slice(0, max),
          code: 'ING_ERR_LINE_TOO_LONG',
          reason: `array element is ${Buffer.byteLength(line)} bytes, limit ${max}`,
        });
      } else if (isObject(value)) items.push({ offset, line, value });
      else
        errors.push({ offset, line, code: 'ING_ERR_JSON_INVALID', reason: 'array element is not an object' });
    });
    return { items, errors };
  }
  const { lines, errors } = splitLines(text, options);
  const items: JsonItem[] = [];
  for (const { offset, text: line } of lines) {
    let value: unknown;
    if (options.lineObject && line.charCodeAt(0) !== 123 /* { */) {
      const other = options.lineObject(line);
      if (other !== null) {
        items.push({ offset, line, value: other });
        continue;
      }
    }
    try {
      value = JSON.parse(line.charCodeAt(0) === 123 /* { */ ? line : line.slice(syslogPayloadStart(line)));
    } catch (err) {
      errors.push({ offset, line, code: 'ING_ERR_JSON_INVALID', reason: (err as Error).message });
      continue;
    }
    if (isObject(value)) items.push({ offset, line, value });
    else errors.push({ offset, line, code: 'ING_ERR_JSON_INVALID', reason: 'line is not a JSON object' });
  }
  return { items, errors };
}

/** Reads a dotted path (`geo.country`) from an object. */
export function pick(obj: Record<string, unknown>, path: string): unknown {
  if (path.indexOf('.') === -1) return obj[path];
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (!isObject(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

/** A scalar as text (numbers and booleans too), else null. */
export function text(v: unknown): string | null {
  if (typeof v === 'string') return v === '' || v === '-' ? null : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return null;
}

/** `<PRI>` then a time (`1 2026-…` in RFC 5424, `2026-…` or `Feb  9 …` in RFC 3164), or a time alone. */
const SYSLOG_HEAD_RE = /^(?:<\d{1,3}>(?:\d{1,2} )?)?(?:\d{4}-\d{2}-\d{2}[T ]|[A-Z][a-z]{2} [ \d]\d \d{2}:)/;

/**
 * Where the JSON object of a syslog-framed line starts (the first `{` after a header that reads
 * as syslog, preceded by a space), else 0: the line is parsed as it is and fails as JSON if it is not.
 */
export function syslogPayloadStart(line: string): number {
  if (!SYSLOG_HEAD_RE.test(line)) return 0;
  const at = line.indexOf('{');
  return at > 0 && at <= LIMITS.ingestSyslogHeaderCharsMax && line.charCodeAt(at - 1) === 32 ? at : 0;
}
