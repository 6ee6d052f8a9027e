import { describe, expect, it } from 'vitest';
import { waitUntil } from '../helpers/e2e.js';
import { hasChromium, useDashboard } from './harness.js';

describe.skipIf(!hasChromium)('dashboard: overview in Chromium', () => {
  const d = useDashboard();

  it("shows the queue, the last 24 hours, each callback's counts and its charts", async () => {
    const { page } = d;
    const receiver = await d.newReceiver();
    // Events whose data says fail are refused: those deliveries fail after their 3 attempts.
    receiver.behaviour = (req, res) => res.writeHead(req.body.includes('"fail"') ? 500 : 200).end();
    const cb = await d.t.api('POST', '/v1/callbacks', { title: 'Shop orders', url: `${receiver.url}/orders`, format: 'standard', events: ['sms.delivered'] });
    const id = cb.body.id as string;
    for (const result of ['ok', 'ok', 'ok', 'fail']) expect((await d.t.api('POST', '/v1/events', { type: 'sms.delivered', data: { result } })).status).toBe(202);
    await waitUntil(
      async () => {
        const states = (await d.t.api('GET', `/v1/deliveries?callback_id=${id}`)).body.data.map((x: { state: string }) => x.state).sort();
        return states.join() === 'delivered,delivered,delivered,failed';
      },
      { what: '3 delivered and 1 failed' },
    );

    await d.signIn();
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    const stat = (label: string) => page.locator('.stat', { hasText: label }).locator('.value').textContent();
    expect(await stat('Delivered, 24 h')).toBe('3');
    expect(await stat('Failed, 24 h')).toBe('1');
    expect(await stat('Success rate, 24 h')).toBe('75.0 %');
    const row = page.locator('tbody tr', { hasText: 'Shop orders' });
    expect((await row.locator('td.num').allTextContents()).slice(0, 3)).toEqual(['3', '1', '75.0 %']);

    // uPlot draws both charts of the busiest callback into canvases.
    await page.getByRole('img', { name: 'Delivered and failed deliveries of Shop orders' }).locator('canvas').waitFor();
    await page.getByRole('img', { name: 'Success rate and mean latency of Shop orders' }).locator('canvas').waitFor();
    expect(await page.locator('.totals').textContent()).toMatch(/3 delivered · 1 failed · 0 pending · 0 held · success 75\.0 %/);
    await d.screenshot('overview');

    await page.getByLabel('Window').selectOption('7d');
    await page.getByRole('heading', { name: 'Deliveries per 6 hours' }).waitFor();
    expect(page.url()).toContain('window=7d');
  });
});
