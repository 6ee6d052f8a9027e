import { Type } from '@sinclair/typebox';
import { invalid } from '../../errors.js';
import { Nullable, SHARED_SCHEMAS, type FieldSpec, type FormatModule } from '../module.js';
import { whsecSecret, WHSEC_FIELD } from '../standard.js';
import { eventTypeByName } from '../../catalogue/event-types.js';
import type { Callback } from '../../routing/callback.js';
import { CIPHERS, keyLength, type Cipher } from '../crypto.js';
import { BODY_TYPES, TEMPLATE_CHANNELS, TEMPLATE_METHODS, type BodyType, type StaticAuth, type TemplateChannel, type TemplateMethod, type TemplateSettings, type TokenAuthSettings } from './types.js';
import { channelEvents, offeredVariables } from './variables.js';
import { TemplateError, templateVariables, type TemplateKind } from './parse.js';
import { carriesBody, checkTemplate, defaultBody, DEFAULT_QUERY, renderTemplate } from './render.js';
import { sampleEvent } from './sample.js';
import { bodyProblem } from './validate.js';

/** The template format's fields of the create/update bodies (see docs/formats/template.md). */
export interface TemplateInput {
  method?: TemplateMethod | undefined;
  channel?: TemplateChannel | undefined;
  query?: Record<string, string> | null | undefined;
  body_type?: BodyType | undefined;
  body?: string | null | undefined;
  auth?: { type: string; key?: string; username?: string; password?: string; token?: string; value?: string } | undefined;
  token_auth?:
    | {
        url?: string;
        method?: 'GET' | 'POST' | 'PUT';
        client_id?: string;
        client_secret?: string;
        encoding?: 'form' | 'json';
        params?: Record<string, string>;
        headers?: Record<string, string>;
      }
    | null
    | undefined;
  encryption?: { scope?: 'values' | 'body'; cipher?: Cipher; key?: string; key_encoding?: 'base64' | 'hex' | 'utf8' } | null | undefined;
  success?: { statuses?: number[] | null; body_contains?: string | null } | null | undefined;
}

const TITLE = /^[\p{L}\p{N} _-]{3,200}$/u;
const CONTROL = /[\u0000-\u001f\u007f]/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Template callbacks' titles: at least 3 letters, digits, spaces, `-` or `_` (Kaleyra's rule). */
export function checkTemplateTitle(title: string): void {
  if (!TITLE.test(title)) throw invalid('title', 'must be 3 to 200 characters: letters, digits, space, "-" or "_"');
}

function text(field: string, v: string | undefined, max: number): string {
  if (v === undefined || v.length === 0 || v.length > max) throw invalid(field, `is required: 1 to ${max} characters`);
  if (CONTROL.test(v)) throw invalid(field, 'may not contain control characters');
  return v;
}

function pairs(field: string, rec: Record<string, string>, header: boolean): Record<string, string> {
  const entries = Object.entries(rec);
  if (entries.length > 50) throw invalid(field, 'at most 50 entries');
  for (const [k, v] of entries) {
    if (k.length === 0 || k.length > 256 || CONTROL.test(k) || (header && !TOKEN.test(k))) throw invalid(`${field}.${k}`, 'is not a valid name');
    if (v.length > 8192) throw invalid(`${field}.${k}`, 'is longer than 8192 characters');
    if (/[\r\n\0]/.test(v)) throw invalid(`${field}.${k}`, 'may not contain CR, LF or NUL');
  }
  return rec;
}

function decodeKey(key: string, encoding: 'base64' | 'hex' | 'utf8'): Buffer {
  if (encoding === 'hex') {
    if (!/^([0-9a-fA-F]{2})+$/.test(key)) throw invalid('encryption.key', 'is not hex');
    return Buffer.from(key, 'hex');
  }
  if (encoding === 'base64') {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(key)) throw invalid('encryption.key', 'is not base64');
    return Buffer.from(key, 'base64');
  }
  return Buffer.from(key, 'utf8');
}

export interface ResolvedTemplate {
  method: TemplateMethod;
  channel: TemplateChannel;
  events: string[];
}

