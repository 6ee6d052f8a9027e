import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { TestReceiver } from '../helpers/receiver.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { useRelaySuite } from '../helpers/suite.js';
import { createCallback, postEvent, waitForDelivery } from '../helpers/e2e.js';
import { decryptValue, parse, verifyEngagelab, verifyEngagelabEmail, verifyStandard, verifyTemplate, verifyTwilio, verifyWhispir } from '../../src/receiver/index.js';
import { asRequest, reasonOf, useKit } from './kit.js';

/**
 * The receiver kit against what the relay actually sends: for every format, a real relay delivers to
 * a real receiver on 127.0.0.1 that verifies and parses with the kit; then what it got is changed
 * (body, time, key) and each change is refused with its reason. The kit's code is not the relay's
 * (src/receiver imports nothing of src/formats), so the two cannot agree by construction.
 */
const sqlite = BACKENDS[0]!;
const LATER = () => Date.now() + 10 * 60_000;
const otherWhsec = () => `whsec_${randomBytes(32).toString('base64')}`;

describe('receiver kit: every format the relay sends', () => {
  let t!: TestRelay;
  const { newReceiver, tenant } = useRelaySuite(sqlite, {}, (relay) => {
    t = relay;
  });

  it('standard: verifies, parses {id, type, created_at, data, resource_id}; refuses a changed body, a stale timestamp, another secret, a missing header', async () => {
    const auth = await tenant('std');
    const receiver = await newReceiver();
    let secret = '';
    const kit = useKit(receiver, 'standard', () => ({ secret }));
    const cb = await createCallback(t, { title: 'std', url: `${receiver.url}/hooks` }, auth);
    secret = cb.secret;
    const id = await postEvent(t, { type: 'sms.delivered', data: { message_id: 'm-1', to: '+33600000001', parts: 2 } }, auth);
    expect((await waitForDelivery(t, id, { auth })).state).toBe('delivered');
    expect(kit.refused).toEqual([]);
    const [got] = kit.accepted;
    expect(got!.events).toEqual([
      { id, type: 'sms.delivered', created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), data: { message_id: 'm-1', to: '+33600000001', parts: 2 }, resource_id: 'm-1', format: 'standard' },
    ]);

    const req = asRequest(got!.req);
    expect(verifyStandard(req, { secret }).id).toBe(id);
    expect(reasonOf(() => verifyStandard({ ...req, body: String(req.body).replace('m-1', 'm-2') }, { secret }))).toBe('bad_signature');
    expect(reasonOf(() => verifyStandard(req, { secret, now: LATER() }))).toBe('stale_timestamp');
    expect(reasonOf(() => verifyStandard(req, { secret, now: LATER(), toleranceSec: 3600 }))).toBe('passed');
    expect(reasonOf(() => verifyStandard(req, { secret: otherWhsec() }))).toBe('bad_signature');
    const { 'webhook-signature': _s, ...unsigned } = req.headers;
    expect(reasonOf(() => verifyStandard({ ...req, headers: unsigned }, { secret }))).toBe('missing_header');
    // Several secrets (a rotation on the receiver's side): any one that signed passes.
    expect(reasonOf(() => verifyStandard(req, { secret: [otherWhsec(), secret] }))).toBe('passed');
  });

  it('standard: after rotate-secret the header holds two signatures and either secret verifies; a receiver with another secret answers 401 with the reason', async () => {
    const auth = await tenant('std-rotate');
    const receiver = await newReceiver();
    const cb = await createCallback(t, { title: 'rot', url: receiver.url }, auth);
    const rotated = await t.api('POST', `/v1/callbacks/${cb.id}/rotate-secret`, {}, { auth });
    expect(rotated.status).toBe(200);
    let secret = rotated.body.secret as string;
    const kit = useKit(receiver, 'standard', () => ({ secret }));
    const id = await postEvent(t, { type: 'sms.sent', data: { message_id: 'm-r' } }, auth);
    expect((await waitForDelivery(t, id, { auth })).state).toBe('delivered');
    const req = asRequest(kit.accepted[0]!.req);
    expect(String(req.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(reasonOf(() => verifyStandard(req, { secret: cb.secret }))).toBe('passed');

    secret = otherWhsec();
    const refused = await postEvent(t, { type: 'sms.sent', data: { message_id: 'm-x' } }, auth);
    const d = await waitForDelivery(t, refused, { auth });
    expect(d.state).toBe('failed');
    expect(d.attempts_list[0]!.response).toMatchObject({ status: 401, body: 'bad_signature' });
    expect(kit.refused.map((r) => r.reason)).toEqual(['bad_signature', 'bad_signature', 'bad_signature']);
  });

  it('template: the default JSON body parsed; values encrypted with AES-256-GCM and AES-128-CFB decrypted; a JWE body decrypted; signatures over what was sent', async () => {
    const auth = await tenant('tpl');
    const receiver = await newReceiver();
    const gcmKey = randomBytes(32);
    const cfbKey = randomBytes(16);
    const jweKey = randomBytes(32);
    const secrets = new Map<string, string>();
    const profile = async (title: string, extra: Record<string, unknown>) => {
      const cb = await createCallback(t, { format: 'template', title, url: `${receiver.url}/${title.replace(/ /g, '-')}`, channel: 'sms', events: ['sms.delivered'], ...extra }, auth);
      secrets.set(cb.id, cb.secret);
      return cb;
    };
    const plain = await profile('plain json', {});
    const gcm = await profile('values gcm', { encryption: { key: gcmKey.toString('base64') } });
    const cfb = await profile('values cfb', { encryption: { cipher: 'aes-128-cfb', key: cfbKey.toString('hex'), key_encoding: 'hex' } });
    const jwe = await profile('whole body', { encryption: { scope: 'body', key: jweKey.toString('base64') } });

    // One receiver for all four: the secret of whichever profile the path names.
    const secretOf = (path: string) => secrets.get([plain, gcm, cfb, jwe].find((c) => path.startsWith(new URL(String(c.url)).pathname))!.id)!;
    let current = '';
    const kit = useKit(receiver, 'template', () => ({ secret: current }), { jweKey });
    const wrapped = receiver.behaviour;
    receiver.behaviour = (req, res, i) => {
      current = secretOf(req.path);
      wrapped(req, res, i);
    };

    const data = { message_id: 'tm-1', to: '+44 7700 900123', status: 'delivered', note: 'He said "hi" & <b>bye</b> ✓' };
    const ids: Record<string, string> = {};
    for (const cb of [plain, gcm, cfb, jwe]) {
      ids[cb.id] = await postEvent(t, { type: 'sms.delivered', data, resource_id: 'tm-1', callback_profile_id: cb.id }, auth);
      expect((await waitForDelivery(t, ids[cb.id]!, { auth })).state).toBe('delivered');
    }
    expect(kit.refused).toEqual([]);
    const byPath = (p: string) => kit.accepted.find((a) => a.req.path.startsWith(p))!;

    // Plain and JWE: parsed as sent (the JWE decrypted by the kit first).
    for (const [path, cb] of [['/plain-json', plain], ['/whole-body', jwe]] as const) {
      expect(byPath(path).events).toEqual([{ id: ids[cb.id], type: 'sms.delivered', created_at: expect.any(String), data, resource_id: 'tm-1', format: 'template' }]);
    }
    expect(byPath('/whole-body').req.headers['content-type']).toBe('application/jose');

    // Per-value encryption: every value is ciphertext on the wire; parse decrypts them with the key.
    const gcmReq = asRequest(byPath('/values-gcm').req);
    const wire = JSON.parse(String(gcmReq.body));
    expect(wire.type).not.toBe('sms.delivered');
    expect(decryptValue(wire.type, { key: gcmKey })).toBe('sms.delivered');
    expect(parse('template', gcmReq, { values: { key: gcmKey.toString('base64') } })).toEqual([
      { id: ids[gcm.id], type: 'sms.delivered', created_at: expect.any(String), data, resource_id: 'tm-1', format: 'template' },
    ]);
    const cfbReq = asRequest(byPath('/values-cfb').req);
    expect(parse('template', cfbReq, { values: { key: cfbKey.toString('hex'), keyEncoding: 'hex', cipher: 'aes-128-cfb' } })[0]).toMatchObject({ id: ids[cfb.id], type: 'sms.delivered', data });
    // A wrong key: GCM's tag check fails.
    expect(() => decryptValue(wire.type, { key: randomBytes(32) })).toThrow();

    // Signatures: over the body as sent (encrypted or not), keyed by the profile's whsec_ secret.
    expect(reasonOf(() => verifyTemplate(gcmReq, { secret: gcm.secret }))).toBe('passed');
    expect(reasonOf(() => verifyTemplate({ ...gcmReq, body: String(gcmReq.body).replace(wire.type, wire.id) }, { secret: gcm.secret }))).toBe('bad_signature');
    expect(reasonOf(() => verifyTemplate(gcmReq, { secret: plain.secret }))).toBe('bad_signature');
    expect(reasonOf(() => verifyTemplate(gcmReq, { secret: gcm.secret, now: LATER() }))).toBe('stale_timestamp');
  });

  it('engagelab: X-CALLBACK-ID and the Authorization value verified; a row parsed per event (sms and otp); another secret, username or Authorization, and a late request refused', async () => {
    const auth = await tenant('el');
    const receiver = await newReceiver();
    const o = { username: 'acme', secret: 's3cret-otp', authorization: 'Bearer tok-123' };
    const kit = useKit(receiver, 'engagelab', () => o);
    await createCallback(t, { title: 'otp', url: `${receiver.url}/otp`, format: 'engagelab', ...o }, auth);
    const sms = await postEvent(t, { type: 'sms.delivered', data: { message_id: 'el-1', to: '+6590000001', cost: 0.01, currency: 'USD', custom_args: { order: 7 } } }, auth);
    const otp = await postEvent(t, { type: 'otp.verified', data: { message_id: 'el-2', to: '+6590000002' } }, auth);
    for (const id of [sms, otp]) expect((await waitForDelivery(t, id, { auth })).state).toBe('delivered');
    expect(kit.refused).toEqual([]);
    const events = kit.accepted.flatMap((a) => a.events);
    expect(events.find((e) => e.resource_id === 'el-1')).toMatchObject({
      id: 'engagelab:el-1:delivered',
      type: 'sms.delivered',
      format: 'engagelab',
      data: { message_id: 'el-1', to: '+6590000001', status: 'delivered', error_code: 0, cost: 0.01, currency: 'USD', custom_args: { order: 7 } },
    });
    expect(events.find((e) => e.resource_id === 'el-2')).toMatchObject({ id: 'engagelab:el-2:verified', type: 'otp.verified', data: { to: '+6590000002' } });

    const req = asRequest(kit.accepted[0]!.req);
    expect(reasonOf(() => verifyEngagelab(req, { ...o, secret: 'another' }))).toBe('bad_signature');
    expect(reasonOf(() => verifyEngagelab(req, { ...o, username: 'other' }))).toBe('wrong_key');
    expect(reasonOf(() => verifyEngagelab(req, { ...o, authorization: 'Bearer other' }))).toBe('wrong_key');
    expect(reasonOf(() => verifyEngagelab(req, { ...o, now: LATER() }))).toBe('stale_timestamp');
    const forged = String(req.headers['x-callback-id']).replace(/timestamp=\d+/, `timestamp=${Math.floor(LATER() / 1000)}`);
    expect(reasonOf(() => verifyEngagelab({ ...req, headers: { ...req.headers, 'x-callback-id': forged } }, o))).toBe('bad_signature');
    expect(reasonOf(() => verifyEngagelab({ ...req, headers: { 'content-type': 'application/json' } }, o))).toBe('missing_header');
  });

  it('engagelab-email: md5 and HMAC-SHA256 signatures verified; status and engagement events parsed; another key or app key and a late request refused', async () => {
    const auth = await tenant('mail');
    const receiver = await newReceiver();
    let key = '';
    const kit = useKit(receiver, 'engagelab-email', () => ({ key }));
    const cb = await createCallback(t, { title: 'mail', url: `${receiver.url}/mail`, format: 'engagelab-email' }, auth);
    key = cb.secret;
    const delivered = await postEvent(t, { type: 'email.delivered', data: { message_id: 'e-1', to: 'ann@example.com', from: 'shop@example.com', subject: 'Hi', task_id: 42 } }, auth);
    const open = await postEvent(t, { type: 'email.open', data: { message_id: 'e-1', email_id: 'x-9', ip: '192.0.2.1' } }, auth);
    for (const id of [delivered, open]) expect((await waitForDelivery(t, id, { auth })).state).toBe('delivered');
    expect(kit.refused).toEqual([]);
    const events = kit.accepted.flatMap((a) => a.events);
    expect(events[0]).toMatchObject({ id: expect.stringMatching(/^engagelab-email:e-1:deliver:\d+$/), type: 'email.delivered', resource_id: 'e-1', data: { to: 'ann@example.com', from: 'shop@example.com', subject: 'Hi', task_id: 42 } });
    expect(events[1]).toMatchObject({ id: expect.stringMatching(/^engagelab-email:e-1:open:\d+$/), type: 'email.open', data: { email_id: 'x-9', ip: '192.0.2.1' } });

    const req = asRequest(kit.accepted[0]!.req);
    expect(reasonOf(() => verifyEngagelabEmail(req, { key: 'f'.repeat(32) }))).toBe('bad_signature');
    expect(reasonOf(() => verifyEngagelabEmail(req, { key, appKey: 'other' }))).toBe('wrong_key');
    expect(reasonOf(() => verifyEngagelabEmail(req, { key, now: LATER() }))).toBe('stale_timestamp');

    // The other scheme.
    const r2 = await newReceiver();
    const hmacKey = 'hmac-key-0123456789';
    const kit2 = useKit(r2, 'engagelab-email', () => ({ key: hmacKey, scheme: 'hmac-sha256', appKey: 'email' }));
    await createCallback(t, { title: 'mail2', url: r2.url, format: 'engagelab-email', signature: 'hmac-sha256', secret: hmacKey, events: [4] }, auth);
    const invalid = await postEvent(t, { type: 'email.invalid', data: { message_id: 'e-2', sub_status: 406 } }, auth);
    expect((await waitForDelivery(t, invalid, { auth })).state).toBe('delivered');
    expect(kit2.accepted.flatMap((a) => a.events)).toMatchObject([{ type: 'email.invalid', resource_id: 'e-2', data: { sub_status: 406 } }]);
    expect(reasonOf(() => verifyEngagelabEmail(asRequest(kit2.accepted[0]!.req), { key: hmacKey }))).toBe('bad_signature');
  });

  it('octopush: delivery receipts, replies and STOPs parsed from JSON and form bodies, dates read in the callback time zone', async () => {
    const auth = await tenant('oct');
    const json = await newReceiver();
    const form = await newReceiver();
    const kitJson = useKit(json, 'octopush', () => ({}));
    const kitForm = useKit(form, 'octopush', () => ({}), { timeZone: 'Europe/Paris' });
    await createCallback(t, { title: 'json', url: `${json.url}/dr`, format: 'octopush', events: ['sms.delivered', 'sms.undelivered'] }, auth);
    await createCallback(t, { title: 'form', url: `${form.url}/all`, format: 'octopush', encoding: 'form', timezone: 'Europe/Paris', events: ['sms.inbound', 'sms.opt_out'] }, auth);
    const at = '2026-07-01T10:00:00.000Z';
    const ids = [
      await postEvent(t, { type: 'sms.delivered', data: { message_id: 'o-1', to: '+33600000001', event_time: at, custom_args: { ref: 'A1' } } }, auth),
      await postEvent(t, { type: 'sms.undelivered', data: { message_id: 'o-2', to: '+33600000002', event_time: at } }, auth),
      await postEvent(t, { type: 'sms.inbound', data: { message_id: 'o-3', from: '+33600000003', to: '+33700000000', text: 'Oui & merci', event_time: at } }, auth),
      await postEvent(t, { type: 'sms.opt_out', data: { message_id: 'o-4', from: '+33600000004', event_time: at } }, auth),
    ];
    for (const id of ids) expect((await waitForDelivery(t, id, { auth })).state).toBe('delivered');
    const all = [...kitJson.accepted, ...kitForm.accepted].flatMap((a) => a.events);
    const byId = (m: string) => all.find((e) => e.resource_id === m);
    expect(byId('o-1')).toMatchObject({ id: 'octopush:o-1:DELIVERED', type: 'sms.delivered', created_at: at, data: { to: '+33600000001', status: 'DELIVERED', custom_args: { ref: 'A1' } } });
    expect(byId('o-2')).toMatchObject({ id: 'octopush:o-2:NOT_DELIVERED', type: 'sms.undelivered' });
    // Form, Paris time (12:00 on the wire), read back as 10:00 UTC.
    expect(kitForm.accepted[0]!.req.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(byId('o-3')).toMatchObject({ id: 'octopush:o-3:reply', type: 'sms.inbound', created_at: at, data: { from: '+33600000003', text: 'Oui & merci' } });
    expect(byId('o-4')).toMatchObject({ id: 'octopush:o-4:stop', type: 'sms.opt_out', created_at: at, data: { from: '+33600000004', text: 'STOP' } });
  });

  it('whispir: the key by ?auth= or header verified (the check GET too); JSON replies and XML undeliverable notices parsed; a wrong or missing key refused', async () => {
    const auth = await tenant('wh');
    const q = await newReceiver();
    const h = await newReceiver();
    const kitQ = useKit(q, 'whispir', () => ({ key: 'key-q' }));
    const kitH = useKit(h, 'whispir', () => ({ key: 'key-h' }));
    await createCallback(t, { title: 'replies', url: `${q.url}/cb`, format: 'whispir', auth: { type: 'querystring', key: 'key-q' }, callbacks: { undeliverable: false } }, auth);
    await createCallback(t, { title: 'undeliverable', url: `${h.url}/cb`, format: 'whispir', content_type: 'xml', auth: { type: 'httpheader', key: 'key-h' }, callbacks: { reply: false } }, auth);
    // Creating each sent its check GET, which the kit verified.
    expect(q.received[0]!.method).toBe('GET');
    expect(h.received[0]!.method).toBe('GET');
    const at = '2026-07-01T10:00:00.000Z';
    const reply = await postEvent(t, { type: 'sms.inbound', data: { message_id: 'w-1', from: '0430984567', text: 'Yes, I accept.', event_time: at, custom_args: { shift: 'night' } } }, auth);
    const undeliverable = await postEvent(t, { type: 'sms.undelivered', data: { message_id: 'w-2', to: '0430000000', text: 'Your <code> & more', event_time: at, custom_args: { shift: 'day' } } }, auth);
    for (const id of [reply, undeliverable]) expect((await waitForDelivery(t, id, { auth })).state).toBe('delivered');
    expect([...kitQ.refused, ...kitH.refused]).toEqual([]);
    expect(kitQ.accepted.flatMap((a) => a.events)).toMatchObject([
      { id: `whispir:w-1:reply:01/07/26 10:00`, type: 'sms.inbound', created_at: at, resource_id: 'w-1', data: { from: '0430984567', text: 'Yes, I accept.', channel: 'SMS', custom_args: { shift: 'night' } } },
    ]);
    expect(kitH.accepted[0]!.req.headers['content-type']).toBe('application/xml');
    expect(kitH.accepted.flatMap((a) => a.events)).toMatchObject([
      { type: 'sms.undelivered', created_at: at, resource_id: 'w-2', data: { to: '0430000000', text: 'Your <code> & more', custom_args: { shift: 'day' } } },
    ]);

    const qReq = asRequest(kitQ.accepted[0]!.req);
    expect(reasonOf(() => verifyWhispir(qReq, { key: 'other' }))).toBe('wrong_key');
    expect(reasonOf(() => verifyWhispir({ ...qReq, url: '/cb' }, { key: 'key-q' }))).toBe('missing_header');
    expect(reasonOf(() => verifyWhispir(asRequest(kitH.accepted[0]!.req), { key: 'key-q' }))).toBe('wrong_key');
  });

  it('twilio: X-Twilio-Signature over the URL called and the sorted parameters verified; statuses parsed; a changed parameter, another token or URL refused', async () => {
    const auth = await tenant('tw');
    const receiver = await newReceiver();
    const token = 'twilio-auth-token-kit';
    const kit = useKit(receiver, 'twilio', () => ({ authToken: token }));
    const account = 'AC0123456789abcdef0123456789abcdef';
    await createCallback(t, { title: 'tw', url: `${receiver.url}/twilio/status?site=eu`, format: 'twilio', account_sid: account, auth_token: token }, auth);
    const delivered = await postEvent(t, { type: 'sms.delivered', data: { message_id: 'SM11111111111111111111111111111111', from: '+15005550006', to: '+33600000001' } }, auth);
    const failed = await postEvent(t, { type: 'sms.undelivered', data: { message_id: 'SM2', from: 'Shop & Co', to: '+33600000002', error_code: 30003 } }, auth);
    for (const id of [delivered, failed]) expect((await waitForDelivery(t, id, { auth })).state).toBe('delivered');
    expect(kit.refused).toEqual([]);
    const events = kit.accepted.flatMap((a) => a.events);
    expect(events[0]).toMatchObject({
      id: 'twilio:SM11111111111111111111111111111111:delivered',
      type: 'sms.delivered',
      resource_id: 'SM11111111111111111111111111111111',
      data: { status: 'delivered', from: '+15005550006', to: '+33600000001', account_sid: account },
    });
    expect(events[1]).toMatchObject({ id: 'twilio:SM2:undelivered', type: 'sms.undelivered', data: { from: 'Shop & Co', error_code: 30003 } });

    const req = asRequest(kit.accepted[0]!.req);
    expect(reasonOf(() => verifyTwilio(req, { authToken: token, url: `${receiver.url}/twilio/status?site=eu` }))).toBe('passed');
    expect(reasonOf(() => verifyTwilio({ ...req, body: String(req.body).replace('delivered', 'failed') }, { authToken: token }))).toBe('bad_signature');
    expect(reasonOf(() => verifyTwilio(req, { authToken: 'another-token' }))).toBe('bad_signature');
    expect(reasonOf(() => verifyTwilio(req, { authToken: token, url: `${receiver.url}/twilio/status` }))).toBe('bad_signature');
  });
});

describe('receiver kit: an EngageLab request carrying several rows', () => {
  let url = '';
  let drop: () => Promise<void> = async () => {};
  let receiver!: TestReceiver;
  const relays: TestRelay[] = [];
  beforeAll(async () => {
    ({ url, drop } = await sqlite.create());
    receiver = await new TestReceiver().start();
  });
  afterAll(async () => {
    for (const r of relays) await r.close();
    await receiver.close();
    await drop();
  });

  it('parses one event per row of {total, rows}', async () => {
    const o = { username: 'acme', secret: 'batch-secret' };
    const kit = useKit(receiver, 'engagelab', () => o);
    // The API alone stores the events; the worker, started later, finds them due together: one request.
    const api = await startTestRelay(url, { roles: ['api'] });
    relays.push(api);
    await createCallback(api, { title: 'otp', url: `${receiver.url}/otp`, format: 'engagelab', ...o });
    for (let i = 0; i < 3; i++) await postEvent(api, { type: 'otp.delivered', data: { message_id: `b-${i}`, to: '+6590000000' } });
    await api.close();
    relays.pop();
    relays.push(await startTestRelay(url));
    await receiver.waitFor(() => kit.accepted.flatMap((a) => a.events).length === 3, 20_000, 'three rows');
    expect(kit.accepted).toHaveLength(1);
    expect(JSON.parse(kit.accepted[0]!.req.body).total).toBe(3);
    expect(kit.accepted[0]!.events.map((e) => [e.id, e.type])).toEqual([
      ['engagelab:b-0:delivered', 'otp.delivered'],
      ['engagelab:b-1:delivered', 'otp.delivered'],
      ['engagelab:b-2:delivered', 'otp.delivered'],
    ]);
  });
});
