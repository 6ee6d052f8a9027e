import type { Callback } from '../routing/callback.js';
import { asData, customArgs, dmyHm, str, timeMs, type Data } from './fields.js';
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

const esc = (v: string) => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
const el = (name: string, v: string | null | undefined) => (v === null || v === undefined ? `<${name}/>` : `<${name}>${esc(v)}</${name}>`);

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
