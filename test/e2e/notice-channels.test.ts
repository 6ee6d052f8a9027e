import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { pino } from 'pino';
import { Webhook } from 'standardwebhooks';
import { BACKENDS } from '../helpers/backends.js';
import { TestReceiver, type Received } from '../helpers/receiver.js';
import { TestSmtpServer } from '../helpers/mail.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { createCallback, postEvent, waitForDelivery, waitUntil } from '../helpers/e2e.js';

// The part of a Slack incoming-webhook URL that is the credential.
const SLACK_PATH = '/services/T0001/B0002/slack-s3cret-XXXXXXXX';

/**
 * Notice channels as modules: a failing callback's failure notice reaches a Slack incoming webhook
 * (text + Block Kit) and a Standard Webhooks target (verified with the standardwebhooks package),
 * both real receivers on 127.0.0.1; the Slack URL is write-only; targets are checked by their
 * channel's address rule; a Whispir callback's `email` setting receives its notices.
 */
for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`notice channels on ${backend.name}`, { concurrent: true }, () => {
    let t: TestRelay;
    let drop: () => Promise<void>;
    let smtp: TestSmtpServer;
    const receivers: TestReceiver[] = [];
    const newReceiver = async () => {
      const r = await new TestReceiver().start();
      receivers.push(r);
      return r;
    };
    const failing = (r: TestReceiver) => {
      r.behaviour = (_req, res) => {
        res.statusCode = 500;
        res.end('down');
      };
    };
    // Every log line of the relay, at debug level: a secret address must appear in none.
    const logLines: string[] = [];
    const logStream = new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(chunk.toString('utf8'));
        done();
      },
    });
    let seq = 0;
    const tenant = async (label: string) => (await t.newTenant(`${label}-${backend.name}-${process.pid}-${++seq}`)).auth;

    beforeAll(async () => {
      smtp = await new TestSmtpServer().start();
      const db = await backend.create();
      drop = db.drop;
      t = await startTestRelay(db.url, { circuitFailures: 0, shutdownTimeoutMs: 1000, env: { RELAY_SMTP_URL: smtp.url } }, { log: pino({ level: 'debug' }, logStream) });
    });
    afterAll(async () => {
      for (const r of receivers) await r.close();
      await t?.close();
      await smtp?.close();
      await drop?.();
    });

    it('a failing callback’s failure notice reaches a Slack target and a signed webhook target; the Slack URL is never shown', async ({ expect }) => {
      const auth = await tenant('slack');
      const receiver = await newReceiver();
      failing(receiver);
      const slack = await newReceiver();
      const hook = await newReceiver();
      const cb = await createCallback(t, { title: 'orders', url: `${receiver.url}/hook` }, auth);
      const slackUrl = `${slack.url}${SLACK_PATH}`;
      const put = await t.api(
        'PUT',
        `/v1/callbacks/${cb.id}/notifications`,
        { emails: ['ops@example.com'], targets: [{ channel: 'slack', address: slackUrl }, { channel: 'webhook', address: `${hook.url}/notices` }] },
        { auth },
      );
      expect(put.status).toBe(200);
      expect(put.body.emails).toEqual(['ops@example.com']);
      const targets = put.body.targets as { id: string; channel: string; address: string; secret_set: boolean; secret?: string }[];
      expect(targets.map((x) => x.channel)).toEqual(['email', 'slack', 'webhook']);
      const slackTarget = targets.find((x) => x.channel === 'slack')!;
      expect(slackTarget.address).toBe(`${slack.url}/[redacted]`);
      const hookTarget = targets.find((x) => x.channel === 'webhook')!;
      expect(hookTarget.address).toBe(`${hook.url}/notices`);
      expect(hookTarget.secret).toMatch(/^whsec_/);
      const secret = hookTarget.secret!;
      expect(JSON.stringify(put.body)).not.toContain(SLACK_PATH);

      // The secret is shown once; later through its endpoint, for this tenant only.
      const read = await t.api('GET', `/v1/callbacks/${cb.id}/notifications`, undefined, { auth });
      expect(read.status).toBe(200);
      expect(JSON.stringify(read.body)).not.toContain(SLACK_PATH);
      expect(JSON.stringify(read.body)).not.toContain(secret);
      expect(read.body.targets.map((x: { id: string }) => x.id)).toEqual(targets.map((x) => x.id));
      expect((await t.api('GET', `/v1/notice-targets/${hookTarget.id}/secret`, undefined, { auth })).body).toEqual({ id: hookTarget.id, channel: 'webhook', secret });
      expect((await t.api('GET', `/v1/notice-targets/${hookTarget.id}/secret`, undefined, { auth: await tenant('other') })).status).toBe(404);
      // The same PUT again keeps each target, its id and its secret.
      const again = await t.api('PUT', `/v1/callbacks/${cb.id}/notifications`, { targets: [{ channel: 'email', address: 'ops@example.com' }, { channel: 'slack', address: slackUrl }, { channel: 'webhook', address: `${hook.url}/notices` }] }, { auth });
      expect(again.body.targets.map((x: { id: string }) => x.id)).toEqual(targets.map((x) => x.id));
      expect(again.body.targets[2]).not.toHaveProperty('secret');

      const id = await postEvent(t, { type: 'sms.delivered', data: { message_id: 'm-1' } }, auth);
      expect((await waitForDelivery(t, id, { auth })).state).toBe('failed');
      await waitUntil(() => slack.received.length > 0 && hook.received.length > 0, { what: 'the Slack and webhook notices' });

      const s = slack.received[0]!;
      expect(s.method).toBe('POST');
      expect(s.path).toBe(SLACK_PATH);
      expect(s.headers['content-type']).toContain('application/json');
      const message = JSON.parse(s.body) as { text: string; blocks: { type: string; text?: { text: string } }[] };
      expect(message.text).toContain(cb.id);
      expect(message.text).toContain('is failing');
      expect(message.blocks.map((b) => b.type)).toEqual(['header', 'section', 'context']);
      expect(message.blocks[1]!.text!.text).toContain('HTTP 500 down');

      const h = hook.received[0]!;
      const verified = new Webhook(secret).verify(h.body, headersOf(h)) as { type: string; data: { kind: string; callback_id: string; subject: string; text: string } };
      expect(verified.type).toBe('notice.failure');
      expect(verified.data).toMatchObject({ kind: 'failure', callback_id: cb.id });
      expect(verified.data.text).toContain('HTTP 500 down');
      expect(() => new Webhook(`whsec_${Buffer.alloc(24, 7).toString('base64')}`).verify(h.body, headersOf(h))).toThrow();

      const notices = await waitUntil(
        async () => {
          const r = await t.api('GET', `/v1/notices?callback_id=${cb.id}`, undefined, { auth });
          return r.body.total === 3 ? r : undefined;
        },
        { what: 'three recorded notices' },
      );
      const seen = (notices.body.data as { channel: string; recipient: string; delivered: boolean }[]).map((n) => `${n.channel}/${n.recipient}/${n.delivered}`).sort();
      expect(seen).toEqual(['email/ops@example.com/true', `slack/${slack.url}/[redacted]/true`, `webhook/${hook.url}/notices/true`]);
      expect(JSON.stringify(notices.body)).not.toContain(SLACK_PATH);
    });

    it('a failing Slack target is recorded with its reason, never with its URL', async ({ expect }) => {
      const auth = await tenant('slack-fail');
      const receiver = await newReceiver();
      failing(receiver);
      const slack = await newReceiver();
      slack.behaviour = (req, res) => {
        res.statusCode = 404;
        res.end(`no_service for ${req.path}`); // a receiver echoing the URL must not leak it into the log
      };
      const cb = await createCallback(t, { title: 'orders', url: `${receiver.url}/hook` }, auth);
      const put = await t.api('PUT', `/v1/callbacks/${cb.id}/notifications`, { targets: [{ channel: 'slack', address: `${slack.url}${SLACK_PATH}` }] }, { auth });
      expect(put.status).toBe(200);
      const id = await postEvent(t, { type: 'sms.delivered', data: { message_id: 'm-2' } }, auth);
      expect((await waitForDelivery(t, id, { auth })).state).toBe('failed');
      const notices = await waitUntil(
        async () => {
          const r = await t.api('GET', `/v1/notices?callback_id=${cb.id}&kind=failure`, undefined, { auth });
          return (r.body.data as { channel: string }[]).some((n) => n.channel === 'slack') ? r : undefined;
        },
        { what: 'the Slack notice recorded' },
      );
      const n = (notices.body.data as { channel: string; delivered: boolean; error: string }[]).find((x) => x.channel === 'slack')!;
      expect(n.delivered).toBe(false);
      expect(n.error).toContain('HTTP 404');
      expect(JSON.stringify(notices.body)).not.toContain(SLACK_PATH);
      expect(JSON.stringify(notices.body)).not.toContain('slack-s3cret');
      // Logged as not delivered, with the reason and without the URL.
      const logged = logLines.filter((l) => l.includes('notice not delivered') && l.includes(cb.id));
      expect(logged.some((l) => l.includes('"channel":"slack"') && l.includes('HTTP 404'))).toBe(true);
      expect(logLines.join('')).not.toContain('slack-s3cret');
    });

    it('targets are checked by their channel’s rule: 422 naming the field, nothing changed', async ({ expect }) => {
      const auth = await tenant('checks');
      const receiver = await newReceiver();
      const cb = await createCallback(t, { title: 'orders', url: `${receiver.url}/hook` }, auth);
      const ok = await t.api('PUT', `/v1/callbacks/${cb.id}/notifications`, { emails: ['a@example.com'] }, { auth });
      expect(ok.status).toBe(200);
      const cases: [unknown, string][] = [
        [{ channel: 'pager', address: 'x' }, 'targets[0].channel'],
        [{ channel: 'slack', address: 'not a url' }, 'targets[0].address'],
        [{ channel: 'email', address: 'nobody' }, 'targets[0].address'],
        [{ channel: 'telegram', address: 'chat!' }, 'targets[0].address'],
        [{ channel: 'webhook', address: 'ftp://127.0.0.1/x' }, 'targets[0].address'],
        // Metadata addresses are refused even where private networks are allowed; nothing is sent.
        [{ channel: 'slack', address: 'http://169.254.169.254/services/x' }, 'targets[0].address'],
      ];
      for (const [target, field] of cases) {
        const res = await t.api('PUT', `/v1/callbacks/${cb.id}/notifications`, { targets: [target] }, { auth });
        expect(res.status, JSON.stringify(target)).toBe(422);
        expect(res.body.code).toBe('invalid');
        expect(res.body.message).toContain(field);
      }
      const acct = await t.api('PATCH', '/v1/account', { targets: [{ channel: 'webhook', address: 'nope' }] }, { auth });
      expect(acct.status).toBe(422);
      expect(acct.body.message).toContain('targets[0].address');
      const rule = await t.api('POST', '/v1/alert-rules', { kind: 'insufficient_balance', threshold: 5, targets: [{ channel: 'slack', address: '' }] }, { auth });
      expect(rule.status).toBe(422);
      const read = await t.api('GET', `/v1/callbacks/${cb.id}/notifications`, undefined, { auth });
      expect(read.body.emails).toEqual(['a@example.com']);
      expect(read.body.targets).toHaveLength(1);
      expect((await t.api('GET', '/v1/alert-rules', undefined, { auth })).body.data).toEqual([]);
    });

    it('the account and alert rules take targets too; legacy fields replace their own channel only', async ({ expect }) => {
      const auth = await tenant('owners');
      const slack = await newReceiver();
      const hook = await newReceiver();
      const acct = await t.api('PATCH', '/v1/account', { targets: [{ channel: 'slack', address: `${slack.url}${SLACK_PATH}` }, { channel: 'telegram', address: '4242' }] }, { auth });
      expect(acct.status).toBe(200);
      expect(acct.body.telegram_chat_ids).toEqual(['4242']);
      expect(acct.body.targets.map((x: { channel: string }) => x.channel)).toEqual(['slack', 'telegram']);
      expect(JSON.stringify(acct.body)).not.toContain(SLACK_PATH);
      // telegram_chat_ids alone changes the Telegram targets and keeps the Slack one.
      const chats = await t.api('PATCH', '/v1/account', { telegram_chat_ids: ['77'] }, { auth });
      expect(chats.body.targets.map((x: { channel: string; address: string }) => `${x.channel}:${x.address}`)).toEqual([`slack:${slack.url}/[redacted]`, 'telegram:77']);
      expect(JSON.stringify((await t.api('GET', '/v1/account', undefined, { auth })).body)).not.toContain(SLACK_PATH);

      const rule = await t.api(
        'POST',
        '/v1/alert-rules',
        { kind: 'insufficient_balance', threshold: 5, emails: ['alerts@example.com'], targets: [{ channel: 'webhook', address: `${hook.url}/alerts` }] },
        { auth },
      );
      expect(rule.status).toBe(201);
      expect(rule.body.emails).toEqual(['alerts@example.com']);
      expect(rule.body.targets.map((x: { channel: string }) => x.channel)).toEqual(['email', 'webhook']);
      expect(rule.body.targets[1].secret).toMatch(/^whsec_/);
      const patched = await t.api('PATCH', `/v1/alert-rules/${rule.body.id}`, { emails: [] }, { auth });
      expect(patched.body.emails).toEqual([]);
      expect(patched.body.targets.map((x: { channel: string }) => x.channel)).toEqual(['webhook']);
    });

    it('a Whispir callback’s email setting receives that callback’s notices', async ({ expect }) => {
      const auth = await tenant('whispir');
      const admin = `admin-whispir-${backend.name}@example.com`;
      expect((await t.api('PATCH', '/v1/account', { admin_email: admin }, { auth })).status).toBe(200);
      const receiver = await newReceiver();
      // Whispir checks the URL with a GET on creation; the deliveries (POST) fail.
      receiver.behaviour = (req, res) => {
        res.statusCode = req.method === 'GET' ? 200 : 500;
        res.end(req.method === 'GET' ? 'ok' : 'down');
      };
      const to = `whispir-${backend.name}@example.com`;
      const cb = await createCallback(t, { title: 'w', url: receiver.url, format: 'whispir', auth: { type: 'httpheader', key: 'k-123' }, retries_enabled: false, email: to }, auth);
      await postEvent(t, { type: 'sms.inbound', data: { message_id: 'w-1', content: 'hi' } }, auth);
      await waitUntil(() => smtp.to(to).length > 0, { what: 'the failure e-mail to the Whispir email setting' });
      expect(smtp.to(to)[0]!.subject).toContain(cb.id);
      // It stands for the callback's own e-mail: the admin e-mail is not used.
      const notices = await waitUntil(
        async () => {
          const r = await t.api('GET', `/v1/notices?callback_id=${cb.id}`, undefined, { auth });
          return r.body.total > 0 ? r : undefined;
        },
        { what: 'the recorded notice' },
      );
      expect(notices.body.data.map((n: { recipient: string }) => n.recipient)).toEqual([to]);
      expect(smtp.to(admin)).toEqual([]);
    });
  });
}

function headersOf(r: Received): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers)) if (typeof v === 'string') out[k] = v;
  return out;
}
