import type { FastifyPluginAsync } from 'fastify';
import { pingDatabase } from '../../store/db.js';
import type { AppDeps } from '../app.js';

/** Health, readiness and metrics (the dashboard at `/` is api/dashboard.ts). */
export function opsRoutes(deps: Pick<AppDeps, 'store' | 'metrics'>): FastifyPluginAsync {
  return async (app) => {
    const hide = { hide: true };
    app.get('/healthz', { schema: { ...hide } }, async () => ({ status: 'ok' }));
    app.get('/readyz', { schema: { ...hide } }, async (_req, reply) => {
      // A full disk still answers reads: say what the last writes met.
      const disk = deps.store.diskFailure();
      if (disk) {
        return reply.code(503).send({ code: 'storage_unavailable', message: `${disk.message}: writes failed, the last at ${new Date(disk.at).toISOString()}` });
      }
      try {
        await pingDatabase(deps.store.db);
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
