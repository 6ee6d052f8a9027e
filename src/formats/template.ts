import type { Callback } from '../routing/callback.js';
import { liveSecrets } from '../routing/callback.js';
import { EVENT_TYPES, eventTypeByName } from '../catalogue/event-types.js';
import { Memo } from '../lib/memo.js';
import { asData } from './fields.js';
import { compactJwe, encryptValue, type Cipher } from './crypto.js';
import { standardHeaders } from './standard.js';
import { USER_AGENT, type CheckRequest, type RenderEvent, type RenderedRequest, type SuccessRule } from './types.js';

/**
 * Format `template` (Kaleyra-style callback profiles, docs/formats/template.md): the customer shapes
 * the request — method, URL, headers, query and body are templates with `{{name}}`,
 * `{{data.path}}` or `<name>` placeholders, each value escaped for where it lands — plus static
 * auth, per-value or whole-body encryption, and a success rule. Pure: the callback's
 * secrets arrive opened (store/sealing.ts).
 */
export const TEMPLATE_CHANNELS = ['none', 'sms', 'email', 'otp', 'whatsapp', 'system'] as const;
export type TemplateChannel = (typeof TEMPLATE_CHANNELS)[number];
export const TEMPLATE_METHODS = ['GET', 'POST', 'PUT', 'DELETE'] as const;
export type TemplateMethod = (typeof TEMPLATE_METHODS)[number];
export const BODY_TYPES = ['json', 'xml', 'html', 'text', 'form'] as const;
export type BodyType = (typeof BODY_TYPES)[number];

export type StaticAuth =
  | { type: 'basic'; username: string; password: string }
  | { type: 'bearer'; token: string }
  | { type: 'raw'; value: string };

export interface TokenAuthSettings {
  url: string;
  method: 'GET' | 'POST' | 'PUT';
  client_id: string;
  /** Sealed at rest when RELAY_MASTER_KEY is set. */
  client_secret: string;
  /** How client id, secret and params are sent with POST/PUT (GET: always the query). */
  encoding: 'form' | 'json';
  params: Record<string, string>;
  headers: Record<string, string>;
}

export interface EncryptionSettings {
  /** values: each substituted value on its own; body: the whole body as compact JWE (dir, A256GCM). */
  scope: 'values' | 'body';
  cipher: Cipher;
  /** base64 of the key bytes; sealed at rest when RELAY_MASTER_KEY is set. */
  key: string;
}

/** What a template callback keeps in `settings` (its URL and header templates are the columns). */
export interface TemplateSettings {
  channel: TemplateChannel;
  query?: Record<string, string>;
  body_type?: BodyType;
  body?: string;
  /** The body is the default of its body type (it follows a later change of body_type). */
  body_default?: boolean;
  auth?: StaticAuth;
  token_auth?: TokenAuthSettings;
  encryption?: EncryptionSettings;
  success?: { statuses?: number[]; body_contains?: string };
  retry_schedule?: number[];
}

// ---- variables ---------------------------------------------------------------------------------

/** Values every event offers, whatever its type. */
export const META_VARIABLES = [
  'event_id',
  'event_type',
  'event_code',
  'event_channel',
  'event_created_at',
  'event_timestamp',
  'resource_id',
  'callback_id',
  'callback_title',
  'data',
  'custom_args',
] as const;
const META = new Set<string>(META_VARIABLES);
const ALL_CATALOGUE = new Set(EVENT_TYPES.flatMap((t) => t.variables));

/** The event types of a channel (none: every type). */
export function channelEvents(channel: TemplateChannel): string[] {
  return EVENT_TYPES.filter((t) => channel === 'none' || t.channel === channel).map((t) => t.name);
}

/** Variable names the templates may use for a channel and subscription (empty: the whole channel). */
export function offeredVariables(channel: TemplateChannel, events: readonly string[]): Set<string> {
  const types = events.length > 0 ? events : channelEvents(channel);
  const out = new Set<string>(META);
  for (const name of types) for (const v of eventTypeByName(name)?.variables ?? []) out.add(v);
  return out;
}

