import { describe, expect, it } from 'vitest';
import { waitUntil } from '../helpers/e2e.js';
import { hasChromium, useDashboard } from './harness.js';

describe.skipIf(!hasChromium)('dashboard: callbacks in Chromium', () => {
  const d = useDashboard();

  it('creates a template profile with the variable picker, Tests it against a real receiver, Saves it and shows its id', async () => {
    const { page } = d;
    const receiver = await d.newReceiver();
    receiver.behaviour = (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    await d.signIn();
    await page.getByRole('link', { name: 'Callbacks', exact: true }).click();
    await page.getByRole('link', { name: 'New callback' }).click();
    await page.getByRole('heading', { name: 'New callback' }).waitFor();

    await page.getByLabel('Title', { exact: true }).fill('Orders DLR');
    await page.getByLabel('Format').selectOption('template');
    await page.getByLabel('URL', { exact: true }).fill(`${receiver.url}/dlr`);
    await page.getByLabel('HTTP method').selectOption('POST');
    await page.getByLabel('Channel').selectOption('sms');
    // The channel narrows the events to its own.
    const events = page.getByRole('group', { name: 'Events' });
    expect(await events.getByRole('checkbox', { name: 'email.open' }).count()).toBe(0);
    await events.getByRole('checkbox', { name: 'sms.delivered' }).check();
    await page.getByLabel('Body type').selectOption('json');
    await page.getByRole('button', { name: 'Add header' }).click();
    await page.getByLabel('Headers name 1').fill('X-Shop');
    await page.getByLabel('Headers value 1').fill('north');

    // Toggles reveal their fields: encryption, and the authentication type's own.
    expect(await page.getByLabel('Cipher').count()).toBe(0);
    await page.getByLabel('Use encryption').check();
    await page.getByLabel('Cipher').waitFor();
    expect(await page.getByLabel('Key encoding').count()).toBe(1);
    await page.getByLabel('Use encryption').uncheck();
    expect(await page.getByLabel('Cipher').count()).toBe(0);
    expect(await page.getByLabel('Username').count()).toBe(0);
    await page.getByLabel('Type', { exact: true }).selectOption('basic');
    expect(await page.getByLabel('Username').count()).toBe(1);
    expect(await page.getByLabel('Token', { exact: true }).count()).toBe(0);
    await page.getByLabel('Type', { exact: true }).selectOption('none');
    // GET carries no body: the body fields go away with it.
    await page.getByLabel('HTTP method').selectOption('GET');
    expect(await page.getByLabel('Body type').count()).toBe(0);
    await page.getByLabel('HTTP method').selectOption('POST');

    // The picker inserts at the cursor: type around the clicks.
    const body = page.getByLabel('Body', { exact: true });
    await body.fill('{"id": "", "to": ""}');
    await body.evaluate((el: any) => el.setSelectionRange(8, 8));
    await page.getByRole('button', { name: 'Insert {{message_id}}' }).click();
    await body.evaluate((el: any) => el.setSelectionRange(el.value.length - 2, el.value.length - 2));
    await page.getByRole('button', { name: 'Insert {{to}}' }).click();
    expect(await body.inputValue()).toBe('{"id": "{{message_id}}", "to": "{{to}}"}');
    await d.screenshot('callback-template-form');

    await page.getByRole('button', { name: 'Test', exact: true }).click();
    const result = page.getByRole('region', { name: 'Test result' });
    await result.waitFor();
    await receiver.waitForCount(1);
    const sent = JSON.parse(receiver.received[0]!.body);
    expect(Object.keys(sent)).toEqual(['id', 'to']);
    expect(receiver.received[0]!.path).toBe('/dlr');
    expect(receiver.received[0]!.headers['x-shop']).toBe('north');
    expect(await result.getByLabel('Request sent').textContent()).toContain(`"id": "${sent.id}"`);
    expect(await result.getByLabel('Response received').textContent()).toMatch(/^200\n[\s\S]*\n\nok$/);
    expect(await result.textContent()).toContain('success');
    await d.screenshot('callback-test-result');

    await page.getByRole('button', { name: 'Save' }).click();
    const saved = page.getByRole('status').filter({ hasText: 'Saved.' });
    await saved.waitFor();
    const id = (await saved.locator('code').textContent())!;
    expect(id).toMatch(/^cb_/);
    await saved.getByRole('button', { name: 'Copy id' }).click();
    expect(await page.evaluate<string>('navigator.clipboard.readText()')).toBe(id);
    const cb = await d.t.api('GET', `/v1/callbacks/${id}`);
    expect(cb.body).toMatchObject({ title: 'Orders DLR', format: 'template', method: 'POST', events: ['sms.delivered'], url: `${receiver.url}/dlr` });
    expect(cb.body.headers).toEqual({ 'X-Shop': 'north' });
    expect(cb.body.settings).toMatchObject({ channel: 'sms', body_type: 'json', body: '{"id": "{{message_id}}", "to": "{{to}}"}' });
  });

  it('shows a 422 next to the field it names, and saves nothing', async () => {
    const { page } = d;
    await d.signIn();
    await page.goto('/#/callbacks/new');
    await page.getByLabel('Title', { exact: true }).fill('x');
    await page.getByLabel('Format').selectOption('template'); // template titles: 3 to 200 characters
    await page.getByLabel('URL', { exact: true }).fill('http://127.0.0.1:9/x');
    const before = (await d.t.api('GET', '/v1/callbacks?limit=1')).body.total;
    await page.getByRole('button', { name: 'Save' }).click();
    const error = page.locator('[data-field="title"] .field-error');
    await error.waitFor();
    expect(await error.textContent()).toMatch(/3 to 200 characters/);
    expect(await page.getByLabel('Title', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    expect((await d.t.api('GET', '/v1/callbacks?limit=1')).body.total).toBe(before);
  });

  it('lists callbacks with filters, refreshes a status, disables and enables one', async () => {
    const { page } = d;
    const receiver = await d.newReceiver();
    for (const title of ['Billing hook', 'Marketing hook']) {
      const r = await d.t.api('POST', '/v1/callbacks', { title, url: `${receiver.url}/${title.split(' ')[0]}`, format: 'standard' });
      expect(r.status).toBe(201);
    }
    await d.signIn();
    await page.getByRole('link', { name: 'Callbacks', exact: true }).click();
    await page.getByLabel('Title', { exact: true }).fill('Billing');
    const rows = page.locator('tbody tr');
    await waitUntil(async () => (await rows.count()) === 1 && (await rows.first().textContent())!.includes('Billing hook'), { what: 'the title filter' });
    expect(page.url()).toContain('title=Billing');

    await page.getByRole('button', { name: 'Refresh status of Billing hook' }).click();
    await rows.first().getByText(/^checked /).waitFor();
    expect(await rows.first().locator('.badge').first().textContent()).toBe('available');
    expect(receiver.received.some((r) => r.path === '/Billing')).toBe(true);

    await page.getByRole('button', { name: 'Disable Billing hook' }).click();
    await page.getByRole('button', { name: 'Enable Billing hook' }).waitFor();
    const list = (await d.t.api('GET', '/v1/callbacks?title=Billing')).body;
    expect(list.data[0].enabled).toBe(false);
    await page.getByLabel('Title', { exact: true }).fill('');
    await waitUntil(async () => (await rows.count()) >= 2, { what: 'both hooks again' });
    await d.screenshot('callbacks-list');
    await page.getByRole('button', { name: 'Enable Billing hook' }).click();
    await page.getByRole('button', { name: 'Disable Billing hook' }).waitFor();
    expect((await d.t.api('GET', '/v1/callbacks?title=Billing')).body.data[0].enabled).toBe(true);

    await page.getByLabel('Enabled').selectOption('false');
    await waitUntil(async () => (await rows.first().textContent())!.includes('No callback matches'), { what: 'the enabled filter' });
  });

  it('callback detail: reveal the secret, Recover failed deliveries since a time, delete with confirmation', async () => {
    const { page } = d;
    const receiver = await d.newReceiver();
    receiver.behaviour = (_req, res) => res.writeHead(500).end('down');
    const created = await d.t.api('POST', '/v1/callbacks', { title: 'Recover me', url: `${receiver.url}/r`, format: 'standard', events: ['sms.sent'] });
    const id = created.body.id as string;
    const ev = await d.t.api('POST', '/v1/events', { type: 'sms.sent', data: { message_id: 'm-1' } });
    expect(ev.status).toBe(202);
    await waitUntil(async () => (await d.t.api('GET', `/v1/deliveries?callback_id=${id}`)).body.data[0]?.state === 'failed', { what: 'the delivery to fail' });
    receiver.behaviour = (_req, res) => res.end('ok');

    await d.signIn();
    await page.goto(`/#/callbacks/${id}`);
    await page.getByRole('heading', { level: 1, name: 'Recover me' }).waitFor();
    await page.getByRole('button', { name: 'Reveal secret' }).click();
    const secret = (await d.t.api('GET', `/v1/callbacks/${id}/secret`)).body.secret as string;
    await page.getByText(secret).waitFor();
    await page.locator('tbody').getByText('failed').waitFor();

    await page.getByLabel('Since (UTC)').fill(new Date(Date.now() - 3600_000).toISOString().slice(0, 16));
    await page.getByRole('button', { name: 'Recover' }).click();
    await page.getByText('Re-queued 1 delivery.').waitFor();
    await waitUntil(async () => (await d.t.api('GET', `/v1/deliveries?callback_id=${id}`)).body.data[0]?.state === 'delivered', { what: 'the recovered delivery' });
    await page.reload();
    await page.locator('tbody').getByText('delivered').waitFor();
    await d.screenshot('callback-detail');

    // Test after saving: a sample event to the saved callback, request and response shown.
    const before = receiver.received.length;
    await page.getByRole('button', { name: 'Test', exact: true }).click();
    const result = page.getByRole('region', { name: 'Test result' });
    await result.waitFor();
    expect(receiver.received.length).toBeGreaterThan(before);
    expect(await result.getByLabel('Request sent').textContent()).toMatch(/^POST http:\/\/127\.0\.0\.1:\d+\/r\n/);
    expect(await result.getByLabel('Response received').textContent()).toMatch(/^200\n/);

    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete callback' }).click();
    await page.getByRole('heading', { level: 1, name: 'Callbacks' }).waitFor();
    expect((await d.t.api('GET', `/v1/callbacks/${id}`)).status).toBe(404);
  });

  it('edits a template profile: changed fields are saved, write-only secrets left blank are kept', async () => {
    const { page } = d;
    const receiver = await d.newReceiver();
    const created = await d.t.api('POST', '/v1/callbacks', {
      title: 'Edit me',
      url: `${receiver.url}/e`,
      format: 'template',
      method: 'POST',
      channel: 'sms',
      events: ['sms.delivered'],
      body: '{"id":"{{message_id}}"}',
      auth: { type: 'basic', username: 'shop', password: 'pw-secret' },
      encryption: { scope: 'values', cipher: 'aes-256-gcm', key: Buffer.alloc(32, 7).toString('base64') },
      query: { to: '{{to}}' },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await d.signIn();
    await page.goto(`/#/callbacks/${id}`);
    await page.getByRole('link', { name: 'Edit' }).click();
    await page.getByRole('heading', { level: 1, name: 'Edit Edit me' }).waitFor();
    expect(await page.getByLabel('Body', { exact: true }).inputValue()).toBe('{"id":"{{message_id}}"}');
    expect(await page.getByLabel('Query parameters value 1').inputValue()).toBe('{{to}}');
    expect(await page.getByLabel('Password').inputValue()).toBe('');
    await page.getByLabel('Title', { exact: true }).fill('Edited title');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { level: 1, name: 'Edited title' }).waitFor();
    const cb = (await d.t.api('GET', `/v1/callbacks/${id}`)).body;
    expect(cb.title).toBe('Edited title');
    expect(cb.settings).toMatchObject({
      channel: 'sms',
      body: '{"id":"{{message_id}}"}',
      query: { to: '{{to}}' },
      auth: { type: 'basic', username: 'shop', password_set: true },
      encryption: { scope: 'values', cipher: 'aes-256-gcm', key_set: true },
    });
    expect(cb.events).toEqual(['sms.delivered']);
  });

  it('pages through callbacks 20 at a time and filters by format and creation time', async () => {
    const { page } = d;
    const tenant = await d.t.newTenant('pager');
    expect((await d.t.api('POST', '/v1/callbacks', { title: 'Page hook of the admin', url: 'http://127.0.0.1:9/admin', format: 'octopush' })).status).toBe(201);
    for (let i = 1; i <= 23; i++) {
      const r = await d.t.api('POST', '/v1/callbacks', { title: `Page hook ${String(i).padStart(2, '0')}`, url: `http://127.0.0.1:9/${i}`, format: i === 23 ? 'octopush' : 'standard' }, { auth: tenant.auth });
      expect(r.status).toBe(201);
    }
    await d.signIn({ user: tenant.apiUser, key: tenant.apiKey });
    await page.getByRole('link', { name: 'Callbacks', exact: true }).click();
    const pager = page.getByRole('navigation', { name: 'Pages' });
    await pager.getByText('1–20 of 23').waitFor();
    expect(await page.locator('tbody tr').count()).toBe(20);
    await pager.getByRole('button', { name: 'Next' }).click();
    await pager.getByText('21–23 of 23').waitFor();
    expect(await page.locator('tbody tr').count()).toBe(3);
    expect(await pager.getByRole('button', { name: 'Next' }).isDisabled()).toBe(true);

    await page.getByLabel('Format').selectOption('octopush');
    await waitUntil(async () => (await page.locator('tbody tr').count()) === 1 && (await page.locator('tbody tr').textContent())!.includes('Page hook 23'), { what: 'the format filter' });
    await page.getByLabel('Format').selectOption('');
    await page.getByLabel('Created from (UTC)').fill(new Date(Date.now() + 3600_000).toISOString().slice(0, 16));
    await waitUntil(async () => (await page.locator('tbody tr').count()) === 1 && (await page.locator('tbody tr').textContent())!.includes('No callback matches'), { what: 'the created-range filter' });
    await page.getByLabel('Created from (UTC)').fill('');
    await page.getByLabel('Title', { exact: true }).fill('Page hook');
    await pager.getByText('1–20 of 23').waitFor();
    // Another tenant's callbacks (the admin's) never show.
    expect(await page.getByText('Page hook of the admin').count()).toBe(0);
  });
});
