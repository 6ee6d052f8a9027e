import { createHash, createHmac, randomBytes } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { invalid } from '../errors.js';
import type { Callback } from '../routing/callback.js';
import { SHARED_SCHEMAS, text, type FormatModule } from './module.js';
import { asData, customArgs, obj, str, timeMs, type Data } from './fields.js';
import { UnsupportedEventError, USER_AGENT, type CheckRequest, type RenderEvent, type RenderedRequest } from './types.js';

/**
 * EngageLab e-mail webhooks (docs/formats/engagelab-email.md): one POST of JSON per event, headers
 * `X-WebHook-Timestamp`, `X-WebHook-AppKey`, `X-WebHook-Signature`. Delivery events carry `status`,
 * engagement events `response`; `itime` is in milliseconds. Success: 200 or 204.
 */
export const ENGAGELAB_EMAIL_EVENTS: Readonly<Record<string, { name: string; kind: 'status' | 'response' }>> = {
  'email.delivered': { name: 'deliver', kind: 'status' },
  'email.spam_report': { name: 'report_spam', kind: 'response' },
  'email.invalid': { name: 'invalid', kind: 'status' },
  'email.soft_bounce': { name: 'soft_bounce', kind: 'status' },
  'email.click': { name: 'click', kind: 'response' },
  'email.open': { name: 'open', kind: 'response' },
  'email.unsubscribe': { name: 'unsubscribe', kind: 'response' },
  'email.request': { name: 'request', kind: 'status' },
  'email.sent': { name: 'sent', kind: 'status' },
};

export type EmailSignatureScheme = 'md5' | 'hmac-sha256';

export interface EngagelabEmailSettings {
  signature?: EmailSignatureScheme;
  app_key?: string;
}

const SUCCESS = { statuses: [200, 204] } as const;

/** The signature header value: hex md5(timestamp + appkey + key), or hex HMAC-SHA256(key, timestamp). */
export function signEngagelabEmail(scheme: EmailSignatureScheme, key: string, timestamp: string, appKey: string): string {
  return scheme === 'hmac-sha256'
    ? createHmac('sha256', key).update(timestamp).digest('hex')
    : createHash('md5').update(timestamp + appKey + key).digest('hex');
}

function headers(cb: Callback, now: number): Record<string, string> {
  const s = cb.settings as EngagelabEmailSettings;
  const appKey = s.app_key ?? 'email';
  const timestamp = String(Math.floor(now / 1000));
  return {
    'user-agent': USER_AGENT,
    ...cb.headers,
    'content-type': 'application/json',
    'X-WebHook-Timestamp': timestamp,
    'X-WebHook-AppKey': appKey,
    'X-WebHook-Signature': signEngagelabEmail(s.signature ?? 'md5', cb.secret, timestamp, appKey),
  };
}

/** The first of `keys` present in `d` as a string. */
const pick = (d: Data, ...keys: string[]) => {
  for (const k of keys) {
    const v = str(d, k);
    if (v !== null) return v;
  }
  return null;
};

