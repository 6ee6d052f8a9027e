import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { DASHBOARD_CSP, dashboardRoutes, defaultDashboardDir } from '../../src/api/dashboard.js';

const CSP = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'";

describe('the dashboard route', () => {
  const dir = mkdtempSync(join(tmpdir(), 'relay-web-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('without a build, / says how to build it', async () => {
    const app = Fastify();
    await app.register(dashboardRoutes(join(dir, 'missing')));
    const res = await app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain('npm run build');
    expect(res.headers['content-security-policy']).toBe(CSP);
  });

  it('serves index.html uncached and hashed assets immutable, each under the CSP; nothing outside assets/', async () => {
    mkdirSync(join(dir, 'web/assets'), { recursive: true });
    writeFileSync(join(dir, 'web/index.html'), '<!doctype html><div id="app"></div>');
    writeFileSync(join(dir, 'web/assets/index-abc123.js'), 'console.log(1)');
    writeFileSync(join(dir, 'web/secret.txt'), 'TOP-SECRET');
    const app = Fastify();
    await app.register(dashboardRoutes(join(dir, 'web')));
    expect(DASHBOARD_CSP).toBe(CSP);

    const index = await app.inject({ method: 'GET', url: '/' });
    expect(index.statusCode).toBe(200);
    expect(index.headers['content-type']).toMatch(/^text\/html/);
    expect(index.headers['cache-control']).toBe('no-cache');
    expect(index.headers['content-security-policy']).toBe(CSP);

    const js = await app.inject({ method: 'GET', url: '/assets/index-abc123.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toMatch(/^text\/javascript/);
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(js.headers['content-security-policy']).toBe(CSP);

    for (const url of ['/assets/..%2Fsecret.txt', '/assets/../secret.txt', '/assets/.hidden.js', '/assets/missing.js', '/assets/index-abc123.txt']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
      expect(res.body).not.toContain('TOP-SECRET');
    }
  });

  it('the built bundle holds at most 300 KB of JavaScript, gzipped (issue 18)', () => {
    const assets = join(defaultDashboardDir(), 'assets');
    expect(existsSync(assets), `${assets} is missing: run \`npm run build\``).toBe(true);
    const js = readdirSync(assets).filter((f) => f.endsWith('.js'));
    expect(js.length).toBeGreaterThan(0);
    const gzipped = js.reduce((sum, f) => sum + gzipSync(readFileSync(join(assets, f)), { level: 9 }).length, 0);
    expect(gzipped).toBeLessThanOrEqual(300 * 1024);
  });
});