/**
 * Applies the template fields of a create or update body to `s` (a copy of the stored settings, or
 * {} for a new template callback) and checks the whole profile: the channel/events rule, every
 * template (syntax, variables offered, validity once rendered with hostile sample values), auth,
 * advanced auth, encryption and success rule. Secrets are kept plain here; the store seals them (store/sealing.ts).
 */
export function resolveTemplate(
  input: TemplateInput,
  s: Record<string, unknown>,
  current: { method: string; events: string[] } | null,
  events: string[] | undefined,
  profile: { url: string; headers: Record<string, string>; title: string },
  checkUrl: (url: string, field: string) => string,
): ResolvedTemplate {
  const method: TemplateMethod = input.method ?? ((current?.method as TemplateMethod | undefined) ?? 'POST');
  const prevChannel = s.channel as TemplateChannel | undefined;
  const channel: TemplateChannel = input.channel ?? prevChannel ?? 'none';
  s.channel = channel;

  // Subscriptions: the events must belong to the channel; none given: the whole channel.
  let subscribed = events ?? (current && (prevChannel === channel || input.channel === undefined) ? current.events : []);
  if (channel !== 'none') {
    if (subscribed.length === 0) subscribed = channelEvents(channel);
    const outside = subscribed.filter((e) => eventTypeByName(e)?.channel !== channel);
    if (outside.length > 0) throw invalid('events', `${outside.join(', ')} ${outside.length > 1 ? 'are not events' : 'is not an event'} of channel ${channel}`);
  }

  if (input.query !== undefined) {
    if (input.query === null) delete s.query;
    else s.query = pairs('query', input.query, false);
  }

  if (!carriesBody(method)) {
    if ((input.body !== undefined && input.body !== null) || input.body_type !== undefined) {
      throw invalid(input.body_type !== undefined ? 'body_type' : 'body', `${method} carries data in the query; a body applies to POST and PUT`);
    }
    // A body the customer wrote is not dropped on the side of a method change: they say so.
    if (s.body !== undefined && s.body_default !== true && input.body !== null) {
      throw invalid('method', `${method} carries data in the query, and this callback has a body template: send "body": null with the method to drop it`);
    }
    delete s.body;
    delete s.body_type;
    delete s.body_default;
  } else {
    const prevType = s.body_type as BodyType | undefined;
    const type: BodyType = input.body_type ?? prevType ?? 'json';
    s.body_type = type;
    if (input.body !== undefined && input.body !== null) {
      if (input.body.length > 65_536) throw invalid('body', 'is longer than 64 KiB');
      s.body = input.body;
      delete s.body_default;
    } else if (input.body === null || s.body === undefined || (s.body_default === true && type !== prevType)) {
      s.body = defaultBody(type);
      s.body_default = true;
    }
  }

  if (input.auth !== undefined) {
    const a = input.auth;
    const prev = s.auth as StaticAuth | undefined;
    if (a.key !== undefined) throw invalid('auth.key', 'applies to whispir callbacks; template callbacks use username/password, token or value');
    switch (a.type) {
      case 'none':
        delete s.auth;
        break;
      case 'basic': {
        const username = text('auth.username', a.username ?? (prev?.type === 'basic' ? prev.username : undefined), 256);
        if (username.includes(':')) throw invalid('auth.username', 'may not contain ":"');
        const password = a.password !== undefined ? text('auth.password', a.password, 1024) : prev?.type === 'basic' ? prev.password : undefined;
        if (password === undefined) throw invalid('auth.password', 'is required');
        s.auth = { type: 'basic', username, password };
        break;
      }
      case 'bearer': {
        const token = a.token !== undefined ? text('auth.token', a.token, 8192) : prev?.type === 'bearer' ? prev.token : undefined;
        if (token === undefined) throw invalid('auth.token', 'is required');
        s.auth = { type: 'bearer', token };
        break;
      }
      case 'raw': {
        const value = a.value !== undefined ? text('auth.value', a.value, 8192) : prev?.type === 'raw' ? prev.value : undefined;
        if (value === undefined) throw invalid('auth.value', 'is required');
        s.auth = { type: 'raw', value };
        break;
      }
      default:
        throw invalid('auth.type', 'must be none, basic, bearer or raw for template callbacks');
    }
  }
  if (s.auth && Object.keys(profile.headers).some((h) => h.toLowerCase() === 'authorization')) {
    throw invalid('headers.Authorization', 'conflicts with auth: configure the credentials in one place');
  }

  if (input.token_auth !== undefined) {
    const t = input.token_auth;
    if (t === null) delete s.token_auth;
    else {
      const prev = s.token_auth as TokenAuthSettings | undefined;
      const url = t.url ?? prev?.url;
      if (url === undefined) throw invalid('token_auth.url', 'is required');
      const secret = t.client_secret !== undefined ? text('token_auth.client_secret', t.client_secret, 1024) : prev?.client_secret;
      if (secret === undefined) throw invalid('token_auth.client_secret', 'is required');
      const next: TokenAuthSettings = {
        url: checkUrl(url, 'token_auth.url'),
        method: t.method ?? prev?.method ?? 'POST',
        client_id: text('token_auth.client_id', t.client_id ?? prev?.client_id, 1024),
        client_secret: secret,
        encoding: t.encoding ?? prev?.encoding ?? 'form',
        params: pairs('token_auth.params', t.params ?? prev?.params ?? {}, false),
        headers: pairs('token_auth.headers', t.headers ?? prev?.headers ?? {}, true),
      };
      s.token_auth = next;
    }
  }
  if (s.token_auth && s.auth) throw invalid('token_auth', 'fetches the Authorization header itself: set auth to {"type": "none"}');

  if (input.encryption !== undefined) {
    const e = input.encryption;
    if (e === null) delete s.encryption;
    else {
      const prev = s.encryption as { scope: string; cipher: Cipher; key: string } | undefined;
      const scope = e.scope ?? (prev?.scope as 'values' | 'body' | undefined) ?? 'values';
      const cipher: Cipher = scope === 'body' ? 'aes-256-gcm' : (e.cipher ?? prev?.cipher ?? 'aes-256-gcm');
      if (scope === 'body' && e.cipher !== undefined && e.cipher !== 'aes-256-gcm') throw invalid('encryption.cipher', 'whole-body encryption is JWE dir + A256GCM: aes-256-gcm');
      if (!CIPHERS.includes(cipher)) throw invalid('encryption.cipher', `must be one of ${CIPHERS.join(', ')}`);
      let key: string | undefined;
      if (e.key !== undefined) {
        const bytes = decodeKey(e.key, e.key_encoding ?? 'base64');
        if (bytes.length !== keyLength(cipher)) throw invalid('encryption.key', `${cipher} needs a ${keyLength(cipher)}-byte key (got ${bytes.length} bytes)`);
        key = bytes.toString('base64');
      } else if (prev) {
        if (Buffer.from(prev.key, 'base64').length !== keyLength(cipher)) throw invalid('encryption.key', `${cipher} needs a ${keyLength(cipher)}-byte key: give a new key`);
        key = prev.key;
      }
      if (key === undefined) throw invalid('encryption.key', 'is required');
      s.encryption = { scope, cipher, key };
    }
  }
  if (!carriesBody(method) && (s.encryption as { scope?: string } | undefined)?.scope === 'body') {
    throw invalid('encryption.scope', `${method} has no body to encrypt; use scope "values"`);
  }

  if (input.success !== undefined) {
    const r = input.success;
    if (r === null) delete s.success;
    else {
      const next: { statuses?: number[]; body_contains?: string } = { ...((s.success as object | undefined) ?? {}) };
      if (r.statuses === null) delete next.statuses;
      else if (r.statuses !== undefined) {
        if (r.statuses.length === 0 || r.statuses.length > 50) throw invalid('success.statuses', 'must list 1 to 50 status codes');
        const bad = r.statuses.filter((c) => !Number.isInteger(c) || c < 100 || c > 599);
        if (bad.length > 0) throw invalid('success.statuses', `not HTTP status codes: ${bad.join(', ')}`);
        next.statuses = [...new Set(r.statuses)].sort((a, b) => a - b);
      }
      if (r.body_contains === null) delete next.body_contains;
      else if (r.body_contains !== undefined) next.body_contains = text('success.body_contains', r.body_contains, 1024);
      if (Object.keys(next).length > 0) s.success = next;
      else delete s.success;
    }
  }

  checkTemplates(s as unknown as TemplateSettings, method, channel, subscribed, profile, checkUrl);
  return { method, channel, events: channel === 'none' ? subscribed : subscribed };
}

