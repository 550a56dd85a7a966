/**
 * Random valid and invalid HTTP requests against a real service: whatever the method, path,
 * query, key, content type, encoding and body, the answer is a 2xx, or a 4xx whose JSON body
 * names a code of core/errors.ts; never a 5xx, a reset connection or a dead process.
 */
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { ERRORS } from '../../core/errors.ts';

export interface HttpTarget {
  url: string;
  /** Routes the service serves as `METHOD /path` (`:x` segments get random values); random ones are sent too. */
  routes: readonly string[];
  /** Valid bearer keys (any role); invalid and missing keys are generated too. */
  keys: readonly string[];
  /** Field names worth generating in JSON bodies and queries. */
  fields: readonly string[];
}

export interface HttpCase {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
}

export function httpCase(target: HttpTarget): fc.Arbitrary<HttpCase> {
  const segment = fc.oneof(
    fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/),
    fc.constantFrom('..', '%00', '%2F', 'x'.repeat(300), 'ndjson', 'heartbeat', 'nope'),
  );
  const fill = (p: string, segs: string[]) => {
    let i = 0;
    return p.replace(/:[a-z]+/gi, () => encodeURIComponent(segs[i++] ?? 'x'));
  };
  const segs = fc.array(segment, { minLength: 4, maxLength: 4 });
  const methods = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH');
  const split = (r: string) => r.split(' ') as [string, string];
  const route = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.tuple(fc.constantFrom(...target.routes), segs).map(([r, s]) => {
        const [m, p] = split(r);
        return [m, fill(p, s)] as const;
      }),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(methods, fc.constantFrom(...target.routes), segs)
        .map(([m, r, s]) => [m, fill(split(r)[1], s)] as const),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(methods, fc.array(segment, { maxLength: 5 }))
        .map(([m, s]) => [m, `/${s.join('/')}`] as const),
    },
  );
  const value = fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.integer().map(String),
    fc.constantFrom('-1', '0', '1e9', 'true', 'active', 'lifted', 'default'),
  );
  const query = fc
    .array(fc.tuple(fc.oneof(fc.constantFrom(...target.fields), fc.string({ maxLength: 10 })), value), {
      maxLength: 4,
    })
    .map((kv) =>
      kv.length === 0
        ? ''
        : `?${kv.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`,
    );
  const json = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.dictionary(fc.constantFrom(...target.fields), fc.oneof(fc.jsonValue({ maxDepth: 2 }), value), {
      maxKeys: 8,
    }),
  );
  const body = fc.oneof(
    fc.constant(undefined),
    json.map((j) => Buffer.from(JSON.stringify(j))),
    fc.string({ maxLength: 500 }).map((s) => Buffer.from(s)),
    fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
    fc.array(json, { maxLength: 5 }).map((ls) => Buffer.from(ls.map((l) => JSON.stringify(l)).join('\n'))),
  );
  return fc
    .record({
      route,
      query,
      auth: fc.oneof(
        fc.constantFrom(...target.keys).map((k) => `Bearer ${k}`),
        fc.constantFrom(undefined, 'Bearer', 'Bearer wrong-key-0123456789', 'Basic dXNlcjpwYXNz'),
        fc.string({ maxLength: 40 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
      ),
      contentType: fc.constantFrom(
        undefined,
        'application/json',
        'text/plain',
        'application/x-ndjson',
        'application/octet-stream',
        'multipart/form-data',
      ),
      gzip: fc.constantFrom('none', 'valid', 'claimed'),
      body,
    })
    .map((c) => {
      const headers: Record<string, string> = {};
      if (c.auth) headers.authorization = c.auth;
      const [method, path] = c.route;
      let bytes = method === 'GET' ? undefined : c.body;
      if (bytes && c.contentType) headers['content-type'] = c.contentType;
      if (bytes && c.gzip !== 'none') {
        headers['content-encoding'] = 'gzip';
        if (c.gzip === 'valid') bytes = gzipSync(bytes);
      }
      return { method, path: path + c.query, headers, body: bytes };
    });
}

/** Sends one case; asserts a 2xx, or a 4xx naming a known error code. */
export async function checkHttpCase(url: string, c: HttpCase): Promise<number> {
  const res = await fetch(`${url}${c.path}`, {
    method: c.method,
    headers: c.headers,
    ...(c.body ? { body: c.body } : {}),
  });
  const text = await res.text();
  assert.ok(res.status < 500, `${c.method} ${c.path} answered ${res.status}: ${text.slice(0, 300)}`);
  if (res.status >= 400) {
    let code: unknown;
    try {
      code = (JSON.parse(text) as { code?: unknown }).code;
    } catch {}
    assert.ok(
      typeof code === 'string' && code in ERRORS,
      `${res.status} without a known code: ${text.slice(0, 200)}`,
    );
  }
  return res.status;
}

export function httpProperty(
  target: HttpTarget,
  statuses?: Map<number, number>,
): fc.IAsyncPropertyWithHooks<[HttpCase]> {
  return fc.asyncProperty(httpCase(target), async (c) => {
    const status = await checkHttpCase(target.url, c);
    statuses?.set(status, (statuses.get(status) ?? 0) + 1);
  });
}