export function engagelabEmailBody(event: RenderEvent): Record<string, unknown> {
  const kind = ENGAGELAB_EMAIL_EVENTS[event.type];
  if (!kind) throw new UnsupportedEventError('engagelab-email', event.type);
  const d = asData(event.data);
  const messageId = pick(d, 'message_id') ?? event.resourceId;
  const to = pick(d, 'to');
  const common = {
    message_id: messageId,
    from: pick(d, 'from'),
    subject: pick(d, 'subject'),
    to,
    server: 'email',
    itime: timeMs(d, 'event_time', event.createdAt),
    custom_args: customArgs(event.customArgs, d),
  };
  const apiUser = pick(d, 'api_user');
  const taskId = d.task_id ?? null;
  const emailId = pick(d, 'email_id');
  const labelId = d.label_id ?? null;
  if (kind.kind === 'status') {
    const subStatus = d.sub_status ?? d.error_code ?? null;
    return {
      ...common,
      status: {
        message_status: kind.name,
        status_data: {
          message: pick(d, 'message') ?? '',
          task_id: taskId,
          api_user: apiUser,
          from: common.from,
          subject: common.subject,
          tos: Array.isArray(d.tos) ? d.tos : to === null ? [] : [to],
          email_ids: Array.isArray(d.email_ids) ? d.email_ids : emailId === null ? [] : [emailId],
          label_id: labelId,
          ...(subStatus !== null ? { sub_status: subStatus } : {}),
        },
      },
    };
  }
  const extra = obj(d, 'response_data') ?? {};
  return {
    ...common,
    response: {
      event: kind.name,
      response_data: {
        email_id: emailId,
        task_id: taskId,
        api_user: apiUser,
        label_id: labelId,
        ...(d.url !== undefined ? { url: d.url } : {}),
        ...(d.ip !== undefined ? { ip: d.ip } : {}),
        ...(d.user_agent !== undefined ? { user_agent: d.user_agent } : {}),
        ...extra,
      },
    },
  };
}

export function renderEngagelabEmail(event: RenderEvent, cb: Callback, now: number): RenderedRequest {
  return { method: 'POST', url: cb.url, headers: headers(cb, now), body: JSON.stringify(engagelabEmailBody(event)), success: SUCCESS };
}

/** URL check: a signed POST of `{}`; available on 200 or 204 within 3 s. */
export function checkEngagelabEmail(cb: Callback, now: number): CheckRequest {
  return { method: 'POST', url: cb.url, headers: headers(cb, now), body: '{}', success: SUCCESS, timeoutMs: 3000 };
}

/** A new key for engagelab-email signatures (32 hex characters). */
export function newEmailKey(): string {
  return randomBytes(16).toString('hex');
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export const engagelabEmailFormat: FormatModule = {
  name: 'engagelab-email',
  label: 'EngageLab e-mail',
  description: 'EngageLab e-mail webhooks: one JSON POST per event, X-WebHook-Signature (md5 or HMAC-SHA256).',
  doc: 'docs/formats/engagelab-email.md',
  events: Object.keys(ENGAGELAB_EMAIL_EVENTS),
  defaultTimeoutMs: 3000,
  secret: 'readable',
  fields: [
    { key: 'secret', type: 'secret', label: 'Signature key', help: 'Keys X-WebHook-Signature; generated (32 hex characters) when absent', schema: SHARED_SCHEMAS.secret },
    {
      key: 'signature',
      type: 'select',
      label: 'Signature scheme',
      help: 'md5(timestamp + app key + key) or HMAC-SHA256(key, timestamp)',
      options: ['md5', 'hmac-sha256'],
      default: 'md5',
      schema: Type.Union([Type.Literal('md5'), Type.Literal('hmac-sha256')], { description: 'engagelab-email: X-WebHook-Signature scheme (default md5)' }),
    },
    {
      key: 'app_key',
      type: 'text',
      label: 'App key',
      help: 'X-WebHook-AppKey value: 1 to 64 letters, digits or -._~',
      default: 'email',
      schema: Type.String({ minLength: 1, maxLength: 64, description: 'engagelab-email: X-WebHook-AppKey value (default "email")' }),
    },
  ],
  secretHeaders: ['x-webhook-signature'],
  resolve(input, ctx) {
    let secret = ctx.secret;
    if (input.secret !== undefined) secret = text('secret', input.secret as string, 256);
    if (secret === '') secret = newEmailKey();
    if (input.signature !== undefined) ctx.set('signature', input.signature);
    const appKey = input.app_key as string | undefined;
    if (appKey !== undefined) {
      if (!TOKEN.test(appKey) || appKey.length > 64) throw invalid('app_key', 'must be 1 to 64 letters, digits or -._~');
      ctx.set('app_key', appKey);
    }
    return { secret };
  },
  render: renderEngagelabEmail,
  check: (cb, now) => [checkEngagelabEmail(cb, now)],
};
