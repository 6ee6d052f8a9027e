/**
 * Outbound HTTP sender of the delivery engine.
 *
 * Keep-alive connection pools: one per (pool key, origin) for requests that name a key (the worker
 * names the callback, so a receiver that hangs one callback's requests holds that callback's
 * connections only, never those of another callback at the same host), and one undici Agent (a pool
 * per origin) for the rest. A keyed pool is dropped once its last connection closes, as the Agent
 * drops its own: idle callbacks keep no pools. Requests go through `dispatch` with a small handler
 * object instead of `request`: no Readable body stream, no AbortController, one timer — this is the
 * hot path. Receiver behaviour never throws: every outcome is a `SendResult`.
 *
 * Guarantees:
 *  - the destination is re-checked (`checkDestinationUrl`) before anything is sent; names are
 *    resolved by `guardedLookup`, so the socket connects to the address that was checked;
 *  - redirects are never followed (a 3xx is a response like any other);
 *  - at most `maxResponseBodyBytes` of the body are kept; the rest is drained when small (so the
 *    connection can be reused) or the connection is dropped;
 *  - `timeoutMs` bounds the whole exchange once the request is on a socket (headers + body); the
 *    connection itself is bounded by `connectTimeoutMs`; waiting for a free pooled connection plus
 *    connecting is bounded by `connectTimeoutMs + timeoutMs`;
 *  - error messages never contain request headers.
 */
import { Agent, Pool } from 'undici';
import type { Dispatcher } from 'undici';
import { checkDestinationUrl, guardedLookup, type DestinationCheck } from './ssrf.js';
import { Memo } from '../lib/memo.js';

export interface OutboundRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  timeoutMs: number;
  /**
   * Requests naming the same key share connections, apart from every other request (the worker
   * passes the callback id); without one, requests share a pool per origin.
   */
  poolKey?: string;
}

export type ErrorClass =
  | 'dns'
  | 'connect_timeout'
  | 'refused'
  | 'reset'
  | 'tls'
  | 'response_timeout'
  | 'blocked_destination'
  | 'invalid_url'
  | 'auth_failed'
  | 'network';

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  bodyTruncated: boolean;
}

export type SendResult =
  | { kind: 'response'; response: HttpResponse; durationMs: number }
  | { kind: 'error'; errorClass: ErrorClass; message: string; durationMs: number };

export interface HttpSenderOptions {
  allowPrivate: boolean;
  /** Default 5000. */
  connectTimeoutMs?: number;
  /** Default 4096. */
  maxResponseBodyBytes?: number;
  /** Requests without a pool key: connections per origin. Default 64. */
  connectionsPerOrigin?: number;
  /** Requests with a pool key: connections per key and origin (RELAY_CALLBACK_CONCURRENCY). Default 64. */
  connectionsPerKey?: number;
  /** Idle keep-alive time of pooled connections when the server does not say; undici default 4000. */
  keepAliveTimeoutMs?: number;
}

// ---------------------------------------------------------------------------------------------
// Error classification
// ---------------------------------------------------------------------------------------------

const TLS_CODES = new Set([
  'EPROTO',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
  'HOSTNAME_MISMATCH',
]);

const DNS_CODES = new Set(['ENOTFOUND', 'ENODATA', 'ESERVFAIL', 'ENONAME']);

const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ECONNABORTED']);

function classifyOne(e: { code?: unknown; message?: unknown }): ErrorClass | null {
  const code = typeof e.code === 'string' ? e.code : '';
  if (code !== '') {
    switch (code) {
      case 'EBLOCKED':
        return 'blocked_destination';
      case 'UND_ERR_CONNECT_TIMEOUT':
      case 'ETIMEDOUT':
        return 'connect_timeout';
      case 'ECONNREFUSED':
        return 'refused';
      case 'UND_ERR_HEADERS_TIMEOUT':
      case 'UND_ERR_BODY_TIMEOUT':
      case 'ERR_RESPONSE_TIMEOUT':
        return 'response_timeout';
      case 'ERR_INVALID_URL':
        return 'invalid_url';
    }
    if (DNS_CODES.has(code) || code.startsWith('EAI_')) return 'dns';
    if (RESET_CODES.has(code)) return 'reset';
    if (
      TLS_CODES.has(code) ||
      code.startsWith('ERR_TLS_') ||
      code.startsWith('ERR_SSL_') ||
      code.startsWith('ERR_OSSL_') ||
      code.startsWith('CERT_') ||
      code.startsWith('UNABLE_TO_')
    ) {
      return 'tls';
    }
  }
  if (typeof e.message === 'string' && e.message.includes('other side closed')) return 'reset';
  return null;
}

