import { createHash, createHmac } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { invalid } from '../errors.js';
import type { Callback } from '../routing/callback.js';
import { asData, str } from './fields.js';
import { text, type FormatModule } from './module.js';
import { checkByHead } from './octopush.js';
import { UnsupportedEventError, USER_AGENT, type RenderEvent, type RenderedRequest } from './types.js';

/**
 * Twilio SMS status callbacks (docs/formats/twilio.md): a form POST of `MessageSid`, `SmsSid`,
 * `MessageStatus`, `SmsStatus`, `AccountSid`, `From`, `To`, `ErrorCode`, `ApiVersion`, signed with
 * `X-Twilio-Signature`: base64 HMAC-SHA1, keyed by the auth token, of the full URL followed by each
 * parameter's name and value, sorted by name. Success: any 2xx.
 */

/** Unified type → Twilio message status; other types are refused. */
const STATUS: Readonly<Record<string, string>> = {
  'sms.queued': 'queued',
  'sms.target_valid': 'queued',
  'sms.sent': 'sent',
  'sms.delivered': 'delivered',
  'sms.undelivered': 'undelivered',
  'sms.expired': 'undelivered',
  'sms.rejected': 'undelivered',
  'sms.deleted': 'undelivered',
  'sms.send_failed': 'failed',
  'sms.target_invalid': 'failed',
  'sms.inbound': 'received',
};

const API_VERSION = '2010-04-01';
const ACCOUNT_SID = /^AC[0-9a-fA-F]{32}$/;

/** `X-Twilio-Signature`: base64 HMAC-SHA1(auth token, url + name1 + value1 + name2 + value2 …), names sorted. */
export function signTwilio(authToken: string, url: string, params: Record<string, string>): string {
  const data = Object.keys(params)
    .sort()
    .reduce((acc, k) => acc + k + params[k], url);
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

/** The POST parameters of one event. */
export function twilioParams(event: RenderEvent, accountSid: string): Record<string, string> {
  const status = STATUS[event.type];
  if (status === undefined) throw new UnsupportedEventError('twilio', event.type);
  const d = asData(event.data);
  // A message id that is no Twilio SID is sent as is; without one, a stable SID-shaped id of the event.
  const sid = str(d, 'message_id') ?? event.resourceId ?? `SM${createHash('md5').update(event.id).digest('hex')}`;
  const p: Record<string, string> = { MessageSid: sid, SmsSid: sid, MessageStatus: status, SmsStatus: status, AccountSid: accountSid, ApiVersion: API_VERSION };
  const from = str(d, 'from');
  const to = str(d, 'to');
  if (from !== null) p.From = from;
  if (to !== null) p.To = to;
  const code = d.error_code;
  if ((status === 'failed' || status === 'undelivered') && code !== undefined && code !== null && code !== 0) p.ErrorCode = String(code);
  if (status === 'received') {
    const body = str(d, 'text') ?? str(d, 'body');
    if (body !== null) p.Body = body;
  }
  return p;
}

export function renderTwilio(event: RenderEvent, cb: Callback, _now: number): RenderedRequest {
  const params = twilioParams(event, (cb.settings.account_sid as string | undefined) ?? '');
  return {
    method: 'POST',
    url: cb.url,
    headers: {
      'user-agent': USER_AGENT,
      ...cb.headers,
      'content-type': 'application/x-www-form-urlencoded',
      'X-Twilio-Signature': signTwilio(cb.secret, cb.url, params),
    },
    body: new URLSearchParams(params).toString(),
  };
}

export const twilioFormat: FormatModule = {
  name: 'twilio',
  label: 'Twilio SMS status',
  description: "Twilio's SMS status callbacks: a form POST of MessageSid, MessageStatus, … signed with X-Twilio-Signature.",
  doc: 'docs/formats/twilio.md',
  events: Object.keys(STATUS),
  // Twilio waits 15 s for a status callback's answer.
  defaultTimeoutMs: 15_000,
  secret: 'write-only',
  fields: [
    {
      key: 'account_sid',
      type: 'text',
      label: 'Account SID',
      help: 'AC followed by 32 hex digits: sent as AccountSid',
      required: true,
      schema: Type.String({ minLength: 34, maxLength: 34, description: 'twilio: the Account SID sent as AccountSid (AC + 32 hex digits)' }),
    },
    {
      key: 'auth_token',
      type: 'secret',
      label: 'Auth token',
      help: 'Keys X-Twilio-Signature; never shown back',
      required: true,
      write_only: true,
      schema: Type.String({ minLength: 1, maxLength: 256, description: 'twilio: the auth token keying X-Twilio-Signature (write-only)' }),
    },
  ],
  secretHeaders: ['x-twilio-signature'],
  resolve(input, ctx) {
    let secret = ctx.secret;
    const sid = input.account_sid as string | undefined;
    if (sid !== undefined) {
      if (!ACCOUNT_SID.test(sid)) throw invalid('account_sid', 'must be AC followed by 32 hex digits');
      ctx.set('account_sid', sid);
    }
    if (input.auth_token !== undefined) secret = text('auth_token', input.auth_token as string, 256);
    if (ctx.settings.account_sid === undefined) throw invalid('account_sid', 'is required for twilio callbacks');
    if (secret === '') throw invalid('auth_token', 'is required for twilio callbacks');
    return { secret };
  },
  view: (settings, secret) => ({ ...settings, auth_token_set: secret !== '' }),
  render: renderTwilio,
  check: (cb) => [checkByHead(cb.url, cb)],
};
