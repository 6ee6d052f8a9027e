import { createDecipheriv } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactDecrypt } from 'jose';
import { BACKENDS } from '../helpers/backends.js';
import { TestReceiver, type Received } from '../helpers/receiver.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { createCallback, freePort, postEvent, waitForDelivery, waitUntil } from '../helpers/e2e.js';

/** Values that break naive templating: quotes, markup, ampersands, CR/LF, tabs, unicode, length. */
const NASTY = `He said "hi" & <b>'bye'</b> \\ back\r\nnext\ttab ünïcødé ✓ 😀 \u2028 %41 +=?#&amp;`;
const LONG = `${NASTY}${'x'.repeat(200_000)}`;

const decodeEntities = (s: string) =>
  s.replace(/&(lt|gt|quot|amp|apos|#\d+|#x[0-9a-f]+);/gi, (_m, e: string) => {
    const named: Record<string, string> = { lt: '<', gt: '>', quot: '"', amp: '&', apos: "'" };
    if (e.startsWith('#x') || e.startsWith('#X')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(Number(e.slice(1)));
    return named[e]!;
  });

const hdr = (r: Received, name: string) => String(r.headers[name.toLowerCase()] ?? '');

for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`template callbacks (profiles) on ${backend.name}`, () => {
    let t: TestRelay;
    let drop: () => Promise<void>;
    const receivers: TestReceiver[] = [];
    const newReceiver = async () => {
      const r = await new TestReceiver().start();
      receivers.push(r);
      return r;
    };
    const tenant = async (name: string) => (await t.newTenant(`${name}-${backend.name}-${process.pid}`)).auth;
    const MASTER = 'test-master-key-for-sealing';

    beforeAll(async () => {
      const db = await backend.create();
      drop = db.drop;
      t = await startTestRelay(db.url, { env: { RELAY_MASTER_KEY: MASTER } });
    });
    afterAll(async () => {
      for (const r of receivers) await r.close();
      await t?.close();
      await drop?.();
    });

    /** Creates a template callback, sends one sms.inbound event to it, returns what the receiver got. */
    async function deliverOne(auth: string, receiver: TestReceiver, cb: Record<string, unknown>, data: Record<string, unknown>) {
      const created = await createCallback(t, { format: 'template', channel: 'sms', events: ['sms.inbound'], ...cb }, auth);
      const before = receiver.received.length;
      const id = await postEvent(t, { type: 'sms.inbound', data, callback_profile_id: created.id }, auth);
      const d = await waitForDelivery(t, id, { auth });
      expect(d.state, JSON.stringify(d.attempts_list)).toBe('delivered');
      return { req: receiver.received[before]!, cb: created, delivery: d, eventId: id };
    }

    describe('methods and body types, escaping parsed back by the receiver', () => {
      it('POST json: values in JSON strings and bare JSON values', async () => {
        const auth = await tenant('tpl-json');
        const r = await newReceiver();
        const { req } = await deliverOne(
          auth,
          r,
          {
            title: 'json profile',
            url: `${r.url}/json`,
            body: '{"from":"{{from}}","text":"<text>","args":{{custom_args}},"n":{{data.nested.n}},"deep":"{{data.nested.s}}","missing":{{data.nope}},"id":"{{event_id}}"}',
          },
          { from: '+33600000000', text: LONG, custom_args: { q: NASTY }, nested: { n: 42, s: NASTY } },
        );
        expect(req.method).toBe('POST');
        expect(hdr(req, 'content-type')).toBe('application/json; charset=utf-8');
        const body = JSON.parse(req.body);
        expect(body).toMatchObject({ from: '+33600000000', args: { q: NASTY }, n: 42, deep: NASTY, missing: null });
        expect(body.text).toBe(LONG);
        expect(body.id).toBe(hdr(req, 'webhook-id'));
      });

      it('POST xml and html: entity escaping', async () => {
        const auth = await tenant('tpl-xml');
        const r = await newReceiver();
        const xml = await deliverOne(
          auth,
          r,
          { title: 'xml profile', url: `${r.url}/xml`, body_type: 'xml', body: '<?xml version="1.0"?><msg from="{{from}}"><text>{{text}}</text></msg>' },
          { from: NASTY, text: LONG },
        );
        expect(hdr(xml.req, 'content-type')).toBe('application/xml; charset=utf-8');
        const m = /^<\?xml version="1.0"\?><msg from="([^"]*)"><text>([^<]*)<\/text><\/msg>$/.exec(xml.req.body);
        expect(m).not.toBeNull();
        expect(decodeEntities(m![1]!)).toBe(NASTY);
        expect(decodeEntities(m![2]!)).toBe(LONG);

        const html = await deliverOne(auth, r, { title: 'html profile', url: `${r.url}/html`, body_type: 'html', body: '<html><body><p title="{{from}}">{{text}}</p></body></html>' }, { from: NASTY, text: NASTY });
        expect(hdr(html.req, 'content-type')).toBe('text/html; charset=utf-8');
        const h = /<p title="([^"]*)">([^<]*)<\/p>/.exec(html.req.body)!;
        expect(decodeEntities(h[1]!)).toBe(NASTY);
        expect(decodeEntities(h[2]!)).toBe(NASTY);
      });

      it('PUT form and POST text', async () => {
        const auth = await tenant('tpl-form');
        const r = await newReceiver();
        const form = await deliverOne(auth, r, { title: 'form profile', url: `${r.url}/form`, method: 'PUT', body_type: 'form', body: 'from={{from}}&text=<text>&fixed=a+b' }, { from: NASTY, text: LONG });
        expect(form.req.method).toBe('PUT');
        expect(hdr(form.req, 'content-type')).toBe('application/x-www-form-urlencoded');
        const p = new URLSearchParams(form.req.body);
        expect(p.get('from')).toBe(NASTY);
        expect(p.get('text')).toBe(LONG);
        expect(p.get('fixed')).toBe('a b');

        const text = await deliverOne(auth, r, { title: 'text profile', url: `${r.url}/text`, body_type: 'text', body: 'SMS from {{from}}: {{text}}' }, { from: '+1', text: LONG });
        expect(hdr(text.req, 'content-type')).toBe('text/plain; charset=utf-8');
        expect(text.req.body).toBe(`SMS from +1: ${LONG}`);
      });

      it('GET: path and query percent-encoded; headers never carry CR/LF', async () => {
        const auth = await tenant('tpl-get');
        const r = await newReceiver();
        const { req } = await deliverOne(
          auth,
          r,
          {
            title: 'get profile',
            method: 'GET',
            url: `${r.url}/in/{{from}}?static=1`,
            query: { text: '{{text}}', kind: 'sms <event_type>' },
            headers: { 'X-Text': 'v={{text}}', 'X-From': '<from>' },
          },
          { from: 'a/b c?d', text: NASTY },
        );
        expect(req.method).toBe('GET');
        expect(req.body).toBe('');
        const u = new URL(req.path, 'http://x');
        expect(decodeURIComponent(u.pathname)).toBe('/in/a/b c?d');
        expect(u.pathname).toBe('/in/a%2Fb%20c%3Fd');
        expect(u.searchParams.get('static')).toBe('1');
        expect(u.searchParams.get('text')).toBe(NASTY);
        expect(u.searchParams.get('kind')).toBe('sms sms.inbound');
        const xText = hdr(req, 'x-text');
        expect(xText).not.toMatch(/[\r\n]/);
        expect(decodeURIComponent(xText)).toBe(`v=${NASTY.replace(/[\r\n\t\u2028]/g, (c) => (c === '\u2028' ? c : ' '))}`);
        expect(hdr(req, 'x-from')).toBe('a/b c?d');
      });

      it('a value in the URL path stays in its segment: ".." and "." do not climb, / ? # \\ are encoded', async () => {
        const auth = await tenant('tpl-dots');
        const r = await newReceiver();
        const cases: Array<[string, string]> = [
          ['..', '/base/%2E%2E/end'],
          ['.', '/base/%2E/end'],
          ['../../x', '/base/..%2F..%2Fx/end'],
          ['a?b#c\\d', '/base/a%3Fb%23c%5Cd/end'],
        ];
        const created = await createCallback(t, { format: 'template', channel: 'sms', events: ['sms.inbound'], title: 'dots', method: 'POST', url: `${r.url}/base/{{data.p}}/end` }, auth);
        for (const [p, path] of cases) {
          const before = r.received.length;
          const id = await postEvent(t, { type: 'sms.inbound', data: { p }, callback_profile_id: created.id }, auth);
          const d = await waitForDelivery(t, id, { auth });
          expect(d.state, JSON.stringify(d.attempts_list)).toBe('delivered');
          expect(r.received[before]!.path, p).toBe(path);
        }
      });

      it('DELETE without query and POST without body carry the event (defaults)', async () => {
        const auth = await tenant('tpl-defaults');
        const r = await newReceiver();
        const del = await deliverOne(auth, r, { title: 'delete profile', method: 'DELETE', url: `${r.url}/del` }, { from: '+1', text: NASTY });
        expect(del.req.method).toBe('DELETE');
        const q = new URL(del.req.path, 'http://x').searchParams;
        expect(q.get('id')).toBe(del.eventId);
        expect(q.get('type')).toBe('sms.inbound');
        expect(JSON.parse(q.get('data')!)).toEqual({ from: '+1', text: NASTY });

        const post = await deliverOne(auth, r, { title: 'default body', url: `${r.url}/post` }, { from: '+1', text: NASTY });
        expect(JSON.parse(post.req.body)).toMatchObject({ id: post.eventId, type: 'sms.inbound', code: 130, channel: 'sms', data: { from: '+1', text: NASTY }, resource_id: null });
        expect(post.cb.settings).toMatchObject({ channel: 'sms', body_type: 'json', body_default: true });
      });
    });

    describe('validation at save', () => {
      const base = (url: string) => ({ title: 'valid title', url, format: 'template', channel: 'sms' });
      it('refuses invalid templates, variables the channel does not offer, foreign events and bad titles with 422', async () => {
        const auth = await tenant('tpl-validate');
        const url = 'http://127.0.0.1:9/x';
        const post = (b: Record<string, unknown>) => t.api('POST', '/v1/callbacks', { ...base(url), ...b }, { auth });

        let res = await post({ body: '{"to": {{to}' });
        expect(res.status).toBe(422);
        expect(res.body.field).toBe('body');

        res = await post({ body: '{"to": "{{to}}",}' });
        expect([res.status, res.body.field]).toEqual([422, 'body']);
        expect(res.body.message).toMatch(/not valid JSON/);

        res = await post({ body_type: 'xml', body: '<a><b>{{to}}</a>' });
        expect([res.status, res.body.field]).toEqual([422, 'body']);
        expect(res.body.message).toMatch(/XML/);

        res = await post({ body_type: 'form', body: 'a=hello world' });
        expect([res.status, res.body.field]).toEqual([422, 'body']);

        res = await post({ events: ['sms.delivered'], body: '{"t":"{{template_key}}","u":"{{wanumber}}","ok":"{{to}}"}', query: undefined, headers: { 'X-B': '{{business_id}}' } });
        expect(res.status).toBe(422);
        expect(res.body.field).toBe('headers.X-B');
        expect(res.body.message).toContain('business_id');
        expect(res.body.message).toContain('template_key');
        expect(res.body.message).toContain('wanumber');
        expect(res.body.message).not.toContain(' to,');

        res = await post({ events: ['sms.delivered', 'email.open', 'otp.sent'] });
        expect([res.status, res.body.field]).toEqual([422, 'events']);
        expect(res.body.message).toContain('email.open, otp.sent');

        res = await post({ title: 'ab' });
        expect([res.status, res.body.field]).toEqual([422, 'title']);
        res = await post({ title: 'bad/title' });
        expect([res.status, res.body.field]).toEqual([422, 'title']);
        // Other formats keep their own title rules.
        expect((await t.api('POST', '/v1/callbacks', { title: 'x', url }, { auth })).status).toBe(201);

        res = await post({ method: 'GET', body: '{}' });
        expect([res.status, res.body.field]).toEqual([422, 'body']);

        res = await post({ url: 'http://{{to}}.example.com/x' });
        expect([res.status, res.body.field]).toEqual([422, 'url']);

        res = await post({ body: '{"a":"{{ data.x"}' });
        expect([res.status, res.body.field]).toEqual([422, 'body']);

        res = await post({ auth: { type: 'basic', username: 'u' } });
        expect([res.status, res.body.field]).toEqual([422, 'auth.password']);

        res = await post({ encryption: { key: Buffer.alloc(16).toString('base64') } });
        expect([res.status, res.body.field]).toEqual([422, 'encryption.key']);

        res = await post({ unknown_field: 1 });
        expect(res.status).toBe(422);

        // The channel's events by default; none: any.
        res = await post({});
        expect(res.status).toBe(201);
        expect(res.body.events).toContain('sms.inbound');
        expect(res.body.events.every((e: string) => e.startsWith('sms.'))).toBe(true);
        expect(res.body.method).toBe('POST');
      });
    });

    it('lists by title, method, channel, created range and enabled, with offset/limit and total', async () => {
      const auth = await tenant('tpl-list');
      const url = 'http://127.0.0.1:9/x';
      const mk = (b: Record<string, unknown>) => createCallback(t, { format: 'template', url, ...b }, auth);
      const a = await mk({ title: 'Orders SMS', channel: 'sms', method: 'GET' });
      const b = await mk({ title: 'orders mail', channel: 'email', method: 'PUT' });
      await new Promise((r) => setTimeout(r, 5));
      const c = await mk({ title: 'Billing', channel: 'sms', method: 'POST', enabled: false });
      const ids = (res: { body: { data: { id: string }[] } }) => res.body.data.map((x) => x.id);
      const list = (q: string) => t.api('GET', `/v1/callbacks?${q}`, undefined, { auth });

      expect(ids(await list('title=ORDERS'))).toEqual([a.id, b.id]);
      expect(ids(await list('method=get'))).toEqual([a.id]);
      expect(ids(await list('channel=sms'))).toEqual([a.id, c.id]);
      expect(ids(await list('channel=sms&enabled=false'))).toEqual([c.id]);
      expect(ids(await list(`created_after=${encodeURIComponent(String(c.created_at))}`))).toEqual([c.id]);
      expect(ids(await list(`created_before=${encodeURIComponent(String(c.created_at))}`))).toEqual([a.id, b.id]);
      const page = await list('limit=1&offset=1');
      expect(page.body).toMatchObject({ total: 3, offset: 1, limit: 1 });
      expect(ids(page)).toEqual([b.id]);
    });

    it('routes an event with callback_profile_id to that profile only', async () => {
      const auth = await tenant('tpl-route');
      const r = await newReceiver();
      const one = await createCallback(t, { format: 'template', title: 'profile one', channel: 'sms', url: `${r.url}/one` }, auth);
      await createCallback(t, { format: 'template', title: 'profile two', channel: 'sms', url: `${r.url}/two` }, auth);
      const id = await postEvent(t, { type: 'sms.delivered', data: { to: '+1' }, callback_profile_id: one.id }, auth);
      const d = await waitForDelivery(t, id, { auth });
      expect(d.callback_id).toBe(one.id);
      const all = (await t.api('GET', `/v1/deliveries?event_id=${id}`, undefined, { auth })).body.data;
      expect(all).toHaveLength(1);
      expect(r.received.map((x) => x.path)).toEqual(['/one']);
      // Without a profile id both get it.
      const id2 = await postEvent(t, { type: 'sms.delivered', data: { to: '+1' } }, auth);
      await waitUntil(async () => (await t.api('GET', `/v1/deliveries?event_id=${id2}`, undefined, { auth })).body.data.filter((x: { state: string }) => x.state === 'delivered').length === 2);
    });

    describe('auth', () => {
      it('sends basic, bearer and raw Authorization; secrets write-only and sealed at rest', async () => {
        const auth = await tenant('tpl-auth');
        const r = await newReceiver();
        const basicCb = await deliverOne(auth, r, { title: 'basic auth', url: `${r.url}/b`, auth: { type: 'basic', username: 'ann', password: 'pa:ss-word-1' } }, { from: '1' });
        expect(hdr(basicCb.req, 'authorization')).toBe(`Basic ${Buffer.from('ann:pa:ss-word-1').toString('base64')}`);
        expect(basicCb.cb.settings).toMatchObject({ auth: { type: 'basic', username: 'ann', password_set: true } });
        expect(JSON.stringify(basicCb.cb)).not.toContain('pa:ss-word-1');
        expect(basicCb.delivery.attempts_list[0]!.request.headers.authorization).toBe('[redacted]');

        const bearer = await deliverOne(auth, r, { title: 'bearer auth', url: `${r.url}/t`, auth: { type: 'bearer', token: 'tok-123-secret' } }, { from: '1' });
        expect(hdr(bearer.req, 'authorization')).toBe('Bearer tok-123-secret');
        const raw = await deliverOne(auth, r, { title: 'raw auth', url: `${r.url}/r`, auth: { type: 'raw', value: 'ApiKey raw-value-9' } }, { from: '1' });
        expect(hdr(raw.req, 'authorization')).toBe('ApiKey raw-value-9');

        const rows = await t.relay.store.db.selectFrom('callbacks').select(['id', 'settings']).where('id', 'in', [basicCb.cb.id, bearer.cb.id, raw.cb.id]).execute();
        const stored = rows.map((x) => x.settings).join('\n');
        for (const secret of ['pa:ss-word-1', 'tok-123-secret', 'raw-value-9']) expect(stored).not.toContain(secret);
        expect(stored).toContain('sealed:v2:');

        // PATCH keeps the write-only password when it is not given again.
        const patched = await t.api('PATCH', `/v1/callbacks/${basicCb.cb.id}`, { auth: { type: 'basic', username: 'bob' } }, { auth });
        expect(patched.status).toBe(200);
        const again = await postEvent(t, { type: 'sms.inbound', data: { from: '1' }, callback_profile_id: basicCb.cb.id }, auth);
        expect((await waitForDelivery(t, again, { auth })).state).toBe('delivered');
        expect(hdr(r.received.at(-1)!, 'authorization')).toBe(`Basic ${Buffer.from('bob:pa:ss-word-1').toString('base64')}`);
      });
    });

    describe('encryption', () => {
      const decrypt = (cipher: string, key: Buffer, b64: string) => {
        const raw = Buffer.from(b64, 'base64');
        if (cipher.endsWith('gcm')) {
          const d = createDecipheriv(cipher, key, raw.subarray(0, 12)) as import('node:crypto').DecipherGCM;
          d.setAuthTag(raw.subarray(raw.length - 16));
          return Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]).toString('utf8');
        }
        const d = createDecipheriv(cipher, key, raw.subarray(0, 16));
        return Buffer.concat([d.update(raw.subarray(16)), d.final()]).toString('utf8');
      };

      it('encrypts each value (GCM default, CFB) so the receiver decrypts it with node:crypto', async () => {
        const auth = await tenant('tpl-enc');
        const r = await newReceiver();
        for (const [cipher, bytes] of [['aes-256-gcm', 32], ['aes-128-gcm', 16], ['aes-192-cfb', 24], ['aes-128-cfb', 16]] as const) {
          const key = Buffer.alloc(bytes, 0x11 + bytes);
          const { req } = await deliverOne(
            auth,
            r,
            {
              title: `enc ${cipher}`,
              url: `${r.url}/enc`,
              query: { from: '{{from}}' },
              body: '{"text":"{{text}}","args":{{custom_args}}}',
              encryption: { ...(cipher === 'aes-256-gcm' ? {} : { cipher }), key: key.toString('hex'), key_encoding: 'hex' },
            },
            { from: '+44 7700', text: NASTY, custom_args: { a: 1 } },
          );
          const body = JSON.parse(req.body);
          expect(body.text).not.toContain('said');
          expect(decrypt(cipher, key, body.text)).toBe(NASTY);
          expect(JSON.parse(decrypt(cipher, key, body.args))).toEqual({ a: 1 });
          expect(decrypt(cipher, key, new URL(req.path, 'http://x').searchParams.get('from')!)).toBe('+44 7700');
        }
      });

      it('encrypts the whole body as compact JWE (dir, A256GCM) that jose decrypts', async () => {
        const auth = await tenant('tpl-jwe');
        const r = await newReceiver();
        const key = Buffer.alloc(32, 7);
        const { req, cb } = await deliverOne(auth, r, { title: 'jwe profile', url: `${r.url}/jwe`, body: '{"text":"{{text}}"}', encryption: { scope: 'body', key: key.toString('base64') } }, { text: NASTY });
        expect(hdr(req, 'content-type')).toBe('application/jose');
        expect(req.body.split('.')).toHaveLength(5);
        const { plaintext, protectedHeader } = await compactDecrypt(req.body, new Uint8Array(key));
        expect(protectedHeader).toMatchObject({ alg: 'dir', enc: 'A256GCM' });
        expect(JSON.parse(new TextDecoder().decode(plaintext))).toEqual({ text: NASTY });
        expect(cb.settings).toMatchObject({ encryption: { scope: 'body', cipher: 'aes-256-gcm', key_set: true } });
        expect(JSON.stringify(cb)).not.toContain(key.toString('base64'));
      });
    });

    it('success criteria: accepted statuses and a required body substring', async () => {
      const auth = await tenant('tpl-success');
      const r = await newReceiver();
      r.behaviour = (_req, res, i) => {
        if (i === 0) res.writeHead(200).end('nope');
        else if (i === 1) res.writeHead(200).end('accepted: OK');
        else res.writeHead(202).end('OK');
      };
      const cb = await createCallback(t, { format: 'template', title: 'picky receiver', url: `${r.url}/s`, success: { statuses: [202], body_contains: 'OK' } }, auth);
      const id = await postEvent(t, { type: 'sms.delivered', data: {}, callback_profile_id: cb.id }, auth);
      const d = await waitForDelivery(t, id, { auth });
      expect(d.state).toBe('delivered');
      expect(d.attempts_list.map((a) => [a.response?.status, a.outcome])).toEqual([
        [200, 'retryable'],
        [200, 'retryable'],
        [202, 'success'],
      ]);
    });

    describe('test and refresh', () => {
      it('POST /callbacks/{id}/test sends a sample through the delivery path and records a test attempt', async () => {
        const auth = await tenant('tpl-test');
        const r = await newReceiver();
        r.behaviour = (_req, res) => res.writeHead(201, { 'x-answer': 'yes' }).end('created it');
        const cb = await createCallback(
          t,
          { format: 'template', title: 'test me', channel: 'email', url: `${r.url}/t?k={{to}}`, auth: { type: 'bearer', token: 'very-secret-token' }, body: '{"s":"{{subject}}"}' },
          auth,
        );
        const res = await t.api('POST', `/v1/callbacks/${cb.id}/test`, undefined, { auth });
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ outcome: 'success', reason: null, error: null, event: { type: 'email.delivered' }, response: { status: 201, body: 'created it', headers: { 'x-answer': 'yes' } } });
        expect(res.body.request.method).toBe('POST');
        expect(res.body.request.headers.authorization).toBe('[redacted]');
        expect(JSON.parse(res.body.request.body)).toEqual({ s: 'Sample subject' });
        expect(JSON.stringify(res.body)).not.toContain('very-secret-token');
        expect(hdr(r.received.at(-1)!, 'authorization')).toBe('Bearer very-secret-token');
        const row = await t.relay.store.db.selectFrom('attempts').selectAll().where('id', '=', res.body.attempt_id).executeTakeFirstOrThrow();
        expect(row).toMatchObject({ kind: 'test', delivery_id: null, callback_id: cb.id, response_status: 201, outcome: 'success' });
        expect(JSON.stringify(row)).not.toContain('very-secret-token');

        // A draft: same body as create, nothing saved; a dead port answers with the error class.
        const port = await freePort();
        const before = (await t.api('GET', '/v1/callbacks', undefined, { auth })).body.total;
        const draft = await t.api('POST', '/v1/callbacks/test', { format: 'template', title: 'draft one', url: `http://127.0.0.1:${port}/x` }, { auth });
        expect(draft.status).toBe(200);
        expect(draft.body).toMatchObject({ outcome: 'retryable', response: null, error: { class: 'refused' } });
        expect((await t.api('GET', '/v1/callbacks', undefined, { auth })).body.total).toBe(before);
        const bad = await t.api('POST', '/v1/callbacks/test', { format: 'template', title: 'draft one', url: `http://127.0.0.1:${port}/x`, body: '{' }, { auth });
        expect([bad.status, bad.body.field]).toEqual([422, 'body']);
      });

      it('POST /callbacks/{id}/refresh sends the configured method and records the status', async () => {
        const auth = await tenant('tpl-refresh');
        const r = await newReceiver();
        const cb = await createCallback(t, { format: 'template', title: 'refresh me', method: 'PUT', url: `${r.url}/p/{{to}}` }, auth);
        const res = await t.api('POST', `/v1/callbacks/${cb.id}/refresh`, undefined, { auth });
        expect(res.body).toMatchObject({ status: 'available', status_reason: null });
        expect(r.received.at(-1)).toMatchObject({ method: 'PUT', path: '/p/%2B15555550100' });

        const port = await freePort();
        const dead = await createCallback(t, { format: 'template', title: 'refresh dead', method: 'GET', url: `http://127.0.0.1:${port}/x` }, auth);
        const res2 = await t.api('POST', `/v1/callbacks/${dead.id}/refresh`, undefined, { auth });
        expect(res2.body.status).toBe('unavailable');
        expect(res2.body.status_reason).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/x.*refused/);
        expect(res2.body.status_checked_at).not.toBeNull();
      });
    });
  });
}