/** Yields err, its `cause` chain and the members of AggregateErrors (bounded, cycle-safe). */
function* errorChain(err: unknown): Generator<{ code?: unknown; message?: unknown; errors?: unknown }> {
  const seen = new Set<unknown>();
  const stack: unknown[] = [err];
  while (stack.length > 0 && seen.size < 16) {
    const e = stack.shift();
    if (e === null || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const o = e as { cause?: unknown; errors?: unknown };
    yield o;
    if (o.cause !== undefined) stack.push(o.cause);
    if (Array.isArray(o.errors)) for (const x of o.errors) stack.push(x);
  }
}

/**
 * Classifies a transport error (undici, node net/tls/dns, or the guard's EBLOCKED), walking `cause`
 * chains and AggregateError members. The first error in the chain with a recognised code wins.
 */
export function classifyError(err: unknown): ErrorClass {
  for (const e of errorChain(err)) {
    const c = classifyOne(e);
    if (c !== null) return c;
  }
  return 'network';
}

/** A message for the attempt record: the most specific error's message and code, never headers. */
function describeError(err: unknown): string {
  let fallback = '';
  for (const e of errorChain(err)) {
    const msg = typeof e.message === 'string' ? e.message : '';
    const code = typeof e.code === 'string' ? e.code : '';
    if (classifyOne(e) !== null) return code !== '' && !msg.includes(code) ? `${msg} (${code})` : msg || code;
    if (fallback === '') fallback = code !== '' && !msg.includes(code) ? `${msg} (${code})` : msg || code;
  }
  return fallback !== '' ? fallback : String(err);
}

// ---------------------------------------------------------------------------------------------
// One exchange
// ---------------------------------------------------------------------------------------------

/** Remaining body bytes we are willing to read and discard to keep a connection reusable. */
const DRAIN_LIMIT = 64 * 1024;

type Resolve = (r: SendResult) => void;

/**
 * With pipelining 1, undici hands a finished keep-alive connection back to its pool only on the next
 * event-loop turn (a setImmediate queued right after onResponseEnd). A caller that sends again to
 * the same origin as soon as its promise resolves would find the connection busy and open a second
 * one. So a complete response is delivered after that setImmediate: nextTick runs once undici has
 * queued it, and our setImmediate then runs after it.
 */
function deliverAfterRelease(resolve: Resolve, result: SendResult): void {
  setImmediate(resolve, result);
}

function onExchangeTimeout(ex: Exchange): void {
  ex.timedOut();
}

function joinHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  for (const k in h) {
    const v = h[k];
    if (typeof v !== 'string') {
      if (Array.isArray(v)) h[k] = v.join(', ');
      else delete h[k];
    }
  }
  return h as Record<string, string>;
}

/** Length of the longest prefix of buf[0, len) that does not end inside a UTF-8 sequence. */
function utf8SafeLength(buf: Buffer, len: number): number {
  let i = len - 1;
  const min = Math.max(0, len - 4);
  while (i >= min && (buf[i]! & 0xc0) === 0x80) i--; // skip continuation bytes
  if (i < min) return len; // not UTF-8 anyway
  const lead = buf[i]!;
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return len - i >= need ? len : i;
}

