import type { Callback } from '../../routing/callback.js';
import { liveSecrets } from '../../routing/callback.js';
import { eventTypeByName } from '../../catalogue/event-types.js';
import { Memo } from '../../lib/memo.js';
import { asData } from '../fields.js';
import { compactJwe, encryptValue, type Cipher } from '../crypto.js';
import { standardHeaders } from '../standard.js';
import { USER_AGENT, type CheckRequest, type RenderEvent, type RenderedRequest, type SuccessRule } from '../types.js';
import { compile, type Part } from './parse.js';
import { escapeValue } from './escape.js';
import { sampleEvent } from './sample.js';
import type { BodyType, StaticAuth, TemplateSettings } from './types.js';

// ---- values ------------------------------------------------------------------------------------

function lookup(path: readonly string[], event: RenderEvent, cb: Callback): unknown {
  const data = asData(event.data);
  const [first, ...rest] = path as [string, ...string[]];
  let v: unknown;
  if (first === 'data') v = event.data;
  else if (first === 'custom_args') v = event.customArgs ?? data.custom_args ?? null;
  else if (eventTypeByName(event.type)?.variables.includes(first)) v = data[first];
  else {
    const t = eventTypeByName(event.type);
    switch (first) {
      case 'event_id': v = event.id; break;
      case 'event_type': v = event.type; break;
      case 'event_code': v = t?.code ?? null; break;
      case 'event_channel': v = t?.channel ?? null; break;
      case 'event_created_at': v = new Date(event.createdAt).toISOString(); break;
      case 'event_timestamp': v = Math.floor(event.createdAt / 1000); break;
      case 'resource_id': v = event.resourceId; break;
      case 'callback_id': v = cb.id; break;
      case 'callback_title': v = cb.title; break;
      default: v = data[first];
    }
  }
  for (const seg of rest) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[seg];
  }
  return v;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** The text of a value: strings as they are, other scalars stringified, objects as JSON, absent as "". */
function toText(v: unknown): string {
  const s = typeof v === 'string' ? v : v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return s.replace(LONE_SURROGATE, '\ufffd');
}

interface ValueCipher {
  cipher: Cipher;
  key: Buffer;
}

function renderParts(parts: readonly Part[], event: RenderEvent, cb: Callback, enc: ValueCipher | null): string {
  let out = '';
  for (const p of parts) {
    if (typeof p === 'string') {
      out += p;
      continue;
    }
    const value = lookup(p.path, event, cb);
    if (enc) {
      const sealed = encryptValue(enc.cipher, enc.key, toText(value));
      out += p.ctx === 'json-value' ? JSON.stringify(sealed) : escapeValue(sealed, p.ctx);
    } else if (p.ctx === 'json-value') {
      out += value === undefined ? 'null' : JSON.stringify(value, (_k, x: unknown) => (typeof x === 'string' ? x.replace(LONE_SURROGATE, '\ufffd') : x));
    } else {
      out += escapeValue(toText(value), p.ctx);
    }
  }
  return out;
}

// ---- defaults ----------------------------------------------------------------------------------

/** The body when none is given: the event, in the body type's shape. */
export function defaultBody(type: BodyType): string {
  switch (type) {
    case 'json':
      return '{"id":"{{event_id}}","type":"{{event_type}}","code":{{event_code}},"channel":"{{event_channel}}","timestamp":"{{event_created_at}}","resource_id":{{resource_id}},"data":{{data}},"custom_args":{{custom_args}}}';
    case 'xml':
      return '<?xml version="1.0" encoding="UTF-8"?><event><id>{{event_id}}</id><type>{{event_type}}</type><code>{{event_code}}</code><channel>{{event_channel}}</channel><timestamp>{{event_created_at}}</timestamp><resource_id>{{resource_id}}</resource_id><data>{{data}}</data><custom_args>{{custom_args}}</custom_args></event>';
    case 'html':
      return '<!DOCTYPE html><html><body><dl><dt>id</dt><dd>{{event_id}}</dd><dt>type</dt><dd>{{event_type}}</dd><dt>timestamp</dt><dd>{{event_created_at}}</dd><dt>data</dt><dd>{{data}}</dd></dl></body></html>';
    case 'text':
      return '{{event_type}} {{event_id}} {{event_created_at}}\n{{data}}';
    case 'form':
      return 'id={{event_id}}&type={{event_type}}&code={{event_code}}&channel={{event_channel}}&timestamp={{event_created_at}}&resource_id={{resource_id}}&data={{data}}&custom_args={{custom_args}}';
  }
}

