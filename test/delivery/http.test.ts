import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import dns from 'node:dns';
import { HttpSender, classifyError } from '../../src/delivery/http.js';
import { checkDestinationUrl, guardedLookup } from '../../src/delivery/ssrf.js';
import type { SendResult } from '../../src/delivery/http.js';
import { waitUntil } from '../helpers/e2e.js';

// Every server here listens on 127.0.0.1; no test sends traffic anywhere else.

interface TestServer {
  url: string;
  port: number;
  requests: number;
  connections: number;
  last: { method?: string; url?: string; headers: http.IncomingHttpHeaders; body: string };
  close(): Promise<void>;
}

async function listen(server: http.Server | https.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function startServer(
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void,
  make: (h: http.RequestListener) => http.Server | https.Server = (h) => http.createServer(h),
  scheme = 'http',
): Promise<TestServer> {
  const state: TestServer = {
    url: '',
    port: 0,
    requests: 0,
    connections: 0,
    last: { headers: {}, body: '' },
    close: async () => {},
  };
  const server = make((req, res) => {
    state.requests++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      state.last = { method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() };
      handler(req, res);
    });
  });
  server.on('connection', () => state.connections++);
  server.on('secureConnection', () => {});
  const port = await listen(server);
  state.port = port;
  state.url = `${scheme}://127.0.0.1:${port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

function expectResponse(r: SendResult) {
  if (r.kind !== 'response') throw new Error(`expected a response, got ${r.errorClass}: ${r.message}`);
  return r.response;
}

function expectError(r: SendResult) {
  if (r.kind !== 'error') throw new Error(`expected an error, got HTTP ${r.response.status}`);
  return r;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('HttpSender against local servers', () => {
  const sender = new HttpSender({ allowPrivate: true, connectTimeoutMs: 2000 });
  const servers: TestServer[] = [];
  const start = async (...args: Parameters<typeof startServer>) => {
    const s = await startServer(...args);
    servers.push(s);
    return s;
  };

  afterAll(async () => {
    await sender.close();
    await Promise.all(servers.map((s) => s.close()));
  });

  it('returns a 200 with its body and headers, and sends method, path, headers and body as given', async () => {
    const s = await start((_req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.setHeader('X-Multi', ['a', 'b']);
      res.setHeader('Set-Cookie', ['c=1', 'd=2']);
      res.end('{"ok":true}');
    });
    const r = await sender.send({
      url: `${s.url}/hooks/abc?x=1&y=%20z#frag`,
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': 'msg_123',
        'X-Custom-Header': 'Value With Spaces',
        authorization: 'Bearer s3cret',
      },
      body: '{"type":"sms.delivered"}',
      timeoutMs: 2000,
    });
    const res = expectResponse(r);
    expect(res.status).toBe(200);
    expect(res.body).toBe('{"ok":true}');
    expect(res.bodyTruncated).toBe(false);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.headers['x-multi']).toBe('a, b');
    expect(res.headers['set-cookie']).toBe('c=1, d=2');
    expect(Object.keys(res.headers).every((k) => k === k.toLowerCase())).toBe(true);
    expect(r.durationMs).toBeGreaterThan(0);
    expect(r.durationMs).toBeLessThan(2000);

    expect(s.requests).toBe(1);
    expect(s.last.method).toBe('POST');
    expect(s.last.url).toBe('/hooks/abc?x=1&y=%20z');
    expect(s.last.headers['content-type']).toBe('application/json');
    expect(s.last.headers['webhook-id']).toBe('msg_123');
    expect(s.last.headers['x-custom-header']).toBe('Value With Spaces');
    expect(s.last.headers.authorization).toBe('Bearer s3cret');
    expect(s.last.headers['content-length']).toBe(String(Buffer.byteLength('{"type":"sms.delivered"}')));
    expect(s.last.body).toBe('{"type":"sms.delivered"}');
  });

  it('sends a Buffer body', async () => {
    const s = await start((_req, res) => res.end('ok'));
    const body = Buffer.from('héllo');
    const res = expectResponse(await sender.send({ url: s.url + '/', method: 'PUT', headers: {}, body, timeoutMs: 2000 }));
    expect(res.status).toBe(200);
    expect(s.last.body).toBe('héllo');
    expect(s.last.headers['content-length']).toBe('6');
  });

  it('does not follow redirects', async () => {
    const target = await start((_req, res) => res.end('target'));
    const s = await start((_req, res) => {
      res.statusCode = 302;
      res.setHeader('Location', `${target.url}/elsewhere`);
      res.end('moved');
    });
    const res = expectResponse(await sender.send({ url: s.url + '/', method: 'POST', headers: {}, body: 'x', timeoutMs: 2000 }));
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe(`${target.url}/elsewhere`);
    expect(res.body).toBe('moved');
    await sleep(50);
    expect(target.requests).toBe(0);
    expect(target.connections).toBe(0);
  });

  it('returns a 500 as a response', async () => {
    const s = await start((_req, res) => {
      res.statusCode = 500;
      res.end('boom');
    });
    const res = expectResponse(await sender.send({ url: s.url + '/', method: 'POST', headers: {}, body: 'x', timeoutMs: 2000 }));
    expect(res.status).toBe(500);
    expect(res.body).toBe('boom');
  });

  it('returns empty bodies (204, HEAD)', async () => {
    const s = await start((req, res) => {
      if (req.method === 'HEAD') {
        res.setHeader('Content-Length', '1234');
        res.end();
        return;
      }
      res.statusCode = 204;
      res.end();
    });
    const a = expectResponse(await sender.send({ url: s.url + '/', method: 'POST', headers: {}, body: 'x', timeoutMs: 2000 }));
    expect(a.status).toBe(204);
    expect(a.body).toBe('');
    const b = expectResponse(await sender.send({ url: s.url + '/', method: 'HEAD', headers: {}, timeoutMs: 2000 }));
    expect(b.status).toBe(200);
    expect(b.body).toBe('');
    expect(b.bodyTruncated).toBe(false);
  });

  it('assembles a body that arrives in several chunks', async () => {
    const s = await start((_req, res) => {
      res.write('first-');
      setTimeout(() => res.write('second-'), 10);
      setTimeout(() => res.end('third'), 20);
    });
    const res = expectResponse(await sender.send({ url: s.url + '/', method: 'POST', headers: {}, body: 'x', timeoutMs: 2000 }));
    expect(res.body).toBe('first-second-third');
    expect(res.bodyTruncated).toBe(false);
  });

  it('truncates a body larger than 4 KiB to 4096 bytes', async () => {
    const s = await start((_req, res) => res.end('a'.repeat(10_000)));
    const res = expectResponse(await sender.send({ url: s.url + '/', method: 'POST', headers: {}, body: 'x', timeoutMs: 2000 }));
    expect(res.status).toBe(200);
    expect(res.body).toBe('a'.repeat(4096));
    expect(res.bodyTruncated).toBe(true);
  });

  it('a body of exactly 4096 bytes is not truncated', async () => {
    const s = await start((_req, res) => res.end('b'.repeat(4096)));
    const res = expectResponse(await sender.send({ url: s.url + '/', method: 'POST', headers: {}, body: 'x', timeoutMs: 2000 }));
    expect(res.body.length).toBe(4096);
    expect(res.bodyTruncated).toBe(false);
  });

  it('does not cut a UTF-8 character in half when truncating', async () => {
    const s = await start((_req, res) => res.end('x' + 'é'.repeat(3000)));
    const res = expectResponse(await sender.send({ url: s.url + '/', method: 'POST', headers: {}, body: 'x', timeoutMs: 2000 }));
    expect(res.bodyTruncated).toBe(true);
    expect(res.body).toBe('x' + 'é'.repeat(2047));
    expect(res.body).not.toContain('\uFFFD');
  });

  it('drains a small remainder and reuses the connection after truncation', async () => {
    const s = await start((_req, res) => res.end('c'.repeat(20_000)));
    const a = expectResponse(await sender.send({ url: s.url + '/', method: 'POST', headers: {}, body: 'x', timeoutMs: 2000 }));
    expect(a.bodyTruncated).toBe(true);
    await sleep(50);
    const b = expectResponse(await sender.send({ url: s.url + '/', method: 'POST', headers: {}, body: 'x', timeoutMs: 2000 }));
    expect(b.bodyTruncated).toBe(true);
    expect(s.requests).toBe(2);
    expect(s.connections).toBe(1);
  });

  it('stops reading a huge body quickly (does not download it)', async () => {
    let written = 0;
    const s = await start((_req, res) => {
      // 64 MiB announced, streamed as fast as the socket takes it.
      const chunk = Buffer.alloc(64 * 1024, 0x41);
      res.setHeader('Content-Length', String(1024 * chunk.length));
      const pump = () => {
        while (written < 1024) {
          written++;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      res.on('error', () => {});
      pump();
    });
    const r = await sender.send({ url: s.url + '/', method: 'POST', headers: {}, body: 'x', timeoutMs: 5000 });
    const res = expectResponse(r);
    expect(res.body.length).toBe(4096);
    expect(res.bodyTruncated).toBe(true);
    expect(r.durationMs).toBeLessThan(1000);
    await sleep(100);
    expect(written).toBeLessThan(1024);
  });

  it('reuses one keep-alive connection for sequential sends', async () => {
    const s = await start((_req, res) => res.end('ok'));
    for (let i = 0; i < 3; i++) {
      const res = expectResponse(await sender.send({ url: s.url + `/k${i}`, method: 'POST', headers: {}, body: 'x', timeoutMs: 2000 }));
      expect(res.status).toBe(200);
    }
    expect(s.requests).toBe(3);
    expect(s.connections).toBe(1);
  });

  it('handles concurrent sends', async () => {
    const s = await start((req, res) => res.end(req.url));
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => sender.send({ url: `${s.url}/c${i}`, method: 'POST', headers: {}, body: 'x', timeoutMs: 5000 })),
    );
    results.forEach((r, i) => expect(expectResponse(r).body).toBe(`/c${i}`));
    expect(s.requests).toBe(50);
  });

  it('times out on a server that never answers (response_timeout ~ timeoutMs)', async () => {
    const s = await start(() => {
      /* never respond */
    });
    const r = expectError(await sender.send({ url: s.url + '/', method: 'POST', headers: {}, body: 'x', timeoutMs: 300 }));
    expect(r.errorClass).toBe('response_timeout');
    expect(r.durationMs).toBeGreaterThanOrEqual(280);
    expect(r.durationMs).toBeLessThan(1500);
  });

  it('times out on a server that sends headers and trickles the body forever', async () => {
    const timers: NodeJS.Timeout[] = [];
    const s = await start((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write('.');
      const t = setInterval(() => res.write('.'), 50);
      timers.push(t);
      res.on('close', () => clearInterval(t));
    });
    const r = expectError(await sender.send({ url: s.url + '/', method: 'POST', headers: {}, body: 'x', timeoutMs: 300 }));
    timers.forEach(clearInterval);
    expect(r.errorClass).toBe('response_timeout');
    expect(r.durationMs).toBeGreaterThanOrEqual(280);
    expect(r.durationMs).toBeLessThan(1500);
  });

  it('classifies a refused connection', async () => {
    const tmp = net.createServer();
    await new Promise<void>((resolve) => tmp.listen(0, '127.0.0.1', resolve));
    const port = (tmp.address() as AddressInfo).port;
    await new Promise<void>((resolve) => tmp.close(() => resolve()));
    const r = expectError(await sender.send({ url: `http://127.0.0.1:${port}/`, method: 'POST', headers: {}, body: 'x', timeoutMs: 2000 }));
    expect(r.errorClass).toBe('refused');
    expect(r.message).toContain('ECONNREFUSED');
  });

  it('classifies a server that drops the connection as reset, without leaking headers', async () => {
    const s = await start((req) => req.socket.destroy());
    const r = expectError(
      await sender.send({
        url: s.url + '/',
        method: 'POST',
        headers: { authorization: 'Bearer TOPSECRET-123' },
        body: 'x',
        timeoutMs: 2000,
      }),
    );
    expect(r.errorClass).toBe('reset');
    expect(r.message).not.toContain('TOPSECRET');
  });

  it('classifies https to a plain-http port as tls', async () => {
    const s = await start((_req, res) => res.end('plain'));
    const r = expectError(await sender.send({ url: `https://127.0.0.1:${s.port}/`, method: 'POST', headers: {}, body: 'x', timeoutMs: 2000 }));
    expect(r.errorClass).toBe('tls');
  });

  describe('self-signed TLS server', () => {
    let cert: { key: string; cert: string } | null = null;
    beforeAll(() => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-tls-'));
      try {
        execFileSync(
          'openssl',
          ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
            '-subj', '/CN=127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')],
          { stdio: 'ignore', timeout: 10_000 },
        );
        cert = { key: fs.readFileSync(path.join(dir, 'key.pem'), 'utf8'), cert: fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8') };
      } catch {
        cert = null; // openssl unavailable: the https-to-plain-http case above still covers tls
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('classifies an untrusted certificate as tls', async (ctx) => {
      if (cert === null) ctx.skip();
      const c = cert!;
      const s = await start((_req, res) => res.end('secure'), (h) => https.createServer({ key: c.key, cert: c.cert }, h), 'https');
      const r = expectError(await sender.send({ url: s.url + '/', method: 'POST', headers: {}, body: 'x', timeoutMs: 2000 }));
      expect(r.errorClass).toBe('tls');
      expect(s.requests).toBe(0);
    });
  });
});

