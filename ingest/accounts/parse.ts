/**
 * Format: account plan changes from the subscriber backend. JSON (one object or an array), NDJSON,
 * or CSV with a header row (accountId,tenant,planId,streamLimit,perTitleLimit,concurrencyGroups,
 * updatedAtMs,deleted; concurrencyGroups as JSON). `{"accountId":"a1","deleted":true}` is a
 * deletion, produced as a tombstone on the compacted leechguard.accounts.v1. Pure; never throws.
 */
import { z } from 'zod';
import type { AccountPlan } from '../../core/schemas/generated.ts';
import { splitLines } from '../sources/fields.ts';
import { jsonItems } from '../sources/json-lines.ts';
import type { LineError } from '../sources/types.ts';

const groupSchema = z
  .object({
    groupId: z.string().min(1),
    limit: z.number().int().min(0),
    contentIdPatterns: z.array(z.string().min(1)).max(1000),
  })
  .strict();

const planInput = z
  .object({
    accountId: z.string().min(1).max(256),
    tenant: z.string().min(1).max(128).default('default'),
    planId: z.string().min(1).max(128),
    streamLimit: z.number().int().min(0).max(1000),
    perTitleLimit: z.number().int().min(1).max(1000).nullable().default(null),
    concurrencyGroups: z.array(groupSchema).max(100).default([]),
    updatedAtMs: z.number().int().min(0).optional(),
    deleted: z.literal(false).optional(),
  })
  .strict();

const deletion = z
  .object({ accountId: z.string().min(1).max(256), tenant: z.string().optional(), deleted: z.literal(true) })
  .strict();

export interface AccountChangeInput {
  offset: number;
  line: string;
  accountId: string;
  /** null: tombstone. */
  plan: AccountPlan | null;
}

/** Validates one decoded object. `nowMs` fills updatedAtMs when absent. */
export function toAccountChange(
  obj: unknown,
  offset: number,
  line: string,
  nowMs: number,
): AccountChangeInput | LineError {
  if (typeof obj === 'object' && obj !== null && (obj as { deleted?: unknown }).deleted === true) {
    const d = deletion.safeParse(obj);
    if (!d.success) return invalid(offset, line, d.error);
    return { offset, line, accountId: d.data.accountId, plan: null };
  }
  const p = planInput.safeParse(obj);
  if (!p.success) return invalid(offset, line, p.error);
  const { deleted: _d, updatedAtMs, ...rest } = p.data;
  return { offset, line, accountId: rest.accountId, plan: { ...rest, updatedAtMs: updatedAtMs ?? nowMs } };
}

function invalid(offset: number, line: string, error: z.ZodError): LineError {
  return {
    offset,
    line,
    code: 'ING_ERR_ACCOUNT_INVALID',
    reason: error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '),
  };
}

export interface AccountParseResult {
  changes: AccountChangeInput[];
  errors: LineError[];
}

/** JSON / NDJSON account changes. */
export function parseAccountsJson(text: string, nowMs: number): AccountParseResult {
  const { items, errors } = jsonItems(text);
  const changes: AccountChangeInput[] = [];
  for (const { offset, line, value } of items) {
    const r = toAccountChange(value, offset, line, nowMs);
    if ('code' in r) errors.push(r);
    else changes.push(r);
  }
  return { changes, errors };
}

/** Splits one CSV row (RFC 4180 quoting). */
export function csvRow(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/** CSV account changes; the first non-blank line is the header. */
export function parseAccountsCsv(text: string, nowMs: number): AccountParseResult {
  const { lines, errors } = splitLines(text);
  const changes: AccountChangeInput[] = [];
  const header = lines.shift();
  if (!header) return { changes, errors };
  const cols = csvRow(header.text).map((c) => c.trim());
  if (!cols.includes('accountId')) {
    errors.push({
      offset: header.offset,
      line: header.text,
      code: 'ING_ERR_ACCOUNT_INVALID',
      reason: 'CSV header lacks accountId',
    });
    return { changes, errors };
  }
  for (const { offset, text: line } of lines) {
    const cells = csvRow(line);
    if (cells.length !== cols.length) {
      errors.push({
        offset,
        line,
        code: 'ING_ERR_FIELD_COUNT',
        reason: `expected ${cols.length} columns, got ${cells.length}`,
      });
      continue;
    }
    const obj: Record<string, unknown> = {};
    let bad: string | null = null;
    cols.forEach((c, i) => {
      const v = (cells[i] ?? '').trim();
      if (v === '') return;
      if (c === 'streamLimit' || c === 'perTitleLimit' || c === 'updatedAtMs')
        obj[c] = /^-?\d+$/.test(v) ? Number(v) : v;
      else if (c === 'deleted') obj[c] = v === 'true' || v === '1';
      else if (c === 'concurrencyGroups') {
        try {
          obj[c] = JSON.parse(v);
        } catch {
          bad = 'concurrencyGroups is not JSON';
        }
      } else obj[c] = v;
    });
    if (obj.deleted === false) delete obj.deleted;
    if (bad) {
      errors.push({ offset, line, code: 'ING_ERR_ACCOUNT_INVALID', reason: bad });
      continue;
    }
    const r = toAccountChange(obj, offset, line, nowMs);
    if ('code' in r) errors.push(r);
    else changes.push(r);
  }
  return { changes, errors };
}