/** GET and DELETE without query parameters carry the event in the query. */
export const DEFAULT_QUERY: Readonly<Record<string, string>> = {
  id: '{{event_id}}',
  type: '{{event_type}}',
  timestamp: '{{event_created_at}}',
  data: '{{data}}',
};

const CONTENT_TYPES: Record<BodyType, string> = {
  json: 'application/json; charset=utf-8',
  xml: 'application/xml; charset=utf-8',
  html: 'text/html; charset=utf-8',
  text: 'text/plain; charset=utf-8',
  form: 'application/x-www-form-urlencoded',
};

export function carriesBody(method: string): boolean {
  return method === 'POST' || method === 'PUT';
}

// ---- rendering ---------------------------------------------------------------------------------

const keyCache = new Memo<string, Buffer>(10_000);
function encryptionKey(stored: string): Buffer {
  return keyCache.get(stored, () => Buffer.from(stored, 'base64'));
}

/** The Authorization header value of a static auth setting. */
export function staticAuthorization(auth: StaticAuth): string {
  switch (auth.type) {
    case 'basic':
      return `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    case 'bearer':
      return `Bearer ${auth.token}`;
    case 'raw':
      return auth.value;
  }
}

/** The URL with its query parameters rendered (URLSearchParams encoding). */
export function renderUrl(event: RenderEvent, cb: Callback, enc?: ValueCipher | null): string {
  const s = cb.settings as unknown as TemplateSettings;
  let url = renderParts(compile(cb.url, 'url'), event, cb, enc ?? null);
  const query = s.query ?? (carriesBody(cb.method) ? undefined : DEFAULT_QUERY);
  if (query && Object.keys(query).length > 0) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) params.append(k, renderParts(compile(v, 'query'), event, cb, enc ?? null));
    const hash = url.indexOf('#');
    const base = hash === -1 ? url : url.slice(0, hash);
    url = `${base}${base.includes('?') ? '&' : '?'}${params.toString()}`;
  }
  return url;
}

export function renderTemplate(event: RenderEvent, cb: Callback, now: number): RenderedRequest {
  const s = cb.settings as unknown as TemplateSettings;
  const e = s.encryption;
  const enc = e && e.scope === 'values' ? { cipher: e.cipher, key: encryptionKey(e.key) } : null;
  const url = renderUrl(event, cb, enc);
  const headers: Record<string, string> = { 'user-agent': USER_AGENT };
  for (const [name, value] of Object.entries(cb.headers)) headers[name] = renderParts(compile(value, 'header'), event, cb, enc);
  let body = '';
  let contentType: string | null = null;
  if (carriesBody(cb.method)) {
    const type = s.body_type ?? 'json';
    body = renderParts(compile(s.body ?? defaultBody(type), type), event, cb, enc);
    contentType = CONTENT_TYPES[type];
    if (e && e.scope === 'body') {
      body = compactJwe(encryptionKey(e.key), body, contentType.split(';')[0]);
      contentType = 'application/jose';
    }
  }
  Object.assign(headers, standardHeaders(liveSecrets(cb, now), event.id, Math.floor(now / 1000), body));
  if (contentType) headers['content-type'] = contentType;
  else delete headers['content-type'];
  if (s.auth) headers.authorization = staticAuthorization(s.auth);
  const success: SuccessRule = {};
  if (s.success?.statuses) success.statuses = s.success.statuses;
  if (s.success?.body_contains !== undefined) success.bodyContains = s.success.body_contains;
  return { method: cb.method, url, headers, body, ...(Object.keys(success).length > 0 ? { success } : {}) };
}

/**
 * The URL check (`/refresh`): the configured method, without a body, to the URL rendered for a sample
 * event, with the configured headers and static auth; available on any answer below 500.
 */
export function checkTemplate(cb: Callback, now: number): CheckRequest {
  const s = cb.settings as unknown as TemplateSettings;
  const req = renderTemplate(sampleEvent(s.channel ?? 'none', [...cb.events], now), cb, now);
  const headers = { ...req.headers };
  delete headers['content-type'];
  return {
    method: cb.method,
    url: req.url,
    headers,
    body: '',
    success: { statuses: Array.from({ length: 400 }, (_, i) => 100 + i) },
    timeoutMs: Math.max(cb.timeoutMs, 3000),
  };
}