/** Template syntax, the variables used against those offered, and validity once rendered. */
function checkTemplates(
  s: TemplateSettings,
  method: TemplateMethod,
  channel: TemplateChannel,
  events: string[],
  profile: { url: string; headers: Record<string, string>; title: string },
  checkUrl: (url: string, field: string) => string,
): void {
  const templates: [field: string, template: string, kind: TemplateKind][] = [['url', profile.url, 'url']];
  for (const [k, v] of Object.entries(profile.headers)) templates.push([`headers.${k}`, v, 'header']);
  for (const [k, v] of Object.entries(s.query ?? (carriesBody(method) ? {} : DEFAULT_QUERY))) templates.push([`query.${k}`, v, 'query']);
  if (carriesBody(method) && s.body !== undefined) templates.push(['body', s.body, s.body_type ?? 'json']);

  const offered = offeredVariables(channel, events);
  const unknown: { field: string; names: string[] }[] = [];
  for (const [field, template, kind] of templates) {
    let used: string[];
    try {
      used = templateVariables(template, kind);
    } catch (err) {
      if (err instanceof TemplateError) throw invalid(field, err.message);
      throw err;
    }
    const names = [...new Set(used.filter((v) => !offered.has(v)))];
    if (names.length > 0) unknown.push({ field, names });
  }
  if (unknown.length > 0) {
    const scope = channel === 'none' ? (events.length > 0 ? `events ${events.join(', ')}` : 'the catalogue') : `channel ${channel}${events.length < channelEvents(channel).length ? ` (events ${events.join(', ')})` : ''}`;
    throw invalid(
      unknown[0]!.field,
      `uses variables ${scope} does not offer: ${unknown.map((u) => `${u.field}: ${u.names.join(', ')}`).join('; ')} (see GET /v1/event-types; {{data.path}} reads any value of the event data)`,
    );
  }

  // Placeholders may shape the path and query, never where the request goes.
  const authority = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(profile.url)?.[0] ?? '';
  if (authority === '' || authority.includes('{{') || templateVariables(authority, 'url').length > 0) {
    throw invalid('url', authority === '' ? 'must be an absolute http(s) URL' : 'placeholders may be used in the path and query only, not in the scheme or host');
  }

  // Rendered with values full of quotes, markup, ampersands, newlines and emoji, without auth or encryption.
  const probe: Callback = {
    id: 'cb_probe',
    accountId: '',
    apiUser: null,
    title: profile.title,
    url: profile.url,
    format: 'template',
    method,
    events: new Set(events),
    headers: profile.headers,
    settings: { ...s, auth: undefined, encryption: undefined } as unknown as Record<string, unknown>,
    secret: 'whsec_cHJvYmVwcm9iZXByb2JlcHJvYmVwcm9iZXByb2Jl',
    previousSecret: null,
    previousSecretExpiresAt: null,
    timeoutMs: 1000,
    enabled: true,
    row: null as never,
  };
  for (const tricky of [true, false]) {
    const req = renderTemplate(sampleEvent(channel, events, Date.UTC(2026, 0, 1), tricky), probe, 0);
    checkUrl(req.url, 'url');
    if (carriesBody(method)) {
      const problem = bodyProblem(s.body_type ?? 'json', req.body);
      if (problem) throw invalid('body', problem);
    }
  }
}

