import { afterAll, beforeAll, describe, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { TestReceiver } from '../helpers/receiver.js';
import { FakeTelegram, TestSmtpServer } from '../helpers/mail.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { createCallback, postEvent, sleep, waitForDelivery, waitUntil } from '../helpers/e2e.js';
import { FakeClock } from '../../src/lib/clock.js';

/** Business alerts (insufficient balance, low verification rate, authentication timeout) and callback reports. */
for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`alerts and reports on ${backend.name}`, { concurrent: true }, () => {
    let smtp: TestSmtpServer;
    let telegram: FakeTelegram;
    const relays: TestRelay[] = [];
    const receivers: TestReceiver[] = [];
    const drops: (() => Promise<void>)[] = [];
    const start = async (clock: FakeClock, overrides: Parameters<typeof startTestRelay>[1] = {}, url?: string) => {
      if (!url) {
        const db = await backend.create();
        drops.push(db.drop);
        url = db.url;
      }
      const t = await startTestRelay(url, { circuitFailures: 0, ...overrides, env: { RELAY_SMTP_URL: smtp.url, RELAY_TELEGRAM_API: telegram.url } }, { clock });
      relays.push(t);
      return { t, url };
    };
    beforeAll(async () => {
      smtp = await new TestSmtpServer().start();
      telegram = await new FakeTelegram().start();
    });
    afterAll(async () => {
      for (const r of receivers) await r.close();
      for (const t of relays) await t.close().catch(() => {});
      await smtp.close();
      await telegram.close();
      for (const d of drops) await d();
    });

    it('insufficient balance: e-mail, Telegram and an alert event, then quiet for the cool-down', async ({ expect }) => {
      const clock = new FakeClock();
      const { t } = await start(clock);
      const to = `balance-${backend.name}@example.com`;
      await t.api('PATCH', '/v1/account', { telegram_bot_token: '555:balance-bot-token-xyz', telegram_chat_ids: ['9001'] });
      const receiver = await new TestReceiver().start();
      receivers.push(receiver);
      await createCallback(t, { title: 'alerts', url: receiver.url, events: ['alert.insufficient_balance'] });
      const rule = await t.api('POST', '/v1/alert-rules', { kind: 'insufficient_balance', threshold: 100, cooldown: 600, emails: [to] });
      expect(rule.status).toBe(201);
      expect(rule.body).toMatchObject({ kind: 'insufficient_balance', threshold: 100, cooldown: 600, emit_event: true, enabled: true });

      await postEvent(t, { type: 'system.api_call', data: { remain_balance: 250 } });
      await sleep(300);
      expect(smtp.to(to)).toHaveLength(0);
      await postEvent(t, { type: 'system.api_call', data: { notification: { notification_data: { remain_balance: '42.5', business_id: 'b-7' } } } });
      await waitUntil(() => smtp.to(to).length === 1, { what: 'the balance alert' });
      expect(smtp.to(to)[0]!.subject).toContain('insufficient balance');
      expect(smtp.to(to)[0]!.text).toContain('The balance is 42.5, below the threshold of 100.');
      await waitUntil(() => telegram.calls.some((c) => c.chat_id === '9001' && c.text.includes('42.5')), { what: 'the Telegram alert' });
      await receiver.waitForCount(1);
      const body = JSON.parse(receiver.received[0]!.body) as { type: string; data: Record<string, unknown> };
      expect(body.type).toBe('alert.insufficient_balance');
      expect(body.data).toMatchObject({ remain_balance: 42.5, balance_threshold: 100, business_id: 'b-7', rule_id: rule.body.id });

      // Within the cool-down: nothing; after it: again.
      await postEvent(t, { type: 'system.api_call', data: { balance: 10 } });
      await sleep(300);
      expect(smtp.to(to)).toHaveLength(1);
      clock.advance(601_000);
      await postEvent(t, { type: 'system.api_call', data: { balance: 10 } });
      await waitUntil(() => smtp.to(to).length === 2, { what: 'the alert after the cool-down' });
      await receiver.waitForCount(2);
      expect(receiver.received.map((r) => (JSON.parse(r.body) as { type: string }).type)).toEqual(['alert.insufficient_balance', 'alert.insufficient_balance']);
    });

    it('low verification rate over the window, and authentication timeouts found by the periodic check', async ({ expect }) => {
      const clock = new FakeClock();
      // The test runs the periodic check itself: a scheduler's tick after the clock moves would race it.
      const { t } = await start(clock, { roles: ['api', 'worker'] });
      const to = `otp-${backend.name}@example.com`;
      await t.api('POST', '/v1/alert-rules', { kind: 'low_verification_rate', threshold: 50, window: 3600, min_sent: 4, emails: [to] });
      await t.api('POST', '/v1/alert-rules', { kind: 'authentication_timeout', threshold: 0, window: 60, emails: [to] });
      const events = [
        ...['m1', 'm2', 'm3', 'm4'].map((id) => ({ type: 'otp.sent', data: { message_id: id, to: '+3360000' } })),
        { type: 'otp.verified', data: { message_id: 'm1' } },
      ];
      expect((await t.api('POST', '/v1/events/batch', { events })).status).toBe(202);
      await waitUntil(() => smtp.to(to).length === 1, { what: 'the verification-rate alert' });
      expect(smtp.to(to)[0]!.subject).toContain('low verification rate');
      expect(smtp.to(to)[0]!.text).toContain('1 of 4 OTPs sent in the last 3600 s were verified (25 %), below 50 %.');

      await postEvent(t, { type: 'otp.verified', data: { message_id: 'm2' } });
      // Alert rules consume ingested events after the 202, asynchronously: let that one land first.
      await waitUntil(
        async () => {
          const row = await t.relay.store.db.selectFrom('otp_tracking').select('verified_at').where('message_id', '=', 'm2').executeTakeFirst();
          return row?.verified_at != null;
        },
        { what: 'm2 recorded as verified' },
      );
      clock.advance(30_000);
      expect(await t.relay.notify.alerts.checkTimeouts()).toBe(0);
      clock.advance(31_000);
      expect(await t.relay.notify.alerts.checkTimeouts()).toBe(1);
      await waitUntil(() => smtp.to(to).length === 2, { what: 'the timeout alert' });
      const timeout = smtp.to(to)[1]!;
      expect(timeout.subject).toContain('authentication timeout');
      expect(timeout.text).toContain('2 OTPs were not verified within 60 s: m3, m4.');
      // An OTP times out once.
      clock.advance(3_600_000);
      expect(await t.relay.notify.alerts.checkTimeouts()).toBe(0);
    });

    it('daily reports: each period once, caught up after downtime, not again after a restart', async ({ expect }) => {
      const clock = new FakeClock(Date.UTC(2026, 2, 10, 10));
      // The test runs the report job itself: a scheduler's tick after the clock jumps would race it for the periods.
      const roles: ['api', 'worker'] = ['api', 'worker'];
      const { t, url } = await start(clock, { retrySchedule: [0], roles });
      const to = `reports-${backend.name}@example.com`;
      const put = await t.api('PUT', '/v1/reports/settings', { frequency: 'daily', emails: [to] });
      expect(put.status).toBe(200);
      expect(put.body).toMatchObject({ frequency: 'daily', emails: [to], next_period_start: '2026-03-10T00:00:00.000Z' });
      const good = await new TestReceiver().start();
      const bad = await new TestReceiver().start();
      receivers.push(good, bad);
      bad.behaviour = (_req, res) => {
        res.statusCode = 502;
        res.end();
      };
      const okCb = await createCallback(t, { title: 'good', url: good.url });
      const badCb = await createCallback(t, { title: 'bad', url: bad.url, events: ['sms.sent'] });
      for (const type of ['sms.delivered', 'sms.sent']) expect(['delivered', 'failed']).toContain((await waitForDelivery(t, await postEvent(t, { type, data: {} }), { pred: (d) => d.state !== 'pending' })).state);
      await waitUntil(async () => (await t.api('GET', '/v1/deliveries?state=pending')).body.total === 0, { what: 'no owed deliveries' });

      expect(await t.relay.notify.reports.runDue()).toBe(0);
      // Down from the 10th to the 13th at 01:00: the 10th, 11th and 12th are owed.
      clock.set(Date.UTC(2026, 2, 13, 1));
      expect(await t.relay.notify.reports.runDue()).toBe(3);
      expect(await t.relay.notify.reports.runDue()).toBe(0);
      const mails = smtp.to(to);
      expect(mails.map((m) => m.subject)).toEqual([
        '[callback-relay] daily callback report 2026-03-10',
        '[callback-relay] daily callback report 2026-03-11',
        '[callback-relay] daily callback report 2026-03-12',
      ]);
      expect(mails[0]!.text).toContain(`Callback ${okCb.id} ("good"): delivered 2, failed 0`);
      expect(mails[0]!.text).toContain(`Callback ${badCb.id} ("bad"): delivered 0, failed 1`);
      expect(mails[0]!.text).toContain('top failure reasons: http_502 (1)');
      expect(mails[0]!.text).toContain('Total: delivered 2, failed 1.');
      expect(mails[1]!.text).toContain(`Callback ${okCb.id} ("good"): delivered 0, failed 0`);

      await t.close();
      const again = await start(clock, { retrySchedule: [0], roles }, url);
      expect(await again.t.relay.notify.reports.runDue()).toBe(0);
      expect(smtp.to(to)).toHaveLength(3);
      const settings = await again.t.api('GET', '/v1/reports/settings');
      expect(settings.body.next_period_start).toBe('2026-03-13T00:00:00.000Z');
      expect(settings.body.runs.map((r: { state: string }) => r.state)).toEqual(['sent', 'sent', 'sent']);
    });
  });
}
