/**
 * Receivers written from the vendors' documentation (reference/*.txt and wire-formats.md), NOT from
 * callback-relay's code: each verifies what its vendor documents (signature, auth) with node:crypto
 * and parses the payload as a receiver built for that vendor would. Nothing here imports src/.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Behaviour, Received } from './receiver.js';

const same = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
const hdr = (r: Received, name: string) => {
  const v = r.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
};

export interface Accepted<T> {
  req: Received;
  body: T;
}

/**
 * EngageLab e-mail: `X-WebHook-Signature` = md5(X-WebHook-Timestamp + X-WebHook-AppKey + key) (or,
 * per the other page, hex HMAC-SHA256(key, timestamp)); answers 200 (or `status`) when it verifies,
 * 401 otherwise.
 */
export function engagelabEmailReceiver(key: () => string, opts: { scheme?: 'md5' | 'hmac-sha256'; status?: number } = {}) {
  const accepted: Accepted<any>[] = [];
  const rejected: Received[] = [];
  const behaviour: Behaviour = (req, res) => {
    const ts = hdr(req, 'X-WebHook-Timestamp') ?? '';
    const appKey = hdr(req, 'X-WebHook-AppKey') ?? '';
    const sig = hdr(req, 'X-WebHook-Signature') ?? '';
    const expected =
      opts.scheme === 'hmac-sha256'
        ? createHmac('sha256', key()).update(ts).digest('hex')
        : createHash('md5').update(ts + appKey + key()).digest('hex');
    if (!/^\d+$/.test(ts) || !same(sig, expected)) {
      rejected.push(req);
      res.statusCode = 401;
      return res.end();
    }
    accepted.push({ req, body: JSON.parse(req.body) });
    res.statusCode = opts.status ?? 200;
    res.end();
  };
  return { behaviour, accepted, rejected };
}

/**
 * EngageLab OTP: `X-CALLBACK-ID: timestamp={ts};nonce={nonce};username={username};signature={sig}`,
 * sig = hex(HMAC-SHA256(secret, timestamp + nonce + username)); the Authorization header is the
 * configured value. Body `{"total": N, "rows": [...]}`.
 */
export function engagelabReceiver(username: string, secret: string, authorization: string | null, status = 200) {
  const accepted: Accepted<{ total: number; rows: any[] }>[] = [];
  const rejected: { req: Received; why: string }[] = [];
  const behaviour: Behaviour = (req, res) => {
    const reject = (why: string) => {
      rejected.push({ req, why });
      res.statusCode = 401;
      res.end();
    };
    const fields = Object.fromEntries((hdr(req, 'X-CALLBACK-ID') ?? '').split(';').map((kv) => kv.split('=', 2) as [string, string]));
    if (fields.username !== username) return reject('username');
    const sig = createHmac('sha256', secret).update(`${fields.timestamp}${fields.nonce}${fields.username}`).digest('hex');
    if (!same(fields.signature ?? '', sig)) return reject('signature');
    if (Math.abs(Number(fields.timestamp) - Date.now() / 1000) > 300) return reject('timestamp');
    if (authorization !== null && hdr(req, 'authorization') !== authorization) return reject('authorization');
    const body = JSON.parse(req.body);
    if (req.body !== '{}') accepted.push({ req, body });
    res.statusCode = status;
    res.end();
  };
  return { behaviour, accepted, rejected };
}

/** Octopush: POST, JSON or form; the kind told apart by which date field is present; answers at once with nothing. */
export function octopushReceiver() {
  const got: { kind: 'delivery' | 'reply' | 'stop'; path: string; fields: Record<string, unknown>; contentType: string }[] = [];
  const behaviour: Behaviour = (req, res: ServerResponse) => {
    const ct = hdr(req, 'content-type') ?? '';
    const fields: Record<string, unknown> = ct.startsWith('application/x-www-form-urlencoded')
      ? Object.fromEntries(new URLSearchParams(req.body))
      : JSON.parse(req.body);
    const kind = 'delivery_date' in fields ? 'delivery' : 'stop_date' in fields ? 'stop' : 'answer_date' in fields || 'reception_date' in fields ? 'reply' : null;
    if (kind !== null) got.push({ kind, path: req.path, fields, contentType: ct });
    res.statusCode = 200;
    res.end();
  };
  return { behaviour, got };
}

/**
 * Whispir: the key as `?auth=KEY` or `X-Whispir-Callback-Key`; a GET answered 200 is the callback
 * check; JSON or XML (`ns2:deliveryResponse`) POSTs are callbacks. A bad key is refused with 403.
 */
export function whispirReceiver(key: string, opts: { status?: () => number } = {}) {
  const callbacks: { req: Received; body: any }[] = [];
  const checks: Received[] = [];
  const behaviour: Behaviour = (req, res) => {
    const url = new URL(req.path, 'http://x');
    const given = url.searchParams.get('auth') ?? hdr(req, 'X-Whispir-Callback-Key') ?? '';
    if (!same(given, key)) {
      res.statusCode = 403;
      return res.end('bad key');
    }
    if (req.method === 'GET') {
      checks.push(req);
      res.statusCode = 200;
      return res.end('OK');
    }
    const xml = (hdr(req, 'content-type') ?? '').includes('xml');
    callbacks.push({ req, body: xml ? req.body : JSON.parse(req.body) });
    res.statusCode = opts.status ? opts.status() : 200;
    res.end();
  };
  return { behaviour, callbacks, checks };
}