class Exchange implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | null = null;
  private timer: NodeJS.Timeout | null;
  private done = false; // result delivered
  private ended = false; // undici finished with the request
  private started = false;
  private status = 0;
  private headers: Record<string, string> | null = null;
  private kept: Buffer | Buffer[] | null = null;
  private len = 0;
  private discarded = 0;
  private drainBudget = DRAIN_LIMIT;

  constructor(
    private readonly resolve: Resolve,
    private readonly start: number,
    private readonly timeoutMs: number,
    private readonly maxBytes: number,
    private readonly waitMs: number,
  ) {
    // Until the request is on a socket: waiting for a pooled connection + connecting.
    this.timer = setTimeout(onExchangeTimeout, waitMs, this);
  }

  /** Its result is out (a refusal before any connection is out by the time dispatch returns). */
  get settled(): boolean {
    return this.done;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.done) {
      // Gave up while queued/connecting: do not send it now.
      controller.abort(timeoutError('request abandoned'));
      return;
    }
    this.started = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(onExchangeTimeout, this.timeoutMs, this);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (statusCode < 200 || this.done) return; // 1xx informational
    this.status = statusCode;
    this.headers = joinHeaders(headers);
    const cl = this.headers['content-length'];
    if (cl !== undefined) {
      const n = Number(cl);
      if (Number.isFinite(n) && n >= 0) {
        if (n - this.maxBytes > DRAIN_LIMIT) this.drainBudget = -1; // too much to drain: drop the connection
      }
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.done) {
      // Draining the rest of a truncated body so the connection can be reused.
      this.discarded += chunk.length;
      if (this.discarded > this.drainBudget) controller.abort(drainError());
      return;
    }
    const take = Math.min(chunk.length, this.maxBytes - this.len);
    if (take > 0) {
      // Chunks are fresh socket buffers (undici's own body stream hands them out as is): keep
      // references, copy only when the body spans several chunks.
      const piece = take === chunk.length ? chunk : chunk.subarray(0, take);
      const kept = this.kept;
      if (kept === null) this.kept = piece;
      else if (Array.isArray(kept)) kept.push(piece);
      else this.kept = [kept, piece];
      this.len += take;
    }
    if (take < chunk.length) {
      // Truncate: report now, then drain the rest or drop the connection.
      this.discarded = chunk.length - take;
      this.finishResponse(true);
      if (this.discarded > this.drainBudget) controller.abort(drainError());
    }
  }

  onResponseEnd(): void {
    this.end();
    if (!this.done) this.finishResponse(false);
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    this.end();
    if (!this.done) this.finishError(classifyError(err), describeError(err));
  }

  /** Called by the timer. */
  timedOut(): void {
    this.timer = null;
    if (this.ended) return;
    if (!this.done) {
      const msg = !this.started
        ? `request not on a connection within ${this.waitMs} ms (connection pool busy)`
        : this.status === 0
          ? `no response within ${this.timeoutMs} ms`
          : `response body not complete within ${this.timeoutMs} ms`;
      this.finishError('response_timeout', msg);
    }
    // If the request is not on a socket yet, onRequestStart aborts it.
    this.controller?.abort(timeoutError('response timeout'));
  }

  fail(err: unknown): void {
    this.end();
    if (!this.done) this.finishError(classifyError(err), describeError(err));
  }

  private end(): void {
    this.ended = true;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private finishResponse(truncated: boolean): void {
    this.done = true;
    const kept = this.kept;
    let body = '';
    if (kept !== null) {
      const buf = Array.isArray(kept) ? Buffer.concat(kept, this.len) : kept;
      body = buf.toString('utf8', 0, truncated ? utf8SafeLength(buf, this.len) : this.len);
      this.kept = null;
    }
    const result: SendResult = {
      kind: 'response',
      response: { status: this.status, headers: this.headers ?? {}, body, bodyTruncated: truncated },
      durationMs: performance.now() - this.start,
    };
    if (truncated) this.resolve(result);
    else process.nextTick(deliverAfterRelease, this.resolve, result);
  }

  private finishError(errorClass: ErrorClass, message: string): void {
    this.done = true;
    this.kept = null;
    this.resolve({ kind: 'error', errorClass, message, durationMs: performance.now() - this.start });
  }
}

function timeoutError(message: string): Error {
  const e = new Error(message) as Error & { code: string };
  e.code = 'ERR_RESPONSE_TIMEOUT';
  return e;
}

function drainError(): Error {
  const e = new Error('response body larger than the kept excerpt; connection dropped') as Error & { code: string };
  e.code = 'ERR_RESPONSE_TRUNCATED';
  return e;
}

// ---------------------------------------------------------------------------------------------
// Sender
// ---------------------------------------------------------------------------------------------

const ENCODED_DOT = /%2e/i;

/**
 * The path and query to send for `raw` (parsed as `url`). URL parsing resolves dot segments, the
 * percent-encoded ones too (`/a/%2E%2E/b` is `/b`); a segment written encoded is data (a template
 * value such as "..", see formats/template.ts), so it is sent as written and the receiver sees a
 * segment, not a step up the path. Literal `.` and `..` segments are resolved as before.
 *
 * @example requestTarget('http://h/base/%2E%2E/end', new URL('http://h/base/%2E%2E/end')) // '/base/%2E%2E/end'
 */
export function requestTarget(raw: string, url: URL): string {
  try {
    // With every '%' written as '%25' the parser sees no encoded dot; it writes no '%25' of its own
    // (it never encodes '%'), so turning each '%25' back into '%' restores the text exactly.
    const kept = new URL(raw.replace(/%/g, '%25'));
    return (kept.pathname + kept.search).replace(/%25/g, '%');
  } catch {
    return url.pathname + url.search;
  }
}