// ---- parsing -----------------------------------------------------------------------------------

/** Where a value lands; decides its escaping. */
type Ctx = 'url' | 'header' | 'raw' | 'json-string' | 'json-value' | 'xml' | 'form';
type Part = string | { ref: string; path: string[]; ctx: Ctx };
export type TemplateKind = 'url' | 'header' | 'query' | BodyType;

export class TemplateError extends Error {}

const BRACES = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)*)\s*\}\}/y;
const ANGLE = /<([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)*)>/y;

const BASE_CTX: Record<TemplateKind, Ctx> = { url: 'url', header: 'header', query: 'raw', json: 'json-string', xml: 'xml', html: 'xml', text: 'raw', form: 'form' };

/**
 * Splits a template into literal text and placeholders. `{{…}}` always starts a placeholder (a
 * malformed one is an error); `<name>` is one only when `name` is a known variable, and never in
 * XML/HTML, where `<…>` is markup. In JSON a placeholder inside a string gets JSON-string escaping;
 * outside one it is replaced by the value as a JSON literal.
 */
function parse(template: string, kind: TemplateKind): Part[] {
  const parts: Part[] = [];
  const angle = kind !== 'xml' && kind !== 'html';
  const json = kind === 'json';
  let lit = '';
  let inString = false;
  let i = 0;
  const push = (ref: string) => {
    if (lit) parts.push(lit);
    lit = '';
    const ctx = json ? (inString ? 'json-string' : 'json-value') : BASE_CTX[kind];
    parts.push({ ref, path: ref.split('.'), ctx });
  };
  while (i < template.length) {
    const ch = template[i]!;
    if (ch === '{' && template[i + 1] === '{') {
      BRACES.lastIndex = i;
      const m = BRACES.exec(template);
      if (!m) throw new TemplateError(`malformed placeholder at offset ${i} ("{{" must open {{name}} or {{data.path}})`);
      push(m[1]!);
      i = BRACES.lastIndex;
      continue;
    }
    if (ch === '<' && angle) {
      ANGLE.lastIndex = i;
      const m = ANGLE.exec(template);
      const first = m?.[1]?.split('.')[0];
      if (m && first !== undefined && (META.has(first) || ALL_CATALOGUE.has(first))) {
        push(m[1]!);
        i = ANGLE.lastIndex;
        continue;
      }
    }
    if (json) {
      if (inString && ch === '\\') {
        lit += template.slice(i, i + 2);
        i += 2;
        continue;
      }
      if (ch === '"') inString = !inString;
    }
    lit += ch;
    i += 1;
  }
  if (lit) parts.push(lit);
  return parts;
}

const parsed = new Memo<string, Part[]>(5000);
function compile(template: string, kind: TemplateKind): Part[] {
  return parsed.get(`${kind}\u0000${template}`, () => parse(template, kind));
}

/** The variables a template uses (first segment of each placeholder). Throws TemplateError. */
export function templateVariables(template: string, kind: TemplateKind): string[] {
  return compile(template, kind).flatMap((p) => (typeof p === 'string' ? [] : [p.path[0]!]));
}

// ---- values and escaping -----------------------------------------------------------------------

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

const XML_INVALID = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '\r': '&#13;', '\n': '&#10;', '\t': '&#9;' };

/**
 * XML/HTML text and attribute values: markup characters as entities; CR, LF and TAB as character
 * references (parsers would otherwise normalise them); characters XML forbids become U+FFFD.
 */
