/**
 * The analyst console under /ui/: the page, script and stylesheet built by `npm run build:ui`
 * (enforcer/ui/dist), served with a strict CSP: scripts and styles from this origin only (no
 * inline script), no framing, nothing fetched from anywhere else.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { LeechguardError } from '../../core/errors.ts';

const DIST = new URL('../ui/dist/', import.meta.url);

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
  'app.js.map': 'application/json',
  'app.css.map': 'application/json',
  'app.js.LEGAL.txt': 'text/plain; charset=utf-8',
  'app.css.LEGAL.txt': 'text/plain; charset=utf-8',
};

function load(): Map<string, Buffer> | undefined {
  try {
    const out = new Map<string, Buffer>();
    for (const name of Object.keys(FILES)) {
      try {
        out.set(name, readFileSync(new URL(name, DIST)));
      } catch (err) {
        if (name === 'index.html' || name === 'app.js') throw err;
      }
    }
    return out;
  } catch {
    return undefined;
  }
}

function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-cache');
}

export function registerUi(app: FastifyInstance): void {
  // Read once at boot; a missing build is reported on each request, not a boot failure.
  const files = load();
  const send = (name: string, reply: FastifyReply) => {
    const body = files?.get(name);
    if (!body) {
      throw new LeechguardError('LG_ERR_NOT_FOUND', `console not built: run npm run build:ui (${name})`);
    }
    return secure(reply).header('content-type', FILES[name]!).send(body);
  };
  app.get('/ui', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/ui/'));
  app.get('/ui/', { schema: { hide: true } }, async (_req, reply) => send('index.html', reply));
  app.get<{ Params: { file: string } }>('/ui/:file', { schema: { hide: true } }, async (req, reply) => {
    if (!Object.hasOwn(FILES, req.params.file) || req.params.file === 'index.html') {
      throw new LeechguardError('LG_ERR_NOT_FOUND', req.params.file);
    }
    return send(req.params.file, reply);
  });
}
