import { afterAll, beforeAll, describe, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { TestReceiver } from '../helpers/receiver.js';
import { FakeTelegram, TestSmtpServer } from '../helpers/mail.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { createCallback, freePort, postEvent, sleep, waitForDelivery, waitUntil } from '../helpers/e2e.js';

const BOT_TOKEN = '123456789:AAE-notices-secret-token_xyz';
const SMTP_AUTH = { user: 'relay', pass: 'smtp-pa55word' };

/**
 * Failure notices: one per failure episode (not per attempt) by e-mail over real SMTP and by the
 * Telegram Bot API, a recovery notice when the callback succeeds again, throttling per callback, and
 * every notice recorded in GET /v1/notices.
 */
for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`failure notices on ${backend.name}`, { concurrent: true }, () => {
    let t: TestRelay;
    let drop: () => Promise<void>;
    let smtp: TestSmtpServer;
    let telegram: FakeTelegram;
    const receivers: TestReceiver[] = [];
    const newReceiver = async () => {
      const r = await new TestReceiver().start();
      receivers.push(r);
      return r;
    };
    let seq = 0;
    const tenant = async (label: string) => (await t.newTenant(`${label}-${backend.name}-${process.pid}-${++seq}`)).auth;

    beforeAll(async () => {
      smtp = await new TestSmtpServer(SMTP_AUTH).start();
      telegram = await new FakeTelegram().start();
      const db = await backend.create();
      drop = db.drop;
      // No circuit breaker here: these tests count attempts and notices, not cool-downs.
      t = await startTestRelay(db.url, { circuitFailures: 0, shutdownTimeoutMs: 1000, env: { RELAY_SMTP_URL: smtp.url, RELAY_TELEGRAM_API: telegram.url } });
    });
    afterAll(async () => {
      for (const r of receivers) await r.close();
      await t?.close();
      await smtp?.close();
      await telegram?.close();
      await drop?.();
    });

    it('a 500 episode: one e-mail and one Telegram message for six failed attempts, then one recovery notice', async ({ expect }) => {
      const auth = await tenant('episode');
      const receiver = await newReceiver();
      receiver.behaviour = (_req, res) => {
        res.statusCode = 500;
        res.end('boom: database down');
      };
      const cb = await createCallback(t, { title: 'orders hook', url: `${receiver.url}/hook?auth=s3cr3t-key` }, auth);
      const put = await t.api(
        'PUT',
        `/v1/callbacks/${cb.id}/notifications`,
        { emails: [`ops-${backend.name}@example.com`], telegram_chat_ids: ['424242'], telegram_bot_token: BOT_TOKEN },
        { auth },
      );
      expect(put.status).toBe(200);
      expect(put.body).toMatchObject({ emails: [`ops-${backend.name}@example.com`], telegram_chat_ids: ['424242'], telegram_bot_token_set: true });
      expect(JSON.stringify(put.body)).not.toContain(BOT_TOKEN);

      const data = { message_id: 'ABC4857BCCF484575FCA', name: 'Fred Waters', to: '0430984567', email: 'imacros@test.com', channel: 'SMS', content: 'Yes, I accept.' };
      const ids = [await postEvent(t, { type: 'sms.inbound', data }, auth), await postEvent(t, { type: 'sms.inbound', data }, auth)];
      for (const id of ids) expect((await waitForDelivery(t, id, { auth })).state).toBe('failed');
      expect(receiver.received).toHaveLength(6);
      await waitUntil(() => smtp.to(`ops-${backend.name}@example.com`).length > 0, { what: 'the failure e-mail' });
      await sleep(300);
      const mails = smtp.to(`ops-${backend.name}@example.com`);
      expect(mails).toHaveLength(1);
      const mail = mails[0]!;
      expect(mail.user).toBe(SMTP_AUTH.user);
      expect(mail.subject).toContain(cb.id);
      expect(mail.subject).toContain('is failing');
      expect(mail.text).toContain(`Your callback ${cb.id} ("orders hook") failed on `);
      expect(mail.text).toContain('with response: HTTP 500 boom: database down');
      expect(mail.text).toContain('auth=redacted');
      expect(mail.text).not.toContain('s3cr3t-key');
      for (const line of ['Location: ABC4857BCCF484575FCA', 'Name: Fred Waters', 'Mobile: 0430984567', 'Email: imacros@test.com', 'Channel: SMS', 'Content: Yes, I accept.']) {
        expect(mail.text).toContain(line);
      }
      const tg = telegram.calls.filter((c) => c.chat_id === '424242');
      expect(tg).toHaveLength(1);
      expect(tg[0]!.token).toBe(BOT_TOKEN);
      expect(tg[0]!.text).toContain('Name: Fred Waters');
      expect(tg[0]!.text).toContain('HTTP 500 boom');

      receiver.behaviour = (_req, res) => res.end('ok');
      const ok = await postEvent(t, { type: 'sms.inbound', data }, auth);
      expect((await waitForDelivery(t, ok, { auth })).state).toBe('delivered');
      await waitUntil(() => smtp.to(`ops-${backend.name}@example.com`).length === 2, { what: 'the recovery e-mail' });
      const recovery = smtp.to(`ops-${backend.name}@example.com`)[1]!;
      expect(recovery.subject).toContain('recovered');
      expect(recovery.text).toContain(`Your callback ${cb.id} ("orders hook") succeeded again`);
      await waitUntil(() => telegram.calls.filter((c) => c.chat_id === '424242').length === 2, { what: 'the recovery Telegram message' });

      // Recorded once both channels answered.
      const notices = await waitUntil(
        async () => {
          const r = await t.api('GET', `/v1/notices?callback_id=${cb.id}`, undefined, { auth });
          return r.status === 200 && r.body.total === 4 ? r : undefined;
        },
        { what: 'four recorded notices' },
      );
      const seen = (notices.body.data as { kind: string; channel: string; recipient: string; delivered: boolean; error: null }[])
        .map((n) => `${n.kind}/${n.channel}/${n.recipient}/${n.delivered}`)
        .sort();
      expect(seen).toEqual([
        `failure/email/ops-${backend.name}@example.com/true`,
        'failure/telegram/424242/true',
        `recovery/email/ops-${backend.name}@example.com/true`,
        'recovery/telegram/424242/true',
      ]);
      expect(JSON.stringify(notices.body)).not.toContain(BOT_TOKEN);
      const read = await t.api('GET', `/v1/callbacks/${cb.id}/notifications`, undefined, { auth });
      expect(read.body.health).toMatchObject({ failing_since: null, exhausted_count: 0 });
      expect(JSON.stringify(read.body)).not.toContain(BOT_TOKEN);
    });

    it('failure kinds: 401 is called out as an authentication rejection; a hang past the timeout; a refused connection', async ({ expect }) => {
      const auth = await tenant('kinds');
      const admin = `admin-kinds-${backend.name}@example.com`;
      const patched = await t.api('PATCH', '/v1/account', { admin_email: admin }, { auth });
      expect(patched.status).toBe(200);
      expect(patched.body.admin_email).toBe(admin);

      const rejecting = await newReceiver();
      rejecting.behaviour = (_req, res) => {
        res.statusCode = 401;
        res.end('bad credentials');
      };
      const hanging = await newReceiver();
      hanging.behaviour = () => {
        // never answers
      };
      const cb401 = await createCallback(t, { title: 'auth hook', url: rejecting.url, events: ['sms.delivered'] }, auth);
      const cbHang = await createCallback(t, { title: 'slow hook', url: hanging.url, timeout: 0.3, events: ['sms.sent'] }, auth);
      const cbRefused = await createCallback(t, { title: 'gone hook', url: `http://127.0.0.1:${await freePort()}/x`, events: ['sms.queued'] }, auth);

      await postEvent(t, { type: 'sms.delivered', data: { to: '+331' } }, auth);
      await postEvent(t, { type: 'sms.sent', data: { to: '+332' } }, auth);
      await postEvent(t, { type: 'sms.queued', data: { to: '+333' } }, auth);
      // Each callback has its own episode: three e-mails to the admin (no addresses of their own).
      await waitUntil(() => smtp.to(admin).length >= 3, { timeoutMs: 15_000, what: 'three failure e-mails to the admin' });
      const byCallback = (id: string) => smtp.to(admin).filter((m) => m.text.includes(`Your callback ${id} `));
      expect(byCallback(cb401.id)).toHaveLength(1);
      expect(byCallback(cb401.id)[0]!.text).toContain('with response: authentication rejected: HTTP 401 bad credentials');
      expect(byCallback(cbHang.id)).toHaveLength(1);
      expect(byCallback(cbHang.id)[0]!.text).toContain('with response: no response within 0.3 s (response_timeout)');
      expect(byCallback(cbRefused.id)).toHaveLength(1);
      expect(byCallback(cbRefused.id)[0]!.text).toContain('with response: connection refused (refused)');
      expect(hanging.received.length).toBeGreaterThanOrEqual(1);
    });

    it('throttled per callback: a second episode within RELAY_NOTICE_INTERVAL sends no new failure notice', async ({ expect }) => {
      const auth = await tenant('throttle');
      const to = `throttle-${backend.name}@example.com`;
      const receiver = await newReceiver();
      let failing = true;
      receiver.behaviour = (_req, res) => {
        res.statusCode = failing ? 503 : 200;
        res.end();
      };
      const cb = await createCallback(t, { title: 'flappy', url: receiver.url }, auth);
      await t.api('PUT', `/v1/callbacks/${cb.id}/notifications`, { emails: [to] }, { auth });
      const cycle = async () => {
        failing = true;
        expect((await waitForDelivery(t, await postEvent(t, { type: 'sms.sent', data: {} }, auth), { auth })).state).toBe('failed');
        failing = false;
        expect((await waitForDelivery(t, await postEvent(t, { type: 'sms.sent', data: {} }, auth), { auth })).state).toBe('delivered');
      };
      await cycle();
      await waitUntil(() => smtp.to(to).length === 2, { what: 'failure and recovery e-mails' });
      await cycle();
      await sleep(400);
      await t.relay.notify.monitor.idle();
      expect(smtp.to(to).map((m) => (m.subject.includes('failing') ? 'failure' : 'recovery'))).toEqual(['failure', 'recovery']);
      const notices = await t.api('GET', `/v1/notices?callback_id=${cb.id}&kind=failure`, undefined, { auth });
      expect(notices.body.total).toBe(1);

      // Deleting the callback takes its notice settings and failure record with it.
      const db = t.relay.store.db;
      expect(await db.selectFrom('callback_notifications').select('callback_id').where('callback_id', '=', cb.id).execute()).toHaveLength(1);
      expect(await db.selectFrom('callback_health').select('callback_id').where('callback_id', '=', cb.id).execute()).toHaveLength(1);
      expect((await t.api('DELETE', `/v1/callbacks/${cb.id}`, undefined, { auth })).status).toBe(204);
      expect(await db.selectFrom('callback_notifications').select('callback_id').where('callback_id', '=', cb.id).execute()).toHaveLength(0);
      expect(await db.selectFrom('callback_health').select('callback_id').where('callback_id', '=', cb.id).execute()).toHaveLength(0);
    });

    it('a notice that cannot be delivered is recorded with why, never with the bot token', async ({ expect }) => {
      const auth = await tenant('undeliverable');
      const badToken = '987654321:refused-token-never-shown';
      telegram.refuse.add(badToken);
      // No admin e-mail and no addresses: the e-mail has no recipient. The account's bot is refused.
      const patched = await t.api('PATCH', '/v1/account', { telegram_chat_ids: ['-100777'], telegram_bot_token: badToken }, { auth });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ admin_email: null, telegram_chat_ids: ['-100777'], telegram_bot_token_set: true });
      expect(JSON.stringify(patched.body)).not.toContain(badToken);
      const receiver = await newReceiver();
      receiver.behaviour = (_req, res) => {
        res.statusCode = 500;
        res.end();
      };
      const cb = await createCallback(t, { title: 'nobody listens', url: receiver.url }, auth);
      await postEvent(t, { type: 'sms.sent', data: {} }, auth);
      const notices = await waitUntil(
        async () => {
          const r = await t.api('GET', `/v1/notices?callback_id=${cb.id}`, undefined, { auth });
          return r.body.total === 2 ? r.body : undefined;
        },
        { what: 'two recorded notices' },
      );
      type N = { channel: string; error: string | null };
      const byChannel = Object.fromEntries((notices.data as N[]).map((n) => [n.channel, n])) as Record<string, N>;
      expect(byChannel.email).toMatchObject({ kind: 'failure', recipient: null, delivered: false });
      expect(byChannel.email!.error).toMatch(/no recipient/);
      expect(byChannel.telegram).toMatchObject({ kind: 'failure', recipient: '-100777', delivered: false, error: 'Telegram answered HTTP 401: Unauthorized' });
      expect(JSON.stringify(notices)).not.toContain(badToken);
    });
  });
}
