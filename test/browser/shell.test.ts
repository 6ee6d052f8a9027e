import { describe, expect, it } from 'vitest';
import { hasChromium, useDashboard } from './harness.js';

describe.skipIf(!hasChromium)('dashboard shell in Chromium', () => {
  const d = useDashboard();

  it('serves the SPA at / under a strict CSP, assets cached immutable, index.html not cached', async () => {
    const res = await d.page.goto('/');
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toBe("default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
    expect(res?.headers()['cache-control']).toBe('no-cache');
    const script = await d.page.locator('script[type=module]').getAttribute('src');
    expect(script).toMatch(/^\/assets\/index-[\w-]+\.js$/);
    const asset = await d.page.request.get(script!);
    expect(asset.headers()['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(asset.headers()['content-type']).toMatch(/^text\/javascript/);
    await d.page.getByLabel('API user').waitFor();
    expect(await d.page.getByRole('button', { name: 'Sign in' }).isEnabled()).toBe(true);
  });
});
