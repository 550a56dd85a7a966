/**
 * The OpenAPI document of the enforcer process, served at GET /openapi.json. Register it before
 * any route plugin, so every route registered afterwards (ours and the edge's) is documented.
 */
import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import type { RoleCheck } from '../../core/http.ts';

/** `access`: the service's ops-endpoint check (open, or a `monitor` / `operator` key when configured). */
export async function registerOpenApi(app: FastifyInstance, access: RoleCheck): Promise<void> {
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'leechguard enforcer',
        description:
          'Policies and rollout, review queue, revocations (Redis denylist + compacted topic), would-have counts.',
        version: '1',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  // Built once, on first request: the document does not change after the routes are registered.
  let document: string | undefined;
  app.get('/openapi.json', { schema: { hide: true }, onRequest: access }, async (_req, reply) => {
    document ??= JSON.stringify(app.swagger());
    return reply.type('application/json').send(document);
  });
}