describe('HttpSender connection pools per key (one per callback)', () => {
  // Two connections per origin without a key, two per key and origin with one.
  const sender = new HttpSender({ allowPrivate: true, connectTimeoutMs: 1000, connectionsPerOrigin: 2, connectionsPerKey: 2 });
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer((req, res) => {
      if (req.url?.startsWith('/hang')) return; // never answers
      res.setHeader('connection', 'close');
      res.end('ok');
    });
  });
  afterAll(async () => {
    // The server first: it drops the hanging requests the sender would wait for.
    await s.close();
    await sender.close();
  });

  it("a key whose requests hang holds its own connections only: another key's request to the same origin goes out at once", async () => {
    const send = (path: string, poolKey: string, timeoutMs: number) =>
      sender.send({ url: s.url + path, method: 'POST', headers: {}, body: 'x', timeoutMs, poolKey });
    // Three of x's requests: two on its two connections, the third waits for one of them.
    const hanging = [1, 2, 3].map((i) => send(`/hang/${i}`, 'x', 30_000));
    await waitUntil(() => s.requests === 2, { what: "x's first two requests" });
    // y's request gets no more than the time to connect plus its own timeout to reach the server.
    const r = await send('/ok', 'y', 500);
    expect(expectResponse(r).status).toBe(200);
    expect(s.requests).toBe(3);
    expect(s.connections).toBe(3);
    // y's connection closed (the server said so): its pool goes with it; x's stays, with its queue.
    await waitUntil(() => sender.keyedPools === 1, { what: "y's pool dropped" });
    expect(s.requests).toBe(3);

    await s.close();
    for (const result of await Promise.all(hanging)) expect(result.kind).toBe('error');
    await waitUntil(() => sender.keyedPools === 0, { what: "x's pool dropped" });
  });

  it('a request refused before any connection (an invalid header) leaves no pool behind', async () => {
    const r = await sender.send({ url: 'http://127.0.0.1:9/', method: 'POST', headers: { 'x-bad': 'a\nb' }, body: 'x', timeoutMs: 500, poolKey: 'z' });
    expect(expectError(r).message).toContain('x-bad');
    expect(sender.keyedPools).toBe(0);
  });
});

