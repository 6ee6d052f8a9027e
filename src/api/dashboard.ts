import { createReadStream, existsSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';

/**
 * The dashboard's policy: every script, style and image from this origin only (no inline script, no
 * eval), images also as data: URLs, and never inside another site's frame.
 */
export const DASHBOARD_CSP = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'";

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
};

/**
 * Where `vite build` puts the dashboard: `dist/web` at the package root, whether this file runs from
 * `src/api` (tests, tsx) or from `dist/src/api` (the built server).
 */
export function defaultDashboardDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const up2 = resolve(here, '../..');
  const root = basename(up2) === 'dist' ? resolve(up2, '..') : up2;
  return join(root, 'dist', 'web');
}

/**
 * The dashboard SPA at `/`: index.html (never cached: it names the current assets) and its hashed
 * assets under `/assets/` (cached for a year, immutable). Routing is by hash (`/#/callbacks`), so no
 * fallback route can shadow /v1, /docs or the other paths. Without a build, `/` says how to make one.
 */
export function dashboardRoutes(dir = defaultDashboardDir()): FastifyPluginAsync {
  return async (app) => {
    const hide = { hide: true };
    const index = join(dir, 'index.html');
    const assets = join(dir, 'assets');
    const secure = (reply: FastifyReply) =>
      reply.header('content-security-policy', DASHBOARD_CSP).header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer');

    app.get('/', { schema: hide }, async (_req, reply) => {
      secure(reply);
      if (!existsSync(index)) {
        return reply
          .code(503)
          .type('text/plain; charset=utf-8')
          .header('cache-control', 'no-cache')
          .send(`The dashboard is not built (${index} is missing): run \`npm run build\` (or \`npm start\`, which builds it).\nThe API is served at /v1, its reference at /docs.\n`);
      }
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(createReadStream(index));
    });

    app.get<{ Params: { file: string } }>('/assets/:file', { schema: hide }, async (req, reply) => {
      const name = req.params.file;
      // Vite writes flat, hashed names into assets/: anything else (a path, a dotfile) is not ours.
      const type = TYPES[extname(name)];
      const file = join(assets, name);
      if (!/^[\w.-]+$/.test(name) || name.startsWith('.') || !type || !isFile(file)) {
        return reply.code(404).send({ code: 'not_found', message: `no dashboard asset ${name}` });
      }
      secure(reply);
      return reply.type(type).header('cache-control', 'public, max-age=31536000, immutable').send(createReadStream(file));
    });
  };
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
