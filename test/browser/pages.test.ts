/**
 * The dashboard's Deliveries, Events, Alerts, Notices and Settings pages in Chromium, against a relay
 * on 127.0.0.1 and real receivers: what an operator does there reaches the API and the receivers.
 */
import { describe, expect, it } from 'vitest';
import type { ServerResponse } from 'node:http';
import { ADMIN, basic } from '../helpers/relay.js';
import { waitUntil } from '../helpers/e2e.js';
import { hasChromium, useDashboard } from './harness.js';

describe.skipIf(!hasChromium)('dashboard pages in Chromium', () => {
  const d = useDashboard();

  /** A standard-format callback of sms.delivered to `url`, with one attempt only (no retry) and a secret header. */
  const newCallback = async (title: string, url: string) => {
    const res = await d.t.api('POST', '/v1/callbacks', { title, url, events: ['sms.delivered'], retry_schedule: ['0s'], headers: { 'X-Api-Key': 'sk_live_never_shown' } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body as { id: string };
  };

  it('sends an event from Events, watches it delivered on Deliveries (live refresh) and opens the attempt: request as sent, secrets redacted, and the response', async () => {
    const { page } = d;
    const receiver = await d.newReceiver();
    // The receiver holds its answer until the page has shown the delivery under way.
    let answer!: () => void;
    const held = new Promise<void>((r) => (answer = r));
    receiver.behaviour = (_req, res: ServerResponse) => {
      void held.then(() => {
        res.writeHead(200, { 'content-type': 'application/json', 'x-receiver': 'test' });
        res.end('{"received":true}');
      });
    };
    const cb = await newCallback('Live deliveries', `${receiver.url}/hook`);
    await d.signIn();

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Events', exact: true }).click();
    const form = page.getByRole('form', { name: 'Send a test event' });
    await form.getByLabel('Event type').selectOption('sms.delivered');
    await form.getByLabel('Resource id').fill('msg-live-1');
    await form.getByLabel('Data (JSON)').fill('{"message_id": "msg-live-1", "to": "+15550100", "status": "delivered"}');
    await form.getByRole('button', { name: 'Send event' }).click();
    await form.getByText('Event sent:').waitFor();
    // The event sent is of the type picked (the form once reset it to the first type when its default
    // was filled in after the pick, on a busy machine: the receiver then got nothing).
    const eventId = await form.getByRole('status').getByRole('link').textContent();
    const sentEvent = await d.t.api('GET', `/v1/events/${eventId}`);
    expect(sentEvent.body, JSON.stringify(sentEvent.body)).toMatchObject({ type: 'sms.delivered', resource_id: 'msg-live-1' });
    // A ceiling for a machine busy with the whole suite (this file may run while every other worker
    // is still collecting); should it pass, say what became of the delivery.
    await receiver.waitForCount(1, 60_000).catch(async (err: unknown) => {
      const list = await d.t.api('GET', `/v1/deliveries?callback_id=${cb.id}`);
      throw new Error(`${(err as Error).message}; the callback's deliveries: ${JSON.stringify(list.body)}`);
    });
    // The event is listed with its delivery.
    await page.getByRole('table', { name: 'Events' }).getByRole('link', { name: 'sms.delivered' }).first().waitFor();
    await d.screenshot('events');

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Deliveries', exact: true }).click();
    const table = page.getByRole('table', { name: 'Deliveries' });
    await table.getByText('attempt under way').waitFor();
    expect(await page.getByLabel('Live refresh').isChecked()).toBe(true);
    answer();
    // No reload, no click: the page polls and shows the outcome.
    await table.getByText('delivered', { exact: true }).waitFor();
    expect(await table.getByRole('row').count()).toBe(2);
    // The callback is shown by its title.
    await table.getByRole('link', { name: 'Live deliveries' }).waitFor();

    await table.getByRole('link', { name: /^#\d+$/ }).click();
    await page.getByRole('heading', { level: 1, name: /^Delivery #\d+$/ }).waitFor();
    const attempt = page.getByRole('article', { name: 'Attempt 1' });
    await attempt.waitFor();
    const requestHeaders = await attempt.getByLabel('Request headers of attempt 1').textContent();
    expect(receiver.received[0]!.headers['webhook-signature']).toMatch(/^v1,/);
    expect(receiver.received[0]!.headers['x-api-key']).toBe('sk_live_never_shown');
    expect(requestHeaders).toContain('webhook-signature: [redacted]');
    expect(requestHeaders).toMatch(/^x-api-key: \[redacted\]$/im);
    expect(await page.content()).not.toContain('sk_live_never_shown');
    expect(await attempt.getByLabel('Request body of attempt 1').textContent()).toContain('msg-live-1');
    expect(await attempt.getByText(`POST ${receiver.url}/hook`).count()).toBe(1);
    expect(await attempt.getByText(/^Status \d+$/).textContent()).toContain('200');
    expect(await attempt.getByLabel('Response headers of attempt 1').textContent()).toContain('x-receiver: test');
    expect(await attempt.getByLabel('Response body of attempt 1').textContent()).toContain('"received": true');
    await d.screenshot('delivery');

    // The event's page lists the delivery.
    await page.getByRole('link', { name: 'sms.delivered' }).click();
    await page.getByRole('heading', { level: 1, name: 'Event sms.delivered' }).waitFor();
    await page.getByRole('table', { name: 'Deliveries of this event' }).getByRole('link', { name: 'Live deliveries' }).waitFor();
    expect(await page.getByText(cb.id).count()).toBeGreaterThan(0);
    expect(await page.getByLabel('Event data').textContent()).toContain('+15550100');
    await d.screenshot('event');
  }, 180_000);

  it('a delivery that failed (the receiver answered 500, one attempt) is retried from its page once the receiver is fixed, and Retry all failed retries every failed one the filters match after saying how many', async () => {
    const { page } = d;
    const receiver = await d.newReceiver();
    let status = 500;
    receiver.behaviour = (_req, res) => {
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status === 500 ? 'database down' : 'ok');
    };
    const cb = await newCallback('Fails first', receiver.url);
    const publish = async (id: string) => {
      const r = await d.t.api('POST', '/v1/events', { type: 'sms.delivered', resource_id: id, data: { message_id: id } });
      expect(r.status).toBe(202);
    };
    await publish('msg-fail-1');
    await receiver.waitForCount(1);
    await d.signIn();
    await page.goto(`/#/deliveries?state=failed&callback_id=${cb.id}`);
    const table = page.getByRole('table', { name: 'Deliveries' });
    // The callback filter from the address names its callback.
    await page.getByText('Showing callback “Fails first” only').waitFor();
    await table.getByRole('link', { name: /^#\d+$/ }).click();
    const attempt = page.getByRole('article', { name: 'Attempt 1' });
    await attempt.getByText('database down').waitFor();
    expect(await attempt.getByText(/^Status \d+$/).textContent()).toContain('500');
    expect(await page.getByRole('main').getByText('failed', { exact: true }).count()).toBeGreaterThan(0);

    status = 200;
    await page.getByRole('button', { name: 'Retry', exact: true }).click();
    await page.getByRole('article', { name: 'Attempt 2' }).getByText(/^Status \d+$/).waitFor();
    await page.getByRole('main').getByText('delivered', { exact: true }).first().waitFor();
    expect(receiver.received.length).toBe(2);

    // Two more fail; another callback's failed delivery is not retried by the filtered bulk retry.
    status = 500;
    const other = await d.newReceiver();
    other.behaviour = (_req, res) => ((res.statusCode = 500), res.end());
    await newCallback('Other failing', other.url);
    await publish('msg-fail-2');
    await publish('msg-fail-3');
    await receiver.waitForCount(4);
    await other.waitForCount(2);
    await page.goto(`/#/deliveries?state=failed&callback_id=${cb.id}`);
    await table.getByRole('row').nth(2).waitFor();
    status = 200;
    await page.getByRole('button', { name: 'Retry all failed' }).click();
    const dialog = page.getByRole('dialog', { name: 'Retry all failed' });
    expect(await dialog.textContent()).toContain('Retry 2 failed deliveries matching these filters?');
    await dialog.getByRole('button', { name: 'Retry 2' }).click();
    await page.getByText('2 failed deliveries are due again now.').waitFor();
    await receiver.waitForCount(6);
    await page.getByLabel('State').selectOption('delivered');
    await table.getByRole('row').nth(3).waitFor();
    const failedOther = await d.t.api('GET', '/v1/deliveries?state=failed');
    expect(failedOther.body.data.every((x: { callback_id: string }) => x.callback_id !== cb.id)).toBe(true);
    expect(failedOther.body.total).toBe(2);
    await page.goto('/#/deliveries');
    await table.getByRole('link', { name: 'Other failing' }).first().waitFor();
    await d.screenshot('deliveries');
  });

  it('sets an alert rule (kind, threshold, window, cooldown, targets) and deletes one', async () => {
    const { page } = d;
    await d.signIn();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Alerts', exact: true }).click();
    await page.getByRole('button', { name: 'New alert rule' }).click();
    await page.getByLabel('Kind').selectOption('low_verification_rate');
    await page.getByLabel('Alert below this verification rate (%)').fill('75');
    await page.getByLabel('Window (seconds)').fill('1800');
    await page.getByLabel('Fewest OTPs in the window').fill('20');
    await page.getByLabel('Cooldown (seconds)').fill('900');
    await page.getByLabel('Target 1 address').fill('ops@example.com');
    await page.getByRole('button', { name: 'Add target' }).click();
    await page.getByLabel('Target 2 channel').selectOption('telegram');
    await page.getByLabel('Target 2 address').fill('-1001234');
    await page.getByRole('button', { name: 'Save alert rule' }).click();
    await page.getByText('Alert rule saved: Low verification rate').waitFor();
    const rules = await d.t.api('GET', '/v1/alert-rules');
    expect(rules.body.data).toHaveLength(1);
    expect(rules.body.data[0]).toMatchObject({ kind: 'low_verification_rate', threshold: 75, window: 1800, min_sent: 20, cooldown: 900, emails: ['ops@example.com'], telegram_chat_ids: ['-1001234'], enabled: true });

    // Edit: the form opens with the rule's values; a change is saved with PATCH, the rest kept.
    await page.getByRole('button', { name: /^Edit Low verification rate rule/ }).click();
    expect(await page.getByLabel('Window (seconds)').inputValue()).toBe('1800');
    await page.getByLabel('Cooldown (seconds)').fill('1200');
    await page.getByRole('button', { name: 'Save alert rule' }).click();
    await page.getByText('Alert rule saved: Low verification rate').waitFor();
    expect((await d.t.api('GET', '/v1/alert-rules')).body.data[0]).toMatchObject({ cooldown: 1200, window: 1800, threshold: 75, telegram_chat_ids: ['-1001234'] });

    // A refused value is shown next to its field and nothing changes.
    await page.getByRole('button', { name: 'New alert rule' }).click();
    await page.getByLabel('Kind').selectOption('insufficient_balance');
    await page.getByLabel('Alert below this balance').fill('50');
    await page.getByLabel('Target 1 address').fill('not-an-address');
    await page.getByRole('button', { name: 'Save alert rule' }).click();
    await page.locator('[data-field=targets] .field-error').waitFor();
    expect((await d.t.api('GET', '/v1/alert-rules')).body.data).toHaveLength(1);
    await page.getByLabel('Target 1 address').fill('finance@example.com');
    await page.getByRole('button', { name: 'Save alert rule' }).click();
    await page.getByText('Alert rule saved: Insufficient balance').waitFor();
    await page.getByRole('table', { name: 'Alert rules' }).getByText('E-mail finance@example.com').waitFor();
    await d.screenshot('alerts');

    const balance = page.getByRole('row').filter({ hasText: 'Insufficient balance' });
    await balance.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog', { name: 'Delete' }).getByRole('button', { name: 'Delete rule' }).click();
    await balance.waitFor({ state: 'detached' });
    expect((await d.t.api('GET', '/v1/alert-rules')).body.data.map((r: { kind: string }) => r.kind)).toEqual(['low_verification_rate']);
  });

  it('sets the callback report schedule and the account notice targets on Settings', async () => {
    const { page } = d;
    await d.signIn();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings', exact: true }).click();
    await page.getByLabel('Report frequency').selectOption('weekly');
    await page.getByLabel('Report recipients').fill('reports@example.com, cto@example.com');
    await page.getByRole('button', { name: 'Save report schedule' }).click();
    await page.getByText('Report schedule saved: weekly.').waitFor();
    await page.getByText(/Next report: the period from \d{4}-\d\d-\d\d/).waitFor();
    const reports = await d.t.api('GET', '/v1/reports/settings');
    expect(reports.body).toMatchObject({ frequency: 'weekly', emails: ['reports@example.com', 'cto@example.com'] });
    expect(reports.body.next_period_start).not.toBeNull();

    await page.getByLabel('Admin e-mail').fill('admin@example.com');
    await page.getByRole('button', { name: 'Add target' }).click();
    await page.getByLabel('Target 1 channel').selectOption('telegram');
    await page.getByLabel('Target 1 address').fill('@relay_ops');
    const hook = await d.newReceiver();
    await page.getByRole('button', { name: 'Add target' }).click();
    await page.getByLabel('Target 2 channel').selectOption('webhook');
    await page.getByLabel('Target 2 address').fill(`${hook.url}/notices`);
    await page.getByRole('button', { name: 'Save account' }).click();
    await page.getByText('Account saved.').waitFor();
    const account = await d.t.api('GET', '/v1/account');
    expect(account.body).toMatchObject({ admin_email: 'admin@example.com', telegram_chat_ids: ['@relay_ops'] });
    expect(account.body.targets.map((t: { channel: string }) => t.channel)).toEqual(['telegram', 'webhook']);
    // The webhook target's signing secret: shown once on creation, then revealed on demand.
    const fresh = (await page.getByText(/^Signing secret of .* \(shown once\)/).textContent())!;
    const secret = fresh.match(/whsec_[A-Za-z0-9+/=]+/)![0];
    const webhookId = account.body.targets[1].id as string;
    expect((await d.t.api('GET', `/v1/notice-targets/${webhookId}/secret`)).body.secret).toBe(secret);
    // After a reload the page shows what is stored.
    await page.reload();
    await page.getByText(/Next report: the period from/).waitFor();
    await page.getByLabel('Target 1 address').waitFor();
    expect(await page.getByLabel('Report frequency').inputValue()).toBe('weekly');
    expect(await page.getByLabel('Target 1 address').inputValue()).toBe('@relay_ops');
    expect(await page.getByText('whsec_').count()).toBe(0);
    await page.getByRole('button', { name: `Reveal the signing secret of ${hook.url}/notices` }).click();
    await page.getByText(secret, { exact: true }).waitFor();
  });

  it('creates an api user (its key shown once, copied), which signs in; rotating and revoking it end its sessions', async () => {
    const { page } = d;
    await d.signIn();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings', exact: true }).click();
    await page.getByLabel('New api user name').fill('ops-bot');
    await page.getByRole('button', { name: 'Create api user' }).click();
    const key = (await page.getByLabel('New API key').textContent())!;
    expect(key.length).toBeGreaterThanOrEqual(20);
    await page.getByRole('button', { name: 'Copy key' }).click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    expect(await page.evaluate<string>('navigator.clipboard.readText()')).toBe(key);
    expect((await d.t.api('GET', '/v1/account', undefined, { auth: basic('ops-bot', key) })).status).toBe(200);
    await d.screenshot('settings');

    // ops-bot signs in in another browser context.
    const other = await page.context().browser()!.newContext({ baseURL: d.url });
    const botPage = await other.newPage();
    const signInAs = async (who: string, k: string) => {
      await botPage.goto('/#/settings');
      await botPage.getByLabel('API user').fill(who);
      await botPage.getByLabel('API key').fill(k);
      await botPage.getByRole('button', { name: 'Sign in' }).click();
      await botPage.getByRole('heading', { level: 1, name: 'Settings' }).waitFor();
    };
    await signInAs('ops-bot', key);

    const row = page.getByRole('row').filter({ hasText: 'ops-bot' });
    await row.getByRole('button', { name: 'Rotate key of ops-bot' }).click();
    await page.getByRole('dialog', { name: 'Rotate key of ops-bot' }).getByRole('button', { name: 'Rotate key' }).click();
    const rotated = (await page.getByLabel('New API key').textContent())!;
    expect(rotated).not.toBe(key);
    expect((await d.t.api('GET', '/v1/account', undefined, { auth: basic('ops-bot', key) })).status).toBe(401);
    await botPage.reload();
    await botPage.getByRole('button', { name: 'Sign in' }).waitFor();
    await signInAs('ops-bot', rotated);

    await row.getByRole('button', { name: 'Revoke ops-bot' }).click();
    await page.getByRole('dialog', { name: 'Revoke ops-bot' }).getByRole('button', { name: 'Revoke', exact: true }).click();
    await page.getByText('ops-bot is revoked: its key no longer works.').waitFor();
    await row.getByText('revoked').waitFor();
    expect((await d.t.api('GET', '/v1/account', undefined, { auth: basic('ops-bot', rotated) })).status).toBe(401);
    await botPage.getByRole('link', { name: 'Deliveries', exact: true }).click();
    await botPage.getByRole('button', { name: 'Sign in' }).waitFor();
    await other.close();
    // The signed-in user cannot revoke itself from here: no buttons on its own row.
    expect(await page.getByRole('row').filter({ hasText: ADMIN.user }).getByRole('button').count()).toBe(0);
  });

  it('Events: a malformed JSON data gets a clear error and sends nothing; the search keeps its filters in the address', async () => {
    const { page } = d;
    await d.signIn();
    await page.goto('/#/events');
    const form = page.getByRole('form', { name: 'Send a test event' });
    await form.getByLabel('Event type').selectOption('sms.delivered');
    const before = (await d.t.api('GET', '/v1/events?limit=1')).body.total as number;
    await form.getByLabel('Data (JSON)').fill('{"message_id": "x",}');
    await form.getByRole('button', { name: 'Send event' }).click();
    await form.getByText(/^Not valid JSON: /).waitFor();
    expect(await form.getByLabel('Data (JSON)').getAttribute('aria-invalid')).toBe('true');
    await form.getByLabel('Data (JSON)').fill('[1, 2]');
    await form.getByRole('button', { name: 'Send event' }).click();
    await form.getByText('Data must be a JSON object').waitFor();
    expect((await d.t.api('GET', '/v1/events?limit=1')).body.total).toBe(before);

    await d.t.api('POST', '/v1/events', { type: 'sms.sent', resource_id: 'msg-search-7', data: { message_id: 'msg-search-7' } });
    const search = page.getByRole('search', { name: 'Search events' });
    await search.getByLabel('Resource id').fill('msg-search-7');
    const table = page.getByRole('table', { name: 'Events' });
    await table.getByText('msg-search-7').waitFor();
    expect(await table.getByRole('row').count()).toBe(2);
    expect(page.url()).toContain('resource_id=msg-search-7');
    await page.reload();
    await table.getByText('msg-search-7').waitFor();
    expect(await search.getByLabel('Resource id').inputValue()).toBe('msg-search-7');
  });

  it('Notices: a failing callback\'s notice is in the log, found by kind and callback, its text opened', async () => {
    const { page } = d;
    const receiver = await d.newReceiver();
    receiver.behaviour = (_req, res) => ((res.statusCode = 503), res.end());
    const cb = await d.t.api('POST', '/v1/callbacks', { title: 'Noticed failure', url: receiver.url, events: ['sms.undelivered'], retry_schedule: ['0s'] });
    await d.t.api('POST', '/v1/events', { type: 'sms.undelivered', data: { message_id: 'msg-notice-1' } });
    await waitUntil(async () => (await d.t.api('GET', `/v1/notices?kind=failure&callback_id=${cb.body.id}`)).body.total > 0, { what: 'a failure notice' });
    await d.signIn();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Notices', exact: true }).click();
    await page.getByLabel('Kind').selectOption('failure');
    // The callback is picked by part of its title; the filter holds its id.
    await page.getByLabel('Callback', { exact: true }).fill('Noticed fail');
    const matching = page.getByRole('list', { name: 'Matching callbacks' });
    await matching.getByRole('button', { name: 'Noticed failure' }).waitFor();
    await d.screenshot('notices-callback-picker');
    await matching.getByRole('button', { name: 'Noticed failure' }).click();
    await page.waitForURL((u) => u.hash.includes('kind=failure') && u.hash.includes(`callback_id=${cb.body.id}`));
    expect(await page.getByLabel('Callback', { exact: true }).inputValue()).toBe(cb.body.id);
    await page.getByText('Showing callback “Noticed failure” only').waitFor();
    const table = page.getByRole('table', { name: 'Notices' });
    // One row per target the notice went to (other tests may have set the account's targets).
    const row = table.getByRole('row').filter({ hasText: 'Noticed failure' }).first();
    await row.getByRole('link', { name: 'Noticed failure' }).waitFor();
    await row.getByText(/is failing: HTTP 503/).click();
    expect(await row.locator('details pre').isVisible()).toBe(true);
    expect(await row.locator('details pre').textContent()).toContain(cb.body.id);
    await page.getByLabel('Kind').selectOption('report');
    await table.getByText('No notice sent yet.').waitFor();
    await page.getByLabel('Kind').selectOption('');
    await row.waitFor();
    await d.screenshot('notices');
  });

  it('every control on these pages (and the callbacks list and form) has a label and is reached by Tab, in order', async () => {
    const { page } = d;
    await d.signIn();
    // Callback links show the id until the title arrives: wait for the titles, so names hold still.
    const titled = () => expect.poll(() => page.locator('main a.mono[href^="#/callbacks/"]').count()).toBe(0);
    const pages: [string, () => Promise<void>][] = [
      ['/#/deliveries?live=off', async () => {
        await page.getByRole('table', { name: 'Deliveries' }).waitFor();
        await titled();
      }],
      ['/#/events', () => page.getByRole('table', { name: 'Events' }).waitFor()],
      ['/#/alerts', async () => {
        await page.getByRole('table', { name: 'Alert rules' }).waitFor();
        await page.getByRole('button', { name: 'New alert rule' }).click();
      }],
      ['/#/notices', async () => {
        await page.getByRole('table', { name: 'Notices' }).waitFor();
        await titled();
      }],
      ['/#/settings', () => page.getByRole('table', { name: 'API users' }).waitFor()],
      ['/#/callbacks', () => page.getByRole('table', { name: 'Callbacks' }).waitFor()],
      // Its "Timeout, retries, api user" section stays closed here: what it hides is not a Tab stop.
      ['/#/callbacks/new', () => page.getByLabel('Title').waitFor()],
      ['/#/callbacks/new?format=template', async () => {
        await page.getByLabel('Format').selectOption('template');
        await page.getByLabel('Body type').waitFor();
        // Open, its section's fields are Tab stops too.
        await page.getByText('Timeout, retries, api user').click();
        await page.getByLabel('Retry schedule').waitFor();
      }],
    ];
    for (const [path, ready] of pages) {
      await page.goto(path);
      await ready();
      const controls = await page.evaluate(`[...document.querySelectorAll('main input, main select, main textarea, main button, main a[href], main summary')]
        .filter((el) => !el.disabled && el.offsetParent !== null && el.checkVisibility())
        .map((el) => ({
          tag: el.tagName.toLowerCase(),
          name: (el.getAttribute('aria-label') || [...(el.labels ?? [])].map((l) => l.textContent).join(' ') || (['button', 'a', 'summary'].includes(el.tagName.toLowerCase()) ? el.textContent : '') || '').trim(),
        }))`) as { tag: string; name: string }[];
      expect(controls.length, path).toBeGreaterThan(1);
      expect(controls.filter((c) => c.name === ''), `unlabelled controls on ${path}`).toEqual([]);
      // Tab from the top of main visits every one of them, in document order (a date-time input
      // takes a Tab per part: consecutive stops on one control count once), then leaves main.
      await page.evaluate(`document.getElementById('main').focus()`);
      const reached: string[] = [];
      for (let i = 0; i < controls.length * 8; i++) {
        await page.keyboard.press('Tab');
        const at = await page.evaluate<{ inMain: boolean; name: string; el: number }>(`(() => {
          const el = document.activeElement;
          window.__ids ??= new Map();
          if (!window.__ids.has(el)) window.__ids.set(el, window.__ids.size);
          return { inMain: !!el.closest('main'), el: window.__ids.get(el), name: el.getAttribute('aria-label') || [...(el.labels ?? [])].map((l) => l.textContent).join(' ').trim() || el.textContent.trim() };
        })()`);
        if (!at.inMain) break;
        if (reached.at(-1) !== `${at.el}\u0000${at.name}`) reached.push(`${at.el}\u0000${at.name}`);
      }
      expect(reached.map((r) => r.split('\u0000')[1]), path).toEqual(controls.map((c) => c.name));
    }
  });
});