describe('HttpSender destination guard (allowPrivate = false)', () => {
  const sender = new HttpSender({ allowPrivate: false });
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer((_req, res) => res.end('should never be reached'));
  });
  afterAll(async () => {
    await sender.close();
    await s.close();
  });

  it('refuses a loopback IP literal without any traffic', async () => {
    const r = expectError(await sender.send({ url: `http://127.0.0.1:${s.port}/`, method: 'POST', headers: {}, body: 'x', timeoutMs: 1000 }));
    expect(r.errorClass).toBe('blocked_destination');
    expect(s.requests).toBe(0);
    expect(s.connections).toBe(0);
  });

  it.each(['http://127.1:PORT/', 'http://2130706433:PORT/', 'http://[::ffff:127.0.0.1]:PORT/', 'http://[::1]:PORT/'])(
    'refuses %s without any traffic',
    async (u) => {
      const r = expectError(await sender.send({ url: u.replace('PORT', String(s.port)), method: 'POST', headers: {}, body: 'x', timeoutMs: 1000 }));
      expect(r.errorClass).toBe('blocked_destination');
      expect(s.connections).toBe(0);
    },
  );

  it('refuses localhost without any traffic', async () => {
    // Refused by name before any lookup; the connect-time (lookup) path is covered below.
    const r = expectError(await sender.send({ url: `http://localhost:${s.port}/`, method: 'POST', headers: {}, body: 'x', timeoutMs: 1000 }));
    expect(r.errorClass).toBe('blocked_destination');
    expect(s.requests).toBe(0);
    expect(s.connections).toBe(0);
  });

  it('refuses invalid URLs', async () => {
    const r = expectError(await sender.send({ url: 'ftp://example.com/', method: 'POST', headers: {}, timeoutMs: 1000 }));
    expect(r.errorClass).toBe('invalid_url');
    const r2 = expectError(await sender.send({ url: 'not a url', method: 'POST', headers: {}, timeoutMs: 1000 }));
    expect(r2.errorClass).toBe('invalid_url');
  });
});

