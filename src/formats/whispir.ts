import { Type } from '@sinclair/typebox';
import { invalid } from '../errors.js';
import type { Callback } from '../routing/callback.js';
import { Nullable, SHARED_SCHEMAS, text, timeZone, type FormatModule } from './module.js';
import { asData, customArgs, dmyHm, str, timeMs, type Data } from './fields.js';
import { escapeMarkup } from './xml.js';
import { UnsupportedEventError, USER_AGENT, type CheckRequest, type RenderEvent, type RenderedRequest } from './types.js';

/**
 * Whispir callbacks (docs/formats/whispir.md): a POST of the reply or undeliverable notice, JSON or
 * XML (`ns2:deliveryResponse`); the key as `?auth=KEY` or `X-Whispir-Callback-Key`; 200 only is
 * success. Creating one first sends a GET that must answer 200.
 */
export type WhispirCallbackKind = 'reply' | 'undeliverable';

const KINDS: Readonly<Record<string, { kind: WhispirCallbackKind; channel: 'SMS' | 'Email' }>> = {
  'sms.inbound': { kind: 'reply', channel: 'SMS' },
  'sms.undelivered': { kind: 'undeliverable', channel: 'SMS' },
  'sms.expired': { kind: 'undeliverable', channel: 'SMS' },
  'sms.rejected': { kind: 'undeliverable', channel: 'SMS' },
  'sms.deleted': { kind: 'undeliverable', channel: 'SMS' },
  'sms.send_failed': { kind: 'undeliverable', channel: 'SMS' },
  'sms.target_invalid': { kind: 'undeliverable', channel: 'SMS' },
  'email.invalid': { kind: 'undeliverable', channel: 'Email' },
  'email.soft_bounce': { kind: 'undeliverable', channel: 'Email' },
};

/** The event types of each Whispir callback kind. */
export function whispirEvents(kinds: { reply: boolean; undeliverable: boolean }): string[] {
  return Object.entries(KINDS)
    .filter(([, k]) => kinds[k.kind])
    .map(([type]) => type);
}

export const WHISPIR_EVENTS: readonly string[] = Object.keys(KINDS);

export interface WhispirSettings {
  auth_type?: 'querystring' | 'httpheader';
  content_type?: 'json' | 'xml';
  retries_enabled?: boolean;
  email?: string | null;
  callbacks?: { reply: boolean; undeliverable: boolean };
  timezone?: string;
}

export interface WhispirPayload {
  messageid: string | null;
  messagelocation: string | null;
  from: { name: string; mri: string; mobile: string; email: string; voice: string };
  responseMessage: { channel: string; acknowledged?: string; undeliverable?: string; content: string };
  customParameters: Record<string, string>;
}

const s = (d: Data, ...keys: string[]) => {
  for (const k of keys) {
    const v = str(d, k);
    if (v !== null) return v;
  }
  return '';
};

export function whispirPayload(event: RenderEvent, timeZone?: string): WhispirPayload {
  const k = KINDS[event.type];
  if (!k) throw new UnsupportedEventError('whispir', event.type);
  const d = asData(event.data);
  const messageId = str(d, 'message_id') ?? event.resourceId;
  // The contact: who replied (from), or who could not be reached (to).
  const contact = k.kind === 'reply' ? s(d, 'from') : s(d, 'to');
  const at = dmyHm(timeMs(d, 'event_time', event.createdAt), timeZone);
  const params: Record<string, string> = {};
  for (const [key, v] of Object.entries(customArgs(event.customArgs, d))) params[key] = typeof v === 'string' ? v : JSON.stringify(v);
  return {
    messageid: messageId,
    messagelocation: str(d, 'message_location'),
    from: {
      name: s(d, 'contact_name', 'name'),
      mri: s(d, 'contact_mri', 'mri'),
      mobile: k.channel === 'SMS' ? contact : s(d, 'contact_mobile'),
      email: k.channel === 'Email' ? contact : s(d, 'contact_email'),
      voice: s(d, 'contact_voice'),
    },
    responseMessage: {
      channel: k.channel,
      ...(k.kind === 'reply' ? { acknowledged: at } : { undeliverable: at }),
      content: s(d, 'text', 'body', 'message', 'description'),
    },
    customParameters: params,
  };
}

const el = (name: string, v: string | null | undefined) => (v === null || v === undefined ? `<${name}/>` : `<${name}>${escapeMarkup(v)}</${name}>`);

