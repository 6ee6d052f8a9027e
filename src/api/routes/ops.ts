import type { FastifyPluginAsync } from 'fastify';
import { sql } from 'kysely';
import type { AppDeps } from '../app.js';

export function opsRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (app) => {
    const hide = { hide: true };
    app.get('/healthz', { schema: { ...hide } }, async () => ({ status: 'ok' }));
    app.get('/readyz', { schema: { ...hide } }, async (_req, reply) => {
      try {
        await sql`select 1`.execute(deps.store.db);
        return { status: 'ready' };
      } catch {
        return reply.code(503).send({ code: 'storage_unavailable', message: 'the database does not answer' });
      }
    });
    app.get('/metrics', { schema: { ...hide } }, async (_req, reply) => {
      const text = await deps.metrics.registry.metrics();
      return reply.header('content-type', deps.metrics.registry.contentType).send(text);
    });
  };
}
