import { createHash } from 'node:crypto';
import type { Callback } from '../routing/callback.js';
import type { RenderedRequest } from '../formats/index.js';
import type { TemplateSettings, TokenAuthSettings } from '../formats/template/index.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/log.js';
import { USER_AGENT } from '../formats/types.js';
import type { AuthorizeResult, RequestAuthorizer } from './authorizer.js';
import type { HttpSender } from './http.js';
import { redactUrl } from './redact.js';

interface Token {
  token: string;
  expiresAt: number;
}
type Fetched = { ok: true; token: Token } | { ok: false; message: string };

/** When the token endpoint gives no `expires_in`. */
const DEFAULT_LIFETIME_S = 300;
const TOKEN_TIMEOUT_MS = 10_000;

/**
 * Advanced authentication of template callbacks (`token_auth`): fetches an access token from the
 * customer's token URL through the guarded sender, sends `Authorization: Bearer <token>`, reuses it
 * until shortly before `expires_in` (10 % of the lifetime, at most 30 s, early), and fetches a new one
 * after a 401. Concurrent deliveries share one in-flight fetch per callback. Failures come back as
 * messages that never contain the client secret (the worker records them as `auth_failed`).
 */
export class TokenAuthorizer implements RequestAuthorizer {
  private readonly cache = new Map<string, Token>();
  private readonly inflight = new Map<string, Promise<Fetched>>();
  /** The token each request was sent with, so a refresh after its 401 can tell a newer one apart. */
  private readonly handed = new WeakMap<RenderedRequest, string>();
  /** Token requests made (for tests and metrics). */
  fetches = 0;

  constructor(private readonly deps: { sender: HttpSender; clock: Clock; log?: Logger }) {}

  /** A callback whose settings hold a token fetch (only formats with a `token_auth` field accept one). */
  applies(cb: Callback): boolean {
    return (cb.settings as unknown as TemplateSettings).token_auth !== undefined;
  }

  async authorize(cb: Callback, request: RenderedRequest, opts: { refresh: boolean }): Promise<AuthorizeResult> {
    const settings = (cb.settings as unknown as TemplateSettings).token_auth;
    if (!settings) return { ok: true, request };
    // A changed token configuration is a different cache entry.
    const key = `${cb.id}:${createHash('sha256').update(JSON.stringify(settings)).digest('base64url')}`;
    const now = this.deps.clock.now();
    const cached = this.cache.get(key);
    const usable = cached && cached.expiresAt > now && (!opts.refresh || cached.token !== this.handed.get(request)) ? cached : undefined;
    let token = usable;
    if (!token) {
      let pending = this.inflight.get(key);
      if (!pending) {
        pending = this.fetch(settings).finally(() => this.inflight.delete(key));
        this.inflight.set(key, pending);
        void pending.then((r) => {
          if (r.ok) this.cache.set(key, r.token);
          else this.cache.delete(key);
        });
      }
      const r = await pending;
      if (!r.ok) {
        this.deps.log?.warn({ callbackId: cb.id, reason: r.message }, 'token request failed');
        return { ok: false, message: r.message };
      }
      token = r.token;
    }
    this.handed.set(request, token.token);
    return { ok: true, request: { ...request, headers: { ...request.headers, authorization: `Bearer ${token.token}` } } };
  }

  /** Forgets cached tokens (all, or a callback's). */
  clear(callbackId?: string): void {
    for (const k of [...this.cache.keys()]) if (callbackId === undefined || k.startsWith(`${callbackId}:`)) this.cache.delete(k);
  }

  private async fetch(s: TokenAuthSettings): Promise<Fetched> {
    this.fetches += 1;
    const secret = s.client_secret;
    const scrub = (text: string) => {
      let out = text;
      for (const form of new Set([secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1), Buffer.from(secret).toString('base64')])) {
        if (form.length > 0) out = out.split(form).join('[redacted]');
      }
      return out;
    };
    const fields: Record<string, string> = { client_id: s.client_id, client_secret: secret, ...s.params };
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, accept: 'application/json', ...s.headers };
    let url = s.url;
    let body: string | undefined;
    if (s.method === 'GET') {
      const u = new URL(s.url);
      for (const [k, v] of Object.entries(fields)) u.searchParams.set(k, v);
      url = u.toString();
    } else if (s.encoding === 'json') {
      body = JSON.stringify(fields);
      headers['content-type'] = 'application/json';
    } else {
      body = new URLSearchParams(fields).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    const where = `token request ${s.method} ${redactUrl(s.url)}`;
    const started = this.deps.clock.now();
    const res = await this.deps.sender.send({ method: s.method, url, headers, ...(body !== undefined ? { body } : {}), timeoutMs: TOKEN_TIMEOUT_MS });
    if (res.kind === 'error') return { ok: false, message: scrub(`${where}: ${res.errorClass} (${res.message})`) };
    const { status, body: text } = res.response;
    if (status < 200 || status >= 300) return { ok: false, message: scrub(`${where} answered HTTP ${status}: ${text.slice(0, 200)}`) };
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return { ok: false, message: scrub(`${where} answered HTTP ${status} without a JSON body${res.response.bodyTruncated ? ' (longer than the response limit)' : ''}`) };
    }
    const token = parsed?.access_token;
    if (typeof token !== 'string' || token === '' || /[\r\n]/.test(token)) return { ok: false, message: `${where}: the answer has no access_token` };
    if (typeof parsed.token_type === 'string' && parsed.token_type.toLowerCase() !== 'bearer') {
      return { ok: false, message: `${where}: token_type ${scrub(parsed.token_type).slice(0, 40)} is not Bearer` };
    }
    const raw = typeof parsed.expires_in === 'string' ? Number(parsed.expires_in) : parsed.expires_in;
    const lifetimeMs = (typeof raw === 'number' && Number.isFinite(raw) && raw > 0 ? raw : DEFAULT_LIFETIME_S) * 1000;
    return { ok: true, token: { token, expiresAt: started + lifetimeMs - Math.min(30_000, lifetimeMs / 10) } };
  }
}