describe('HttpSender lookup pinning (names resolved at connect time)', () => {
  /**
   * A name the URL check does not refuse by itself but that resolves to loopback: any host alias of
   * 127.0.0.1 / ::1 in /etc/hosts (e.g. the machine name). It is resolved first to make sure every
   * address is loopback, so no traffic can leave the machine; skipped when there is none.
   */
  async function loopbackAlias(): Promise<string | null> {
    let hosts = '';
    try {
      hosts = fs.readFileSync('/etc/hosts', 'utf8');
    } catch {
      return null;
    }
    for (const line of hosts.split('\n')) {
      const [ip, ...names] = line.replace(/#.*/, '').trim().split(/\s+/);
      if (ip === undefined || !/^(127\.\d+\.\d+\.\d+|::1)$/.test(ip)) continue;
      for (const n of names) {
        if (n === '' || checkDestinationUrl(`http://${n}/`, { allowPrivate: false }).ok === false) continue;
        const addrs = await dns.promises.lookup(n, { all: true }).catch(() => []);
        if (addrs.length > 0 && addrs.every((a) => a.address === '::1' || a.address.startsWith('127.'))) return n;
      }
    }
    return null;
  }

  it('net.connect with the guarded lookup never connects to a blocked address', async () => {
    const s = await startServer((_req, res) => res.end('never'));
    try {
      const err = await new Promise<NodeJS.ErrnoException>((resolve, reject) => {
        const sock = net.connect({ host: 'localhost', port: s.port, lookup: guardedLookup(false) });
        sock.on('connect', () => {
          sock.destroy();
          reject(new Error('connected'));
        });
        sock.on('error', resolve);
      });
      expect(err.code).toBe('EBLOCKED');
      expect(classifyError(err)).toBe('blocked_destination');
      await sleep(20);
      expect(s.connections).toBe(0);
    } finally {
      await s.close();
    }
  });

  it('blocks a name that resolves to loopback (EBLOCKED from the lookup), no traffic', async (ctx) => {
    const name = await loopbackAlias();
    if (name === null) ctx.skip();
    const s = await startServer((_req, res) => res.end('never'));
    const sender = new HttpSender({ allowPrivate: false });
    try {
      const r = expectError(await sender.send({ url: `http://${name}:${s.port}/`, method: 'POST', headers: {}, body: 'x', timeoutMs: 2000 }));
      expect(r.errorClass).toBe('blocked_destination');
      expect(r.message).toContain(name!);
      expect(r.message).toContain('loopback');
      expect(s.requests).toBe(0);
      expect(s.connections).toBe(0);
    } finally {
      await sender.close();
      await s.close();
    }
  });

  it('the same name is reachable with allowPrivate', async (ctx) => {
    const name = await loopbackAlias();
    if (name === null) ctx.skip();
    const s = await startServer((_req, res) => res.end('hi'));
    const sender = new HttpSender({ allowPrivate: true });
    try {
      // the server listens on 127.0.0.1 only; the alias may also resolve to ::1 (happy eyeballs copes)
      const r = await sender.send({ url: `http://${name}:${s.port}/`, method: 'POST', headers: {}, body: 'x', timeoutMs: 2000 });
      expect(expectResponse(r).body).toBe('hi');
    } finally {
      await sender.close();
      await s.close();
    }
  });
});

describe('classifyError', () => {
  const withCode = (code: string, message = code): Error => Object.assign(new Error(message), { code });
  const cases: Array<[unknown, string]> = [
    [withCode('ENOTFOUND', 'getaddrinfo ENOTFOUND nope.invalid'), 'dns'],
    [withCode('EAI_AGAIN'), 'dns'],
    [withCode('EAI_FAIL'), 'dns'],
    [withCode('UND_ERR_CONNECT_TIMEOUT', 'Connect Timeout Error'), 'connect_timeout'],
    [withCode('ETIMEDOUT'), 'connect_timeout'],
    [withCode('ECONNREFUSED'), 'refused'],
    [withCode('ECONNRESET'), 'reset'],
    [withCode('EPIPE'), 'reset'],
    [withCode('UND_ERR_SOCKET', 'other side closed'), 'reset'],
    [new Error('other side closed'), 'reset'],
    [withCode('UND_ERR_HEADERS_TIMEOUT'), 'response_timeout'],
    [withCode('UND_ERR_BODY_TIMEOUT'), 'response_timeout'],
    [withCode('ERR_TLS_CERT_ALTNAME_INVALID'), 'tls'],
    [withCode('CERT_HAS_EXPIRED'), 'tls'],
    [withCode('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'tls'],
    [withCode('DEPTH_ZERO_SELF_SIGNED_CERT'), 'tls'],
    [withCode('SELF_SIGNED_CERT_IN_CHAIN'), 'tls'],
    [withCode('ERR_SSL_WRONG_VERSION_NUMBER'), 'tls'],
    [withCode('EPROTO'), 'tls'],
    [withCode('EBLOCKED'), 'blocked_destination'],
    [withCode('EHOSTUNREACH'), 'network'],
    [new Error('something else'), 'network'],
    ['a string', 'network'],
    [null, 'network'],
    [undefined, 'network'],
    [{ code: 42 }, 'network'],
    // wrapped in cause (fetch-style TypeError, undici wrappers)
    [new TypeError('fetch failed', { cause: withCode('UND_ERR_CONNECT_TIMEOUT') }), 'connect_timeout'],
    [new Error('outer', { cause: new Error('middle', { cause: withCode('ECONNREFUSED') }) }), 'refused'],
    [new Error('outer', { cause: withCode('EBLOCKED') }), 'blocked_destination'],
    // AggregateError from happy-eyeballs connects
    [Object.assign(new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')], ''), {}), 'refused'],
  ];
  it.each(cases)('%#: classifies as %s', (err, cls) => {
    expect(classifyError(err)).toBe(cls);
  });

  it('survives cyclic causes', () => {
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(classifyError(a)).toBe('network');
  });
});
