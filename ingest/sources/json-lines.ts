/**
 * JSON lines as input: NDJSON (one object per line) or one JSON array of objects. Each element
 * keeps a line-like offset so per-line errors and dead letters point at it.
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
  options: { lineBytesMax?: number } = {},
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
    try {
      value = JSON.parse(line);
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