const str = (key: string, label: string, help: string, max: number, extra: Partial<FieldSpec> = {}): FieldSpec => ({
  key,
  type: 'text',
  label,
  help,
  schema: Type.String({ minLength: 1, maxLength: max, ...(extra.write_only ? { description: 'write-only' } : {}) }),
  ...extra,
});
const select = (key: string, label: string, help: string, options: readonly string[], extra: Partial<FieldSpec> = {}): FieldSpec => ({
  key,
  type: 'select',
  label,
  help,
  options,
  schema: Type.Union(options.map((o) => Type.Literal(o))),
  ...extra,
});
const map = (key: string, label: string, help: string): FieldSpec => ({ key, type: 'map', label, help, schema: Type.Record(Type.String(), Type.String()) });

const TOKEN_AUTH_FIELDS: readonly FieldSpec[] = [
  str('url', 'Token URL', 'Where the token is fetched', 2048, { type: 'url', required: true }),
  select('method', 'Method', 'HTTP method of the token request', ['GET', 'POST', 'PUT'], { default: 'POST' }),
  str('client_id', 'Client id', 'Sent as client_id', 1024),
  str('client_secret', 'Client secret', 'Sent as client_secret', 1024, { type: 'secret', write_only: true }),
  select('encoding', 'Encoding', 'Body of the token request', ['form', 'json'], { default: 'form' }),
  map('params', 'Parameters', 'Extra parameters of the token request (sealed at rest)'),
  map('headers', 'Headers', 'Extra headers of the token request (sealed at rest)'),
];
const ENCRYPTION_FIELDS: readonly FieldSpec[] = [
  select('scope', 'Scope', 'Each substituted value (values) or the whole body as JWE (body)', ['values', 'body'], { required: true }),
  select('cipher', 'Cipher', 'Cipher of values', CIPHERS),
  str('key', 'Key', 'The encryption key', 256, { type: 'secret', required: true, write_only: true }),
  select('key_encoding', 'Key encoding', 'How the key is written', ['base64', 'hex', 'utf8'], { default: 'base64' }),
];
const AUTH_FIELDS: readonly FieldSpec[] = [
  select('type', 'Type', 'none, basic (username, password), bearer (token) or raw (value)', ['none', 'basic', 'bearer', 'raw'], { required: true, default: 'none' }),
  str('username', 'Username', 'basic', 256),
  str('password', 'Password', 'basic', 1024, { type: 'secret', write_only: true }),
  str('token', 'Token', 'bearer', 8192, { type: 'secret', write_only: true }),
  str('value', 'Authorization value', 'raw: the Authorization header value sent unchanged', 8192, { type: 'secret', write_only: true }),
];