export function whispirXml(p: WhispirPayload): string {
  const from = Object.entries(p.from)
    .map(([k, v]) => el(k, v))
    .join('');
  const msg = Object.entries(p.responseMessage)
    .map(([k, v]) => el(k, v))
    .join('');
  const params = Object.entries(p.customParameters)
    .map(([k, v]) => `<entry>${el('key', k)}${el('value', v)}</entry>`)
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' +
    '<ns2:deliveryResponse xmlns:ns2="http://schemas.api.whispir.com">' +
    `${el('messageid', p.messageid)}${el('messagelocation', p.messagelocation)}<from>${from}</from>` +
    `<responseMessage>${msg}</responseMessage><customParameters>${params}</customParameters>` +
    '</ns2:deliveryResponse>'
  );
}

/** The URL and headers with the callback's key, as `?auth=KEY` or `X-Whispir-Callback-Key`. */
function authenticated(cb: Callback, headers: Record<string, string>): { url: string; headers: Record<string, string> } {
  const st = cb.settings as WhispirSettings;
  if (cb.secret === '') return { url: cb.url, headers };
  if (st.auth_type === 'httpheader') return { url: cb.url, headers: { ...headers, 'X-Whispir-Callback-Key': cb.secret } };
  const u = new URL(cb.url);
  u.searchParams.set('auth', cb.secret);
  return { url: u.toString(), headers };
}

export function renderWhispir(event: RenderEvent, cb: Callback, _now: number): RenderedRequest {
  const st = cb.settings as WhispirSettings;
  const payload = whispirPayload(event, st.timezone);
  const xml = st.content_type === 'xml';
  const { url, headers } = authenticated(cb, {
    'user-agent': USER_AGENT,
    ...cb.headers,
    'content-type': xml ? 'application/xml' : 'application/json',
  });
  return { method: 'POST', url, headers, body: xml ? whispirXml(payload) : JSON.stringify(payload), success: { statuses: [200] } };
}

/** The check made on creation and by refresh: a GET (with the key) that must answer 200. */
export function checkWhispir(cb: Callback, _now: number): CheckRequest {
  const { url, headers } = authenticated(cb, { 'user-agent': USER_AGENT, ...cb.headers });
  return { method: 'GET', url, headers, body: '', success: { statuses: [200] }, timeoutMs: Math.min(cb.timeoutMs, 10_000) };
}

