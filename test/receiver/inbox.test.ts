import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import type { TestRelay } from '../helpers/relay.js';
import { useRelaySuite } from '../helpers/suite.js';
import { createCallback, postEvent, waitForDelivery, waitUntil } from '../helpers/e2e.js';
import { nodeHandler, openInbox, type Inbox, type InboxOptions, type ReceivedEvent, type ReceivedRequest } from '../../src/receiver/index.js';

/**
 * The inbox on real HTTP: a node:http server with the kit's handler, a real relay calling it, a real
 * SQLite file. Conditions are waited for; retries use short delays rather than a clock.
 */
const dir = mkdtempSync(join(tmpdir(), 'receiver-inbox-'));
let files = 0;
const newFile = () => join(dir, `inbox-${++files}.db`);

const servers: Server[] = [];
const inboxes: Inbox[] = [];

/** Serves `inbox` on 127.0.0.1, recording each request as the kit took it. */
async function serve(inbox: Inbox): Promise<{ url: string; seen: ReceivedRequest[] }> {
  const seen: ReceivedRequest[] = [];
  const server = createServer(nodeHandler({ handle: (r) => (seen.push(r), inbox.handle(r)) }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

function open(o: Omit<InboxOptions<'standard'>, 'format'>): Inbox<'standard'> {
  const inbox = openInbox({ format: 'standard', onError: () => {}, ...o });
  inboxes.push(inbox as Inbox);
  return inbox;
}

afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  for (const i of inboxes) await i.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('receiver kit: the inbox', () => {
  let t!: TestRelay;
  const { tenant } = useRelaySuite(BACKENDS[0]!, {}, (relay) => {
    t = relay;
  });

  /** A standard callback of a new tenant to `url`; returns its secret and the tenant. */
  async function callbackTo(url: string, name: string): Promise<{ auth: string; secret: string }> {
    const auth = await tenant(name);
    const cb = await createCallback(t, { title: name, url }, auth);
    return { auth, secret: cb.secret };
  }

  it('answers 200 before the handler finishes: the relay has its answer while the handler still waits', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const calls: ReceivedEvent[] = [];
    let finished = false;
    const verify = { secret: '' };
    const inbox = open({
      file: newFile(),
      verify,
      handler: async (e) => {
        calls.push(e);
        await gate;
        finished = true;
      },
    });
    const { url } = await serve(inbox);
    const cb = await callbackTo(`${url}/hooks`, 'fast-ack');
    verify.secret = cb.secret;
    const id = await postEvent(t, { type: 'sms.delivered', data: { message_id: 'm-1' } }, cb.auth);
    const d = await waitForDelivery(t, id, { auth: cb.auth });
    expect(d.state).toBe('delivered');
    expect(d.attempts_list[0]!.response?.status).toBe(200);
    await waitUntil(() => calls.length === 1, { what: 'the handler to be called' });
    expect(finished).toBe(false);
    expect(inbox.list()).toMatchObject([{ key: id, state: 'pending', attempts: 0 }]);
    release();
    await waitUntil(() => inbox.list()[0]!.state === 'done', { what: 'the event to be done' });
    expect(finished).toBe(true);
    expect(calls[0]).toMatchObject({ id, type: 'sms.delivered', data: { message_id: 'm-1' } });
    expect(inbox.list()).toMatchObject([{ key: id, state: 'done', attempts: 1, last_error: null }]);
  });

  it('de-duplicates by webhook-id: the same request twice answers 200 twice and calls the handler once', async () => {
    const calls: string[] = [];
    const verify = { secret: '' };
    const inbox = open({
      file: newFile(),
      verify,
      handler: (e) => void calls.push(e.id),
    });
    const { url, seen } = await serve(inbox);
    const cb = await callbackTo(url, 'dedupe');
    verify.secret = cb.secret;
    const id = await postEvent(t, { type: 'sms.sent', data: { message_id: 'm-2' } }, cb.auth);
    expect((await waitForDelivery(t, id, { auth: cb.auth })).state).toBe('delivered');
    await waitUntil(() => inbox.list()[0]?.state === 'done', { what: 'the first copy handled' });

    // The relay's request sent again, byte for byte (a retry after a lost answer looks like this).
    const first = seen[0]!;
    const headers: Record<string, string> = {};
    for (const name of ['content-type', 'webhook-id', 'webhook-timestamp', 'webhook-signature']) headers[name] = String(first.headers[name]);
    const again = await fetch(`${url}${first.url}`, { method: 'POST', headers, body: Buffer.from(first.body as Uint8Array) });
    expect(again.status).toBe(200);
    expect(seen).toHaveLength(2);
    // A later event is handled after it: the duplicate did not stop the inbox, nor was it handled.
    const next = await postEvent(t, { type: 'sms.sent', data: { message_id: 'm-3' } }, cb.auth);
    await waitUntil(() => calls.includes(next), { what: 'the next event handled' });
    expect(calls).toEqual([id, next]);
    expect(inbox.list().map((e) => [e.key, e.state])).toEqual([
      [id, 'done'],
      [next, 'done'],
    ]);
  });

  it('retries a failing handler with backoff: throws twice, then succeeds — 3 calls, then done', async () => {
    const attempts: number[] = [];
    const verify = { secret: '' };
    const inbox = open({
      file: newFile(),
      verify,
      retry: { delaysMs: [20, 40] },
      handler: (_e, { attempt }) => {
        attempts.push(attempt);
        if (attempt < 3) throw new Error(`not yet (${attempt})`);
      },
    });
    const { url } = await serve(inbox);
    const cb = await callbackTo(url, 'retries');
    verify.secret = cb.secret;
    const id = await postEvent(t, { type: 'sms.delivered', data: {} }, cb.auth);
    await waitUntil(() => inbox.list()[0]?.state === 'done', { what: 'done after retries' });
    expect(attempts).toEqual([1, 2, 3]);
    expect(inbox.list()).toMatchObject([{ key: id, state: 'done', attempts: 3, last_error: null }]);
  });

  it('dead-letters after maxAttempts with the last error visible; retry() gives it another round', async () => {
    let fail = true;
    let calls = 0;
    const verify = { secret: '' };
    const inbox = open({
      file: newFile(),
      verify,
      retry: { maxAttempts: 2, delaysMs: [10] },
      handler: () => {
        calls += 1;
        if (fail) throw new Error('database down');
      },
    });
    const { url } = await serve(inbox);
    const cb = await callbackTo(url, 'dead');
    verify.secret = cb.secret;
    const id = await postEvent(t, { type: 'sms.delivered', data: {} }, cb.auth);
    await waitUntil(() => inbox.list('dead').length === 1, { what: 'a dead letter' });
    expect(calls).toBe(2);
    expect(inbox.list('dead')).toMatchObject([{ key: id, attempts: 2, last_error: 'database down' }]);
    expect(inbox.list('pending')).toEqual([]);

    fail = false;
    expect(inbox.retry(id)).toBe(true);
    await waitUntil(() => inbox.list()[0]?.state === 'done', { what: 'done after retry()' });
    expect(calls).toBe(3);
    expect(inbox.retry(id)).toBe(false);
  });

  it('refuses a request that does not verify with 401 and its reason, and stores nothing', async () => {
    const calls: string[] = [];
    const inbox = open({ file: newFile(), verify: { secret: `whsec_${Buffer.alloc(32, 9).toString('base64')}` }, handler: (e) => void calls.push(e.id) });
    const { url } = await serve(inbox);
    const cb = await callbackTo(url, 'refused');
    const id = await postEvent(t, { type: 'sms.delivered', data: {} }, cb.auth);
    const d = await waitForDelivery(t, id, { auth: cb.auth });
    expect(d.state).toBe('failed');
    expect(d.attempts_list[0]!.response?.status).toBe(401);
    expect(JSON.parse(d.attempts_list[0]!.response!.body!)).toMatchObject({ error: 'bad_signature' });
    expect(inbox.list()).toEqual([]);
    expect(calls).toEqual([]);
    // The relay's URL check (HEAD) is answered 200 without a signature.
    expect((await fetch(url, { method: 'HEAD' })).status).toBe(200);
  });

  it('survives a restart: an event stored by a receive-only inbox is handled once the file is opened again with processing', async () => {
    const file = newFile();
    const verify = { secret: '' };
    const receiveOnly = open({ file, verify, process: false, handler: () => expect.unreachable('a receive-only inbox does not handle') });
    const { url } = await serve(receiveOnly);
    const cb = await callbackTo(url, 'restart');
    verify.secret = cb.secret;
    const id = await postEvent(t, { type: 'sms.inbound', data: { from: '+336', text: 'hello' } }, cb.auth);
    expect((await waitForDelivery(t, id, { auth: cb.auth })).state).toBe('delivered');
    expect(receiveOnly.list()).toMatchObject([{ key: id, state: 'pending', attempts: 0 }]);
    await receiveOnly.close();
    expect(await receiveOnly.handle({ method: 'POST', url: '/', headers: {}, body: '' })).toMatchObject({ status: 503 });

    const handled: ReceivedEvent[] = [];
    const reopened = open({ file, verify, handler: (e) => void handled.push(e) });
    await waitUntil(() => handled.length === 1, { what: 'the stored event handled after reopening' });
    expect(handled[0]).toMatchObject({ id, type: 'sms.inbound', data: { from: '+336', text: 'hello' } });
    await waitUntil(() => reopened.list()[0]?.state === 'done', { what: 'done' });
  });
  it('vendor formats and templates through the inbox: the URL checks answered without storing, each event handled once', async () => {
    const handled: ReceivedEvent[] = [];
    const handler = (e: ReceivedEvent) => void handled.push(e);
    const auth = await tenant('vendors');
    const jweKey = Buffer.alloc(32, 3);
    const tplVerify = { secret: '' };
    const vendors = {
      whispir: openInbox({ file: newFile(), format: 'whispir', verify: { key: 'w-key' }, handler }),
      engagelab: openInbox({ file: newFile(), format: 'engagelab', verify: { username: 'acme', secret: 'el-secret' }, handler }),
      octopush: openInbox({ file: newFile(), format: 'octopush', verify: {}, handler }),
      template: openInbox({ file: newFile(), format: 'template', verify: tplVerify, decrypt: { scope: 'body', key: jweKey }, handler }),
    };
    inboxes.push(...(Object.values(vendors) as Inbox[]));
    const urls: Record<string, string> = {};
    for (const [name, inbox] of Object.entries(vendors)) urls[name] = (await serve(inbox as Inbox)).url;

    // Whispir saves a callback only when its check GET (with the key) answers 200: the inbox verifies it.
    await createCallback(t, { title: 'w', url: `${urls.whispir}/cb`, format: 'whispir', auth: { type: 'querystring', key: 'w-key' } }, auth);
    const el = await createCallback(t, { title: 'el', url: urls.engagelab!, format: 'engagelab', username: 'acme', secret: 'el-secret', events: ['sms.delivered'] }, auth);
    await createCallback(t, { title: 'oct', url: urls.octopush!, format: 'octopush', events: ['sms.opt_out'] }, auth);
    const tpl = await createCallback(t, { title: 'tpl', url: urls.template!, format: 'template', channel: 'sms', events: ['sms.sent'], encryption: { scope: 'body', key: jweKey.toString('base64') } }, auth);
    tplVerify.secret = tpl.secret;
    // EngageLab's refresh posts a signed {}: answered 200, nothing stored.
    expect((await t.api('POST', `/v1/callbacks/${el.id}/refresh`, {}, { auth })).body).toMatchObject({ status: 'available' });
    expect(vendors.engagelab.list()).toEqual([]);

    const ids = [
      await postEvent(t, { type: 'sms.inbound', data: { message_id: 'w-1', from: '0430', text: 'yes' } }, auth),
      await postEvent(t, { type: 'sms.delivered', data: { message_id: 'el-1', to: '+65' } }, auth),
      await postEvent(t, { type: 'sms.opt_out', data: { message_id: 'o-1', from: '+33' } }, auth),
      await postEvent(t, { type: 'sms.sent', data: { message_id: 't-1' } }, auth),
    ];
    await waitUntil(() => handled.length === 4, { what: 'four events handled' });
    expect(handled.map((e) => [e.format, e.type, e.resource_id]).sort()).toEqual([
      ['engagelab', 'sms.delivered', 'el-1'],
      ['octopush', 'sms.opt_out', 'o-1'],
      ['template', 'sms.sent', undefined],
      ['whispir', 'sms.inbound', 'w-1'],
    ]);
    expect(handled.find((e) => e.format === 'template')).toMatchObject({ id: ids[3], data: { message_id: 't-1' } });
  });
});