export function escapeMarkup(s: string): string {
  return s.replace(XML_INVALID, '\ufffd').replace(/[&<>"'\r\n\t]/g, (c) => ENTITIES[c]!);
}

/**
 * Header values: control characters (CR, LF, TAB, …) become spaces; `%` and non-ASCII characters are
 * percent-encoded (UTF-8), so `decodeURIComponent` gives the value back apart from the controls.
 */
export function escapeHeader(s: string): string {
  return s.replace(/[^\x20-\x24\x26-\x7e]/gu, (c) => (c.charCodeAt(0) < 0x20 || c === '\x7f' ? ' ' : encodeURIComponent(c)));
}

function escape(text: string, ctx: Ctx): string {
  switch (ctx) {
    case 'url':
      // `/ ? # \` are encoded, so a value stays inside its segment; a value that is `.` or `..`
      // would still be a dot segment (a step up the path) unless its dots are encoded too. The
      // sender sends encoded dot segments as written (http.ts, requestTarget).
      return text === '.' || text === '..' ? text.replace(/\./g, '%2E') : encodeURIComponent(text);
    case 'header':
      return escapeHeader(text);
    case 'json-string':
      return JSON.stringify(text).slice(1, -1);
    case 'xml':
      return escapeMarkup(text);
    case 'form':
      return encodeURIComponent(text).replace(/%20/g, '+');
    default:
      return text;
  }
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
      out += p.ctx === 'json-value' ? JSON.stringify(sealed) : escape(sealed, p.ctx);
    } else if (p.ctx === 'json-value') {
      out += value === undefined ? 'null' : JSON.stringify(value, (_k, x: unknown) => (typeof x === 'string' ? x.replace(LONE_SURROGATE, '\ufffd') : x));
    } else {
      out += escape(toText(value), p.ctx);
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

// ---- sample events -----------------------------------------------------------------------------

const PREFERRED: Record<TemplateChannel, string> = {
  none: 'sms.delivered',
  sms: 'sms.delivered',
  email: 'email.delivered',
  otp: 'otp.verified',
  whatsapp: 'whatsapp.delivered',
  system: 'system.account_login',
};

const SAMPLE_VALUES: Record<string, unknown> = {
  message_id: 'msg_sample_0001',
  to: '+15555550100',
  from: 'callback-relay',
  status: 'delivered',
  raw_status: 'DELIVRD',
  error_code: 0,
  cost: 0.0075,
  currency: 'USD',
  parts: 1,
  custom_args: { sample: true },
  text: 'Sample reply',
  body: 'Sample message',
  subject: 'Sample subject',
};

/**
 * A sample event for a callback's test call: the channel's typical event (or the first one it is
 * subscribed to) with a plausible value for each of its variables.
 */
export function sampleEvent(channel: TemplateChannel, events: readonly string[], now: number, tricky = false): RenderEvent {
  const type = events.length > 0 && !events.includes(PREFERRED[channel]) ? events[0]! : PREFERRED[channel];
  const t = eventTypeByName(type);
  const data: Record<string, unknown> = {};
  for (const v of t?.variables ?? []) {
    data[v] = tricky ? TRICKY : v === 'event_time' || v === 'send_time' ? new Date(now).toISOString() : (SAMPLE_VALUES[v] ?? `sample ${v}`);
  }
  return { id: `evt_test_${now.toString(36)}`, type, createdAt: now, data, resourceId: tricky ? TRICKY : 'msg_sample_0001', customArgs: null };
}

/** What every value is when a template is checked at save: it must survive every escaping. */
export const TRICKY = 'q"uote\' <tag attr="x"> & &amp; \\ back\r\nline\ttab é ✓ 😀 \u2028 %20 + = ? # {}';

// ---- validation --------------------------------------------------------------------------------

/** Why a rendered body is not valid for its type; null when it is. */
export function bodyProblem(type: BodyType, body: string): string | null {
  switch (type) {
    case 'json':
      try {
        JSON.parse(body);
        return null;
      } catch (err) {
        return `is not valid JSON once rendered (${(err as Error).message})`;
      }
    case 'xml': {
      const p = xmlProblem(body);
      return p === null ? null : `is not well-formed XML once rendered (${p})`;
    }
    case 'form':
      return /^[^=&\s]+=[^&\s]*(&[^=&\s]+=[^&\s]*)*$/.test(body)
        ? null
        : 'must be key=value pairs joined by & (keys and values URL-encoded, no spaces), e.g. to={{to}}&status={{status}}';
    default:
      return body.trim() === '' ? 'is empty' : null;
  }
}

const XML_NAME = /[A-Za-z_:][-A-Za-z0-9_:.]*/y;
const BAD_AMP = /&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/;

/** A small well-formedness check: one root, balanced tags, quoted attributes, valid entity references. */
export function xmlProblem(s: string): string | null {
  const stack: string[] = [];
  let rootSeen = false;
  let i = s.charCodeAt(0) === 0xfeff ? 1 : 0;
  const name = (at: number): string | null => {
    XML_NAME.lastIndex = at;
    return XML_NAME.exec(s)?.[0] ?? null;
  };
  const ws = (at: number) => {
    while (at < s.length && /\s/.test(s[at]!)) at += 1;
    return at;
  };
  while (i < s.length) {
    const lt = s.indexOf('<', i);
    const text = s.slice(i, lt === -1 ? s.length : lt);
    if (BAD_AMP.test(text)) return 'a bare "&"';
    if (text.includes('>') && text.includes(']]>')) return '"]]>" in text';
    if (stack.length === 0 && text.trim() !== '') return 'text outside the root element';
    if (lt === -1) break;
    i = lt;
    const skip = (open: string, close: string, what: string): string | null => {
      const end = s.indexOf(close, i + open.length);
      if (end === -1) return `unclosed ${what}`;
      i = end + close.length;
      return null;
    };
    let problem: string | null | undefined;
    if (s.startsWith('<?', i)) problem = skip('<?', '?>', 'processing instruction');
    else if (s.startsWith('<!--', i)) problem = skip('<!--', '-->', 'comment');
    else if (s.startsWith('<![CDATA[', i)) problem = stack.length === 0 ? 'CDATA outside the root element' : skip('<![CDATA[', ']]>', 'CDATA section');
    else if (s.startsWith('<!DOCTYPE', i)) problem = rootSeen ? 'DOCTYPE after the root element' : skip('<!DOCTYPE', '>', 'DOCTYPE');
    else if (s[i + 1] === '/') {
      const n = name(i + 2);
      if (!n) return 'a malformed end tag';
      const j = ws(i + 2 + n.length);
      if (s[j] !== '>') return `a malformed end tag </${n}`;
      const open = stack.pop();
      if (open !== n) return open ? `</${n}> closes <${open}>` : `</${n}> without a start tag`;
      i = j + 1;
    } else {
      const n = name(i + 1);
      if (!n) return 'a "<" that starts no tag (escape it as &lt;)';
      if (stack.length === 0 && rootSeen) return 'more than one root element';
      let j = i + 1 + n.length;
      const attrs = new Set<string>();
      for (;;) {
        const k = ws(j);
        if (s.startsWith('/>', k)) {
          j = k + 2;
          rootSeen = true;
          break;
        }
        if (s[k] === '>') {
          j = k + 1;
          stack.push(n);
          rootSeen = true;
          break;
        }
        if (k === j) return `a malformed tag <${n}`;
        const a = name(k);
        if (!a) return `a malformed attribute in <${n}>`;
        if (attrs.has(a)) return `attribute ${a} repeated in <${n}>`;
        attrs.add(a);
        let m = ws(k + a.length);
        if (s[m] !== '=') return `attribute ${a} of <${n}> has no value`;
        m = ws(m + 1);
        const q = s[m];
        if (q !== '"' && q !== "'") return `attribute ${a} of <${n}> is not quoted`;
        const end = s.indexOf(q, m + 1);
        if (end === -1) return `unclosed attribute ${a} of <${n}>`;
        const value = s.slice(m + 1, end);
        if (value.includes('<')) return `"<" in attribute ${a} of <${n}>`;
        if (BAD_AMP.test(value)) return `a bare "&" in attribute ${a} of <${n}>`;
        j = end + 1;
      }
      i = j;
    }
    if (problem) return problem;
  }
  if (stack.length > 0) return `<${stack[stack.length - 1]}> is not closed`;
  if (!rootSeen) return 'no root element';
  return null;
}
