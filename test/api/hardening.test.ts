/**
 * Hostile and out-of-range input to the API (issue 16): each case is refused with a clear
 * `{code, message}` and changes nothing.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { MAX_DATA_DEPTH, nestsDeeperThan } from '../../src/ingest/ingest.js';
import { MAX_OFFSET } from '../../src/api/routes/common.js';
import { expectError, tenant, useRelay } from './support.js';

/** JSON text of an object nested `levels` deep ({"a":{"a":…1}}: the outer object is level 1). */
const nested = (levels: number, key = 'a') => `${`{"${key}":`.repeat(levels - 1)}{"${key}":1}${'}'.repeat(levels - 1)}`;
const nestedArrays = (levels: number) => `${'['.repeat(levels)}1${']'.repeat(levels)}`;

/** Writes `raw` to 127.0.0.1:port and reads the answer until the server closes the connection. */
function rawExchange(port: number, raw: string): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // The server may close while the rest of an oversized request is still being written.
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') reject(err);
    });
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const at = text.indexOf('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), headers: text.slice(0, at), body: text.slice(at + 4) });
    });
    socket.write(raw);
  });
}

describe('nestsDeeperThan', () => {
  it('counts objects and arrays, the value itself as level 1', () => {
    expect(nestsDeeperThan(1, 0)).toBe(false);
    expect(nestsDeeperThan({}, 1)).toBe(false);
    expect(nestsDeeperThan({ a: [] }, 1)).toBe(true);
    expect(nestsDeeperThan(JSON.parse(nested(32)), 32)).toBe(false);
    expect(nestsDeeperThan(JSON.parse(nested(33)), 32)).toBe(true);
    expect(nestsDeeperThan(JSON.parse(nestedArrays(33)), 32)).toBe(true);
    expect(nestsDeeperThan({ wide: Array.from({ length: 1000 }, () => ({ x: [1] })), deep: JSON.parse(nested(31)) }, 32)).toBe(false);
  });

  it('answers for hostile depths without overflowing the stack', () => {
    expect(nestsDeeperThan(JSON.parse(nestedArrays(200_000)), MAX_DATA_DEPTH)).toBe(true);
  });
});

