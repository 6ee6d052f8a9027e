import { describe, expect, it } from 'vitest';
import { ADMIN } from '../helpers/relay.js';
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

  it('signs in with an api user and key (kept nowhere in the browser), shows every page in the navigation, signs out', async () => {
    const { page } = d;
    await page.goto('/');
    await page.getByLabel('API user').fill('admin');
    await page.getByLabel('API key').fill('wrong-key-0123456789');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('The api user or key is wrong.').waitFor();
    await d.screenshot('sign-in');

    await d.signIn();
    const cookies = await page.context().cookies();
    expect(cookies.map((c) => [c.name, c.httpOnly, c.sameSite])).toEqual([['relay_session', true, 'Strict']]);
    const stored = await page.evaluate<string>('JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie');
    expect(stored).not.toContain(ADMIN.key);
    expect(stored).toBe('{}{}');

    for (const name of ['Overview', 'Callbacks', 'Deliveries', 'Events', 'Alerts', 'Notices', 'Settings']) {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();
      await page.getByRole('heading', { level: 1, name }).waitFor();
      expect(await page.getByRole('link', { name, exact: true }).getAttribute('aria-current')).toBe('page');
    }
    // A reload keeps the session (the cookie), and the page.
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Settings' }).waitFor();

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(await page.context().cookies()).toEqual([]);
    // The ended session is refused by the API too.
    await page.reload();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
  });

  it('a 401 (the session ended elsewhere) returns to sign-in', async () => {
    const { page } = d;
    await d.signIn();
    await page.context().clearCookies();
    // In-app navigation to another page, whose API call gets the 401. Not a click on the menu: the
    // Overview's own requests, still under way after sign-in, may meet the 401 first and take the
    // menu away (sign-in then shows all the same).
    await page.evaluate("window.location.hash = '#/callbacks'");
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
  });

  it('every control of the sign-in form is reachable by keyboard', async () => {
    const { page } = d;
    await page.goto('/');
    await page.getByLabel('API user').waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string | null>("document.activeElement?.getAttribute('name')")).toBe('api_user');
    await page.keyboard.type(ADMIN.user);
    await page.keyboard.press('Tab');
    await page.keyboard.type(ADMIN.key);
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  });
});