/** One pool key's connections to one origin, and how many of them are open. */
interface KeyedPool {
  pool: Pool;
  open: number;
  /** Forgets and closes the pool unless a connection is open (or a newer pool took its key). */
  drop(): void;
}

export class HttpSender {
  private readonly agent: Agent;
  private readonly pools = new Map<string, KeyedPool>();
  private readonly poolOpts: Pool.Options;
  private readonly checkOpts: { allowPrivate: boolean };
  private readonly connectTimeoutMs: number;
  private readonly maxBytes: number;
  private readonly checked = new Memo<string, DestinationCheck>(1000);

  constructor(opts: HttpSenderOptions) {
    this.checkOpts = { allowPrivate: opts.allowPrivate };
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 5000;
    this.maxBytes = Math.max(0, opts.maxResponseBodyBytes ?? 4096);
    const common: Pool.Options = { connect: { timeout: this.connectTimeoutMs, lookup: guardedLookup(opts.allowPrivate) } };
    if (opts.keepAliveTimeoutMs !== undefined) common.keepAliveTimeout = opts.keepAliveTimeoutMs;
    this.agent = new Agent({ ...common, connections: opts.connectionsPerOrigin ?? 64 });
    this.poolOpts = { ...common, connections: opts.connectionsPerKey ?? 64 };
  }

  /** Keyed pools held now (each has an open connection, or had one moments ago). */
  get keyedPools(): number {
    return this.pools.size;
  }

  send(req: OutboundRequest): Promise<SendResult> {
    const start = performance.now();
    const check = this.checkUrl(req.url);
    if (!check.ok) {
      return Promise.resolve({
        kind: 'error',
        errorClass: check.code,
        message: check.reason,
        durationMs: performance.now() - start,
      });
    }
    const url = check.url;
    const timeoutMs = req.timeoutMs > 0 && Number.isFinite(req.timeoutMs) ? req.timeoutMs : 15_000;
    return new Promise<SendResult>((resolve) => {
      const ex = new Exchange(resolve, start, timeoutMs, this.maxBytes, this.connectTimeoutMs + timeoutMs);
      const keyed = req.poolKey === undefined ? undefined : this.poolFor(req.poolKey, url.origin);
      try {
        (keyed ? keyed.pool : this.agent).dispatch(
          {
            origin: url.origin,
            path: ENCODED_DOT.test(req.url) ? requestTarget(req.url, url) : url.pathname + url.search,
            method: req.method as Dispatcher.HttpMethod,
            headers: req.headers,
            body: req.body ?? null,
            headersTimeout: timeoutMs,
            bodyTimeout: timeoutMs,
          },
          ex,
        );
      } catch (err) {
        ex.fail(err);
      }
      // Refused before any connection (an invalid header or method): no connection will ever close
      // to drop the pool made for it.
      if (keyed && ex.settled && keyed.open === 0) keyed.drop();
    });
  }

  /**
   * The URL check of a destination (a pure function of the URL text; addresses are checked at
   * connect), kept for the URLs that repeat on every delivery. The URL it returns is only read.
   */
  private checkUrl(url: string): DestinationCheck {
    return this.checked.get(url, () => checkDestinationUrl(url, this.checkOpts));
  }

  /**
   * The pool of a key's requests to an origin, made on first use. It goes once its last connection
   * closes (idle past the keep-alive time, or failing to connect), as undici's Agent lets its own go:
   * closing lets requests already queued in it finish; the next request makes a new one.
   */
  private poolFor(poolKey: string, origin: string): KeyedPool {
    const key = `${poolKey} ${origin}`;
    const found = this.pools.get(key);
    if (found) return found;
    const entry: KeyedPool = {
      pool: new Pool(origin, this.poolOpts),
      open: 0,
      drop: () => {
        if (entry.open > 0 || this.pools.get(key) !== entry) return;
        this.pools.delete(key);
        if (!entry.pool.destroyed) void entry.pool.close().catch(() => {});
      },
    };
    entry.pool
      .on('connect', () => entry.open++)
      .on('disconnect', () => {
        entry.open--;
        entry.drop();
      })
      .on('connectionError', () => entry.drop());
    this.pools.set(key, entry);
    return entry;
  }

  /** Waits for in-flight requests, then closes every pooled connection. */
  async close(): Promise<void> {
    const pools = [...this.pools.values()].map((e) => e.pool.close());
    this.pools.clear();
    await Promise.all([this.agent.close(), ...pools]);
  }
}
