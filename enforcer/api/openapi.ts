/**
 * The OpenAPI document of the enforcer process, served at GET /openapi.json. Register it before
 * any route plugin, so every route registered afterwards (ours and the edge's) is documented.
 */
import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';

export async function registerOpenApi(app: FastifyInstance): Promise<void> {
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
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
