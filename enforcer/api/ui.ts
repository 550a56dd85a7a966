/** The analyst page: one static HTML file under /ui/ that calls the API with the analyst's key. */
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';

const PAGE = readFileSync(new URL('../ui/index.html', import.meta.url), 'utf8');

export function registerUi(app: FastifyInstance): void {
  app.get('/ui', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/ui/'));
  app.get('/ui/', { schema: { hide: true } }, async (_req, reply) =>
    reply
      .header('content-type', 'text/html; charset=utf-8')
      .header(
        'content-security-policy',
        "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'",
      )
      .send(PAGE),
  );
}
