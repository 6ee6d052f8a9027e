/**
 * The dashboard's browser tests: Debian's Chromium driven by playwright-core, against a relay
 * listening on 127.0.0.1 (the real app, serving dist/web) and real receivers on 127.0.0.1.
 *
 * useDashboard() gives each test file one relay on a fresh SQLite database, one browser, and a fresh
 * page per test; every console error and page error fails the test that caused it. Without
 * /usr/bin/chromium (or CHROMIUM_PATH) the suite is skipped with a message; without a built dashboard
 * (dist/web) it fails and says to build.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { BACKENDS } from '../helpers/backends.js';
import { TestReceiver } from '../helpers/receiver.js';
import { ADMIN, startTestRelay, type TestRelay } from '../helpers/relay.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`No Chromium at ${CHROMIUM} (install Debian's chromium, or set CHROMIUM_PATH): the dashboard's browser tests are SKIPPED`);

export const DASHBOARD_DIR = resolve('dist/web');
/**
 * Where screenshots go: test-results/screenshots (not in git), so a test run changes no tracked
 * file; `npm run screenshots` writes the README's, in docs/screenshots.
 */
export const SCREENSHOTS = resolve(process.env.SCREENSHOT_DIR ?? 'test-results/screenshots');

export interface Dashboard {
  /** The relay in this process (t.api() calls the API as the admin, for setting up and checking). */
  t: TestRelay;
  /** http://127.0.0.1:<port> */
  url: string;
  /** This test's page (a fresh browser context: no cookies from other tests). */
  page: Page;
  /** A receiver on 127.0.0.1, closed after the file. */
  newReceiver(): Promise<TestReceiver>;
  /** Opens the dashboard and signs in as `user` (default: the test admin). */
  signIn(user?: { user: string; key: string }): Promise<void>;
  /** Saves a full-page screenshot as <SCREENSHOTS>/<name>.png (docs/screenshots with `npm run screenshots`: the README shows them). */
  screenshot(name: string): Promise<string>;
  /** Console and page errors seen so far in this test (each fails the test at its end). */
  errors: string[];
}

/** The frame of a browser test file; call inside describe.skipIf(!hasChromium). */
export function useDashboard(overrides: Parameters<typeof startTestRelay>[1] = {}): Dashboard {
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let drop: (() => Promise<void>) | undefined;
  const receivers: TestReceiver[] = [];
  const d = { errors: [] as string[] } as Dashboard & { errors: string[] };

  beforeAll(async () => {
    if (!existsSync(join(DASHBOARD_DIR, 'index.html'))) throw new Error(`${DASHBOARD_DIR}/index.html is missing: run \`npm run build\` first (npm test builds before running vitest)`);
    const db = await BACKENDS[0]!.create();
    drop = db.drop;
    d.t = await startTestRelay(db.url, overrides);
    d.url = await d.t.relay.app!.listen({ port: 0, host: '127.0.0.1' });
    // launch() gives Chromium a fresh temporary profile (--user-data-dir) of its own, removed on close.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  beforeEach(async () => {
    d.errors = [];
    context = await browser!.newContext({ viewport: { width: 1280, height: 860 }, baseURL: d.url });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: d.url });
    d.page = await context.newPage();
    d.page.on('console', (m) => {
      // Chromium logs every 4xx answer as "Failed to load resource"; the app expects some (the
      // session probe's 401 before sign-in, a 422 shown next to its field). 5xx and all else fail.
      if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) d.errors.push(`console: ${m.text()}`);
    });
    d.page.on('pageerror', (e) => d.errors.push(`page error: ${e.message}`));
    d.page.on('requestfailed', (r) => {
      // A navigation cancels what the page was fetching: not an error of the page.
      if (r.failure()?.errorText !== 'net::ERR_ABORTED') d.errors.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText ?? ''}`);
    });
  });

  afterEach(async () => {
    await context?.close();
    expect(d.errors, 'console errors on the page').toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    for (const r of receivers) await r.close();
    await d.t?.close();
    await drop?.();
  });

  d.newReceiver = async () => {
    const r = await new TestReceiver().start();
    receivers.push(r);
    return r;
  };
  d.signIn = async (who = ADMIN) => {
    const page = d.page;
    await page.goto('/');
    await page.getByLabel('API user').fill(who.user);
    await page.getByLabel('API key').fill(who.key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  };
  d.screenshot = async (name) => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    const path = join(SCREENSHOTS, `${name}.png`);
    await d.page.screenshot({ path, fullPage: true });
    return path;
  };
  return d;
}