for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`API hardening on ${backend.name}`, () => {
    // useRelay runs with RELAY_ALLOW_PRIVATE_NETWORKS=1, as local use does.
    const h = useRelay(backend);

    it('refuses cloud metadata URLs even with RELAY_ALLOW_PRIVATE_NETWORKS=1 (checked on save, no traffic)', async () => {
      const { t } = h;
      const me = await tenant(t, 'hd-metadata');
      for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://[::ffff:a9fe:a9fe]/', 'http://metadata.google.internal/computeMetadata/v1/']) {
        expectError(await t.api('POST', '/v1/callbacks', { title: 'imds', url }, { auth: me.auth }), 422, 'invalid', 'url');
        expectError(
          await t.api('POST', '/v1/callbacks', { title: 'imds', format: 'template', url: `${url}{{data.message_id}}` }, { auth: me.auth }),
          422,
          'invalid',
          'url',
        );
      }
      const list = await t.api('GET', '/v1/callbacks', undefined, { auth: me.auth });
      expect(list.body.total).toBe(0);
    });

    it(`refuses data and custom_args nested deeper than ${MAX_DATA_DEPTH} levels with 422 naming the field (single and batch)`, async () => {
      const { t } = h;
      const me = await tenant(t, 'hd-depth');
      const post = (raw: string, url = '/v1/events') => t.api('POST', url, undefined, { auth: me.auth, raw });
      for (const levels of [MAX_DATA_DEPTH + 1, 4_150, 4_200, 100_000]) {
        expectError(await post(`{"type":"sms.delivered","data":${nested(levels)}}`), 422, 'invalid', 'data');
        expectError(await post(`{"type":"sms.delivered","data":{},"custom_args":${nested(levels)}}`), 422, 'invalid', 'custom_args');
      }
      expectError(await post(`{"type":"sms.delivered","data":{"list":${nestedArrays(MAX_DATA_DEPTH)}}}`), 422, 'invalid', 'data');
      const ok = '{"type":"sms.delivered","data":{}}';
      expectError(await post(`{"events":[${ok},{"type":"sms.delivered","data":${nested(4_200)}}]}`, '/v1/events/batch'), 422, 'invalid', 'events[1].data');
      expectError(await post(`{"events":[{"type":"sms.delivered","data":{},"custom_args":${nested(MAX_DATA_DEPTH + 1)}}]}`, '/v1/events/batch'), 422, 'invalid', 'events[0].custom_args');

      // The deepest accepted event is stored and read back whole.
      const r = await post(`{"type":"sms.delivered","data":${nested(MAX_DATA_DEPTH)},"custom_args":${nested(MAX_DATA_DEPTH, 'b')}}`);
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      const read = await t.api('GET', `/v1/events/${r.body.id}`, undefined, { auth: me.auth });
      expect(read.status).toBe(200);
      expect(read.body.data).toEqual(JSON.parse(nested(MAX_DATA_DEPTH)));
      expect(read.body.custom_args).toEqual(JSON.parse(nested(MAX_DATA_DEPTH, 'b')));
    });

    it('answers 422 to an offset past the largest on every list, and serves the largest', async () => {
      const { t, receiver } = h;
      const me = await tenant(t, 'hd-offset');
      const whispir = await t.api('POST', '/v1/callbacks', { title: 'w', url: `${receiver.url}/w`, format: 'whispir', auth: { type: 'querystring', key: 'k' } }, { auth: me.auth });
      expect(whispir.status, JSON.stringify(whispir.body)).toBe(201);
      const lists = ['/v1/callbacks', '/v1/deliveries', '/v1/notices', '/v1/webhooks', `/v1/callbacks/${whispir.body.id}/calls`];
      for (const list of lists) {
        for (const offset of ['100000000000000000000', '1e20', String(MAX_OFFSET + 1), '-1', '1.5']) {
          expectError(await t.api('GET', `${list}?offset=${offset}`, undefined, { auth: me.auth }), 422, 'invalid', 'querystring.offset');
        }
        const last = await t.api('GET', `${list}?offset=${MAX_OFFSET}`, undefined, { auth: me.auth });
        expect(last.status, `${list}: ${JSON.stringify(last.body)}`).toBe(200);
      }
      // Lists without paging ignore it rather than fail.
      expect((await t.api('GET', '/v1/alert-rules?offset=100000000000000000000', undefined, { auth: me.auth })).status).toBe(200);
    });

    it('shows credential headers redacted (write-only); a PATCH of other fields or a read-back "[redacted]" keeps the stored value', async () => {
      const { t, receiver } = h;
      const me = await tenant(t, 'hd-headers');
      const secrets = { Authorization: 'Bearer s3cret-a', 'Proxy-Authorization': 'Basic s3cret-p', Cookie: 'sid=s3cret-c', 'X-Api-Key': 's3cret-k', 'X-Signature-Token': 's3cret-t' };
      const shown = { Authorization: '[redacted]', 'Proxy-Authorization': '[redacted]', Cookie: '[redacted]', 'X-Api-Key': '[redacted]', 'X-Signature-Token': '[redacted]' };
      const path = `/hd-headers-${backend.name}`;
      const created = await t.api('POST', '/v1/callbacks', { title: 'h', url: `${receiver.url}${path}`, events: ['sms.delivered'], headers: { ...secrets, 'X-Trace': 'plain' } }, { auth: me.auth });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(created.body.headers).toEqual({ ...shown, 'X-Trace': 'plain' });
      const id = created.body.id as string;
      const noSecretIn = (body: unknown) => {
        for (const v of Object.values(secrets)) expect(JSON.stringify(body)).not.toContain(v.split(' ').pop()!);
      };
      const read = await t.api('GET', `/v1/callbacks/${id}`, undefined, { auth: me.auth });
      expect(read.body.headers).toEqual({ ...shown, 'X-Trace': 'plain' });
      noSecretIn(read.body);
      noSecretIn((await t.api('GET', '/v1/callbacks', undefined, { auth: me.auth })).body);

      /** Sends one event and returns the headers the receiver got. */
      const sent = async () => {
        const before = receiver.received.filter((r) => r.path === path).length;
        const ev = await t.api('POST', '/v1/events', { type: 'sms.delivered', data: {} }, { auth: me.auth });
        expect(ev.status).toBe(202);
        await receiver.waitFor((all) => all.filter((r) => r.path === path).length > before);
        return receiver.received.filter((r) => r.path === path)[before]!.headers;
      };

      // A PATCH of other fields leaves the headers alone.
      const renamed = await t.api('PATCH', `/v1/callbacks/${id}`, { title: 'renamed' }, { auth: me.auth });
      expect(renamed.status).toBe(200);
      expect(renamed.body.headers).toEqual({ ...shown, 'X-Trace': 'plain' });
      let got = await sent();
      expect([got.authorization, got['proxy-authorization'], got.cookie, got['x-api-key'], got['x-signature-token'], got['x-trace']]).toEqual([
        ...Object.values(secrets),
        'plain',
      ]);

      // The headers as read, one changed and one named in another case, sent back: the secrets are kept.
      const { Cookie: _dropped, 'X-Api-Key': _renamed, ...rest } = read.body.headers as Record<string, string>;
      const edited = await t.api('PATCH', `/v1/callbacks/${id}`, { headers: { ...rest, 'x-api-key': '[redacted]', 'X-Trace': 'changed' } }, { auth: me.auth });
      expect(edited.status, JSON.stringify(edited.body)).toBe(200);
      expect(edited.body.headers).toEqual({ Authorization: '[redacted]', 'Proxy-Authorization': '[redacted]', 'x-api-key': '[redacted]', 'X-Signature-Token': '[redacted]', 'X-Trace': 'changed' });
      got = await sent();
      expect([got.authorization, got['proxy-authorization'], got.cookie, got['x-api-key'], got['x-trace']]).toEqual([secrets.Authorization, secrets['Proxy-Authorization'], undefined, secrets['X-Api-Key'], 'changed']);

      // "[redacted]" where nothing is stored is refused, on create and on update.
      expectError(await t.api('POST', '/v1/callbacks', { title: 'copy', url: `${receiver.url}/copy`, headers: { Authorization: '[redacted]' } }, { auth: me.auth }), 422, 'invalid', 'headers.Authorization');
      expectError(await t.api('PATCH', `/v1/callbacks/${id}`, { headers: { Cookie: '[redacted]' } }, { auth: me.auth }), 422, 'invalid', 'headers.Cookie');
      // An ordinary header may hold that text.
      const literal = await t.api('PATCH', `/v1/callbacks/${id}`, { headers: { Authorization: '[redacted]', 'X-Note': '[redacted]' } }, { auth: me.auth });
      expect(literal.body.headers).toEqual({ Authorization: '[redacted]', 'X-Note': '[redacted]' });
      got = await sent();
      expect([got.authorization, got['x-note']]).toEqual([secrets.Authorization, '[redacted]']);
    });

    it('refuses numbers that are not finite (1e309 parses as Infinity) with 422 naming the field', async () => {
      const { t } = h;
      const me = await tenant(t, 'hd-finite');
      const raw = (method: string, url: string, text: string) => t.api(method, url, undefined, { auth: me.auth, raw: text });
      expectError(await raw('POST', '/v1/alert-rules', '{"kind":"insufficient_balance","threshold":1e309}'), 422, 'invalid', 'threshold');
      expectError(await raw('POST', '/v1/alert-rules', '{"kind":"insufficient_balance","threshold":-1e309}'), 422, 'invalid', 'threshold');
      const rule = await t.api('POST', '/v1/alert-rules', { kind: 'insufficient_balance', threshold: 10 }, { auth: me.auth });
      expect(rule.status, JSON.stringify(rule.body)).toBe(201);
      const res = await raw('PATCH', `/v1/alert-rules/${rule.body.id}`, '{"threshold":1e309}');
      expectError(res, 422, 'invalid', 'threshold');
      expect(res.body.message).toMatch(/finite/);
      const read = await t.api('GET', `/v1/alert-rules/${rule.body.id}`, undefined, { auth: me.auth });
      expect(read.body.threshold).toBe(10);
    });

    it('refuses a PATCH to GET that would silently drop a template body; "body": null with it drops it', async () => {
      const { t, receiver } = h;
      const me = await tenant(t, 'hd-method');
      const body = '{"id":"{{event_id}}","custom":true}';
      const cb = await t.api('POST', '/v1/callbacks', { title: 'with body', format: 'template', url: `${receiver.url}/m`, body }, { auth: me.auth });
      expect(cb.status, JSON.stringify(cb.body)).toBe(201);
      const id = cb.body.id as string;
      expectError(await t.api('PATCH', `/v1/callbacks/${id}`, { method: 'GET' }, { auth: me.auth }), 422, 'invalid', 'method');
      const kept = await t.api('GET', `/v1/callbacks/${id}`, undefined, { auth: me.auth });
      expect([kept.body.method, kept.body.settings.body]).toEqual(['POST', body]);
      const dropped = await t.api('PATCH', `/v1/callbacks/${id}`, { method: 'GET', body: null }, { auth: me.auth });
      expect(dropped.status, JSON.stringify(dropped.body)).toBe(200);
      expect(dropped.body.method).toBe('GET');
      expect(dropped.body.settings.body).toBeUndefined();
      // The default body is not the customer's: it goes without being asked.
      const plain = await t.api('POST', '/v1/callbacks', { title: 'default body', format: 'template', url: `${receiver.url}/m` }, { auth: me.auth });
      expect((await t.api('PATCH', `/v1/callbacks/${plain.body.id}`, { method: 'GET' }, { auth: me.auth })).status).toBe(200);
    });

    it("answers requests Node's HTTP parser refuses (oversized headers, malformed request line) with {code, message}, over a real socket", async () => {
      const app = h.t.relay.app!;
      await app.listen({ port: 0, host: '127.0.0.1' });
      const port = (app.server.address() as AddressInfo).port;

      const big = await rawExchange(port, `GET /v1/callbacks HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
      expect(big.status, big.headers).toBe(431);
      expect(big.headers).toMatch(/content-type: application\/json/i);
      expectError({ status: big.status, body: JSON.parse(big.body) }, 431, 'headers_too_large');

      for (const raw of ['GARBAGE\r\n\r\n', 'GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header Name: 1\r\n\r\n', 'GET /healthz HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n']) {
        const bad = await rawExchange(port, raw);
        expectError({ status: bad.status, body: JSON.parse(bad.body) }, 400, 'bad_request');
      }
      // The server still serves afterwards.
      const ok = await rawExchange(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      expect(ok.status).toBe(200);
    });
  });
}