const URL_SHAPE = /[\s\u0000-\u001f\u007f]/;

export const templateFormat: FormatModule = {
  name: 'template',
  label: 'Template',
  description: "A request you write: method, URL, query and body templates with the event's variables, auth, token fetch, encryption and a success rule.",
  doc: 'docs/formats/template.md',
  // Its channel limits the events (checked with its other settings).
  events: null,
  defaultTimeoutMs: 15_000,
  secret: 'readable',
  fields: [
    WHSEC_FIELD,
    {
      ...select('method', 'HTTP method', 'GET and DELETE carry data in the query, POST and PUT in a body', TEMPLATE_METHODS, { default: 'POST' }),
      schema: Type.Union(TEMPLATE_METHODS.map((m) => Type.Literal(m)), { description: 'template: GET and DELETE carry data in the query, POST and PUT in a body (default POST)' }),
    },
    {
      ...select('channel', 'Channel', 'The events must be of this channel (none: any)', TEMPLATE_CHANNELS, { default: 'none' }),
      schema: Type.Union(TEMPLATE_CHANNELS.map((c) => Type.Literal(c)), { description: 'template: the events must be of this channel (default none: any)' }),
    },
    {
      key: 'query',
      type: 'map',
      label: 'Query parameters',
      help: 'Each value a template; sealed at rest',
      nullable: true,
      schema: Nullable(Type.Record(Type.String(), Type.String(), { description: 'template: query parameters, each value a template' })),
    },
    {
      ...select('body_type', 'Body type', 'POST, PUT: json, xml, html, text or form', BODY_TYPES, { default: 'json' }),
      schema: Type.Union(BODY_TYPES.map((b) => Type.Literal(b)), { description: 'template (POST, PUT): json (default), xml, html, text or form' }),
    },
    {
      key: 'body',
      type: 'text',
      label: 'Body',
      help: 'POST, PUT: the body template; null or absent: the event in the body type',
      nullable: true,
      schema: Nullable(Type.String({ minLength: 1, maxLength: 65_536, description: 'template (POST, PUT): the body template; null or absent: the event in the body type' })),
    },
    { key: 'auth', type: 'object', label: 'Authentication', help: 'none, basic, bearer or raw', fields: AUTH_FIELDS, schema: SHARED_SCHEMAS.auth },
    {
      key: 'token_auth',
      type: 'object',
      label: 'Token fetch',
      help: 'Fetch a bearer token from the token URL before calling back; null removes it',
      nullable: true,
      fields: TOKEN_AUTH_FIELDS,
      schema: Nullable(
        Type.Object(Object.fromEntries(TOKEN_AUTH_FIELDS.map((f) => [f.key, Type.Optional(f.schema)])), {
          additionalProperties: false,
          description: 'template: fetch a bearer token from the token URL before calling back',
        }),
      ),
    },
    {
      key: 'encryption',
      type: 'object',
      label: 'Encryption',
      help: 'Encrypt each substituted value (values) or the whole body as JWE (body); null removes it',
      nullable: true,
      fields: ENCRYPTION_FIELDS,
      schema: Nullable(
        Type.Object(Object.fromEntries(ENCRYPTION_FIELDS.map((f) => [f.key, Type.Optional(f.schema)])), {
          additionalProperties: false,
          description: 'template: encrypt each substituted value (values) or the whole body as JWE (body)',
        }),
      ),
    },
    {
      key: 'success',
      type: 'object',
      label: 'Success rule',
      help: 'Accepted statuses (default 2xx) and a substring the response body must contain; null: any 2xx',
      nullable: true,
      fields: [
        { key: 'statuses', type: 'list', label: 'Statuses', help: 'Accepted HTTP statuses', nullable: true, schema: Nullable(Type.Array(Type.Integer(), { minItems: 1, maxItems: 50 })) },
        { key: 'body_contains', type: 'text', label: 'Body contains', help: 'A substring the response body must contain', nullable: true, schema: Nullable(Type.String({ minLength: 1, maxLength: 1024 })) },
      ],
      schema: Nullable(
        Type.Object(
          {
            statuses: Type.Optional(Nullable(Type.Array(Type.Integer(), { minItems: 1, maxItems: 50 }))),
            body_contains: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 1024 }))),
          },
          { additionalProperties: false, description: 'template: accepted statuses (default 2xx) and a substring the response body must contain' },
        ),
      ),
    },
  ],
  sealedSettings: {
    values: [['auth', 'password'], ['auth', 'token'], ['auth', 'value'], ['token_auth', 'client_secret'], ['encryption', 'key']],
    maps: [{ path: ['token_auth', 'headers'] }, { path: ['token_auth', 'params'] }, { path: ['query'] }],
  },
  resolve(input, ctx) {
    const secret = whsecSecret(input.secret, ctx.secret);
    const t = resolveTemplate(input as TemplateInput, ctx.settings, ctx.current, ctx.events, ctx.profile, ctx.checkUrl);
    return { secret, final: { events: t.events, method: t.method, channel: t.channel } };
  },
  view(settings) {
    const view: Record<string, unknown> = { ...settings };
    const auth = view.auth as Record<string, unknown> | undefined;
    if (auth) {
      const { password, token, value, ...rest } = auth;
      view.auth = { ...rest, ...(password !== undefined ? { password_set: true } : {}), ...(token !== undefined ? { token_set: true } : {}), ...(value !== undefined ? { value_set: true } : {}) };
    } else view.auth = { type: 'none' };
    const ta = view.token_auth as Record<string, unknown> | undefined;
    if (ta) {
      const { client_secret, ...rest } = ta;
      view.token_auth = { ...rest, client_secret_set: client_secret !== undefined };
    }
    const enc = view.encryption as Record<string, unknown> | undefined;
    if (enc) {
      const { key, ...rest } = enc;
      view.encryption = { ...rest, key_set: key !== undefined };
    }
    return view;
  },
  render: renderTemplate,
  check: (cb, now) => [checkTemplate(cb, now)],
  // Stored as written; checked rendered with sample values (resolveTemplate), here only its shape.
  templatedUrl(url) {
    if (URL_SHAPE.test(url)) throw invalid('url', 'may not contain spaces or control characters');
    if (!/^https?:\/\//i.test(url)) throw invalid('url', 'must be an http or https URL');
    return url;
  },
  checkTitle: checkTemplateTitle,
};