/** With retries on: every 5 minutes for 24 hours after the first attempt. Off: one attempt. */
export const WHISPIR_RETRY_SCHEDULE: readonly number[] = [0, ...Array.from({ length: 288 }, () => 300_000)];

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export const whispirFormat: FormatModule = {
  name: 'whispir',
  label: 'Whispir',
  description: 'Whispir reply and undeliverable callbacks: JSON or XML, the key as ?auth= or X-Whispir-Callback-Key; the URL must answer a GET with 200 to be saved.',
  doc: 'docs/formats/whispir.md',
  events: WHISPIR_EVENTS,
  // Whispir waits up to 60 s for an answer.
  defaultTimeoutMs: 60_000,
  secret: 'write-only',
  fields: [
    {
      key: 'auth',
      type: 'object',
      label: 'Authentication',
      help: 'The key as ?auth=KEY (querystring) or the X-Whispir-Callback-Key header (httpheader)',
      required: true,
      fields: [
        { key: 'type', type: 'select', label: 'Sent as', help: 'querystring or httpheader', options: ['querystring', 'httpheader'], required: true, schema: Type.Union([Type.Literal('querystring'), Type.Literal('httpheader')]) },
        { key: 'key', type: 'secret', label: 'Key', help: 'The callback key', required: true, write_only: true, schema: Type.String({ minLength: 1, maxLength: 256 }) },
      ],
      schema: SHARED_SCHEMAS.auth,
    },
    {
      key: 'content_type',
      type: 'select',
      label: 'Payload type',
      help: 'JSON or XML (ns2:deliveryResponse)',
      options: ['json', 'xml'],
      default: 'json',
      schema: Type.Union([Type.Literal('json'), Type.Literal('xml')], { description: 'whispir: payload type (default json)' }),
    },
    {
      key: 'retries_enabled',
      type: 'boolean',
      label: 'Retries',
      help: 'Retry every 5 min for 24 h; off: one attempt',
      default: true,
      schema: Type.Boolean({ description: 'whispir: retry every 5 min for 24 h (default true); false: one attempt' }),
    },
    {
      key: 'email',
      type: 'email',
      label: 'Failure notices to',
      help: 'Failure notices go here (default: the account admin)',
      nullable: true,
      schema: Nullable(Type.String({ minLength: 3, maxLength: 320, description: 'whispir: failure notices go here (default: the account admin)' })),
    },
    {
      key: 'callbacks',
      type: 'object',
      label: 'Callbacks',
      help: 'Which callbacks: replies, undeliverable notices (default both; at least one)',
      fields: [
        { key: 'reply', type: 'boolean', label: 'Replies', help: 'Inbound replies', default: true, schema: Type.Boolean() },
        { key: 'undeliverable', type: 'boolean', label: 'Undeliverable', help: 'Undeliverable notices', default: true, schema: Type.Boolean() },
      ],
      schema: Type.Object(
        { reply: Type.Optional(Type.Boolean()), undeliverable: Type.Optional(Type.Boolean()) },
        { additionalProperties: false, description: 'whispir: which callbacks (default both)' },
      ),
    },
    { key: 'timezone', type: 'timezone', label: 'Time zone', help: 'IANA time zone of the dates', default: 'UTC', schema: SHARED_SCHEMAS.timezone },
  ],
  secretHeaders: ['x-whispir-callback-key'],
  resolve(input, ctx) {
    const s = ctx.settings;
    let secret = ctx.secret;
    const auth = input.auth as { type: string; key?: string } | undefined;
    if (auth !== undefined && auth.type !== 'querystring' && auth.type !== 'httpheader') {
      throw invalid('auth.type', 'must be querystring or httpheader for whispir callbacks');
    }
    if (auth !== undefined) {
      ctx.set('auth_type', auth.type);
      if (auth.key !== undefined) secret = text('auth.key', auth.key, 256);
    }
    if (s.auth_type === undefined) throw invalid('auth', 'is required for whispir callbacks: {type: querystring | httpheader, key}');
    if (secret === '') throw invalid('auth.key', 'is required');
    if (input.content_type !== undefined) ctx.set('content_type', input.content_type);
    s.content_type ??= 'json';
    if (input.retries_enabled !== undefined) ctx.set('retries_enabled', input.retries_enabled);
    s.retries_enabled ??= true;
    const email = input.email as string | null | undefined;
    if (email !== undefined) {
      if (email !== null && !EMAIL.test(email)) throw invalid('email', 'is not an e-mail address');
      ctx.set('email', email);
    }
    if (input.timezone !== undefined) ctx.set('timezone', timeZone(input.timezone as string));
    const given = input.callbacks as { reply?: boolean; undeliverable?: boolean } | undefined;
    const prev = (s.callbacks as WhispirSettings['callbacks']) ?? { reply: true, undeliverable: true };
    const kinds = { reply: given?.reply ?? prev.reply, undeliverable: given?.undeliverable ?? prev.undeliverable };
    if (!kinds.reply && !kinds.undeliverable) throw invalid('callbacks', 'at least one of reply and undeliverable must be true');
    s.callbacks = kinds;
    const schedule = input.retry_schedule as string[] | null | undefined;
    if (s.retries_enabled === false) {
      if (schedule) throw invalid('retry_schedule', 'retries are disabled (retries_enabled: false): one attempt');
      ctx.setRetrySchedule([0]);
    } else {
      // An explicit schedule survives unrelated updates; otherwise (or after re-enabling) Whispir's own.
      const kept = s.retry_schedule as number[] | undefined;
      if (!kept || (input.retries_enabled === true && !schedule && kept.length === 1)) ctx.setRetrySchedule([...WHISPIR_RETRY_SCHEDULE]);
    }
    const events = ctx.events === undefined && (given !== undefined || !ctx.same) ? whispirEvents(kinds) : ctx.events;
    return { secret, events };
  },
  view(settings, secret) {
    const { auth_type, ...view } = settings;
    return { ...view, auth: { type: auth_type, key_set: secret !== '' } };
  },
  render: renderWhispir,
  check: (cb, now) => [checkWhispir(cb, now)],
  // Whispir's rule: a callback whose URL does not answer the check GET with 200 is not saved; a changed
  // destination or key is checked like a new callback.
  checkOnSave: (before, after) =>
    before === null ||
    after.url !== before.url ||
    after.format !== before.format ||
    after.secret !== before.secret ||
    after.settings.auth_type !== before.settings.auth_type,
};
