import { createHash, createHmac } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { invalid } from '../errors.js';
import type { Callback } from '../routing/callback.js';
import { Nullable, REDACTED_VALUE, SHARED_SCHEMAS, text, type FormatModule } from './module.js';
import { asData, customArgs, num, obj, str, timeMs, type Data } from './fields.js';
import { UnsupportedEventError, USER_AGENT, type CheckRequest, type RenderEvent, type RenderedRequest } from './types.js';

/**
 * EngageLab OTP/SMS callbacks (docs/formats/engagelab.md): a POST of `{"total": N, "rows": [...]}`,
 * one row per event, `itime` in Unix seconds; `X-CALLBACK-ID` when a username is set; the configured
 * Authorization value passed unchanged. Success: HTTP 200 only.
 */

/** Unified type → EngageLab `message_status`. */
const MESSAGE_STATUS: Readonly<Record<string, string>> = {
  'otp.plan': 'plan',
  'otp.target_valid': 'target_valid',
  'otp.target_invalid': 'target_invalid',
  'otp.sent': 'sent',
  'otp.sent_failed': 'sent_failed',
  'otp.delivered': 'delivered',
  'otp.delivered_failed': 'delivered_failed',
  'otp.verified': 'verified',
  'otp.verified_failed': 'verified_failed',
  'otp.verified_timeout': 'verified_timeout',
  'sms.queued': 'plan',
  'sms.target_valid': 'target_valid',
  'sms.target_invalid': 'target_invalid',
  'sms.sent': 'sent',
  'sms.send_failed': 'sent_failed',
  'sms.delivered': 'delivered',
  'sms.undelivered': 'delivered_failed',
  'sms.expired': 'delivered_failed',
  'sms.rejected': 'delivered_failed',
  'sms.deleted': 'delivered_failed',
  'sms.unknown': 'delivered_failed',
};

/** Unified type → notification event. */
const NOTIFICATION: Readonly<Record<string, string>> = {
  'alert.insufficient_balance': 'insufficient_balance',
  'alert.low_verification_rate': 'insufficient_verification_rate',
  'system.template_audit_result': 'template_audit_result',
};

/** Unified type → system event. */
const SYSTEM_EVENT: Readonly<Record<string, string>> = {
  'system.account_login': 'account_login',
  'system.key_manage': 'key_manage',
  'system.msg_history': 'msg_history',
  'system.template_manage': 'template_manage',
  'system.api_call': 'api_call',
};

/** Every event type an engagelab callback can carry. */
export const ENGAGELAB_EVENTS: readonly string[] = [
  ...Object.keys(MESSAGE_STATUS),
  'sms.inbound',
  ...Object.keys(NOTIFICATION),
  ...Object.keys(SYSTEM_EVENT),
];

export interface EngagelabSettings {
  username?: string;
  authorization?: string;
}

const SUCCESS = { statuses: [200] } as const;

/** `sig = hex(HMAC-SHA256(key = secret, message = timestamp + nonce + username))`. */
export function signEngagelab(secret: string, timestamp: string, nonce: string, username: string): string {
  return createHmac('sha256', secret).update(timestamp + nonce + username).digest('hex');
}

function headers(cb: Callback, now: number, nonceSeed: string): Record<string, string> {
  const s = cb.settings as EngagelabSettings;
  const h: Record<string, string> = { 'user-agent': USER_AGENT, ...cb.headers, 'content-type': 'application/json' };
  if (s.username) {
    const timestamp = String(Math.floor(now / 1000));
    // Unique per request yet a pure function of its inputs: derived from the events and the time.
    const nonce = createHash('sha256').update(`${nonceSeed}:${now}`).digest('hex').slice(0, 16);
    h['X-CALLBACK-ID'] = `timestamp=${timestamp};nonce=${nonce};username=${s.username};signature=${signEngagelab(cb.secret, timestamp, nonce, s.username)}`;
  }
  if (s.authorization) h.Authorization = s.authorization;
  return h;
}

const serverOf = (type: string, d: Data) => str(d, 'server') ?? (type.startsWith('sms.') ? 'sms' : 'otp');
const seconds = (ms: number) => Math.floor(ms / 1000);

/** One row of the envelope for one event. */
export function engagelabRow(event: RenderEvent): Record<string, unknown> {
  const d = asData(event.data);
  const itime = seconds(timeMs(d, 'event_time', event.createdAt));
  const server = serverOf(event.type, d);
  const status = MESSAGE_STATUS[event.type];
  if (status !== undefined) {
    const messageId = str(d, 'message_id') ?? event.resourceId;
    const errorCode = num(d, 'error_code') ?? 0;
    return {
      message_id: messageId,
      to: str(d, 'to'),
      server,
      channel: str(d, 'channel') ?? (event.type.startsWith('sms.') ? 'sms' : (str(d, 'channel_used') ?? 'sms')),
      itime,
      custom_args: customArgs(event.customArgs, d),
      status: {
        message_status: status,
        status_data: {
          msg_time: seconds(timeMs(d, 'send_time', timeMs(d, 'event_time', event.createdAt))),
          message_id: messageId,
          current_send_channel: str(d, 'channel_used') ?? str(d, 'channel') ?? 'sms',
          template_key: str(d, 'template_key'),
          business_id: str(d, 'business_id'),
        },
        billing: { cost: num(d, 'cost'), currency: str(d, 'currency') },
        error_code: errorCode,
        error_detail: { message: str(d, 'error_message') ?? str(d, 'message') ?? (errorCode === 0 ? '' : String(errorCode)) },
      },
    };
  }
  const notification = NOTIFICATION[event.type];
  if (notification !== undefined) {
    const { event_time: _t, business_id: _b, remain_balance: _r, balance_threshold: _bt, ...rest } = d;
    return {
      server,
      itime,
      notification: {
        event: notification,
        notification_data: {
          business_id: str(d, 'business_id'),
          remain_balance: num(d, 'remain_balance'),
          balance_threshold: num(d, 'balance_threshold'),
          ...rest,
        },
      },
    };
  }
  if (event.type === 'sms.inbound') {
    const messageId = str(d, 'message_id') ?? event.resourceId;
    return {
      server: str(d, 'server') ?? 'sms',
      itime,
      message_id: messageId,
      business_id: str(d, 'business_id'),
      response: {
        event: 'uplink_message',
        response_data: {
          message_sid: messageId,
          account_sid: str(d, 'account_sid') ?? str(d, 'business_id'),
          from: str(d, 'from'),
          to: str(d, 'to'),
          body: str(d, 'text') ?? str(d, 'body'),
        },
      },
    };
  }
  const system = SYSTEM_EVENT[event.type];
  if (system !== undefined) {
    const detail = obj(d, 'detail') ?? {};
    return {
      server,
      itime,
      system_event: {
        event: system,
        data: {
          business_id: str(d, 'business_id'),
          org_id: str(d, 'org_id'),
          operator: { email: str(d, 'operator_email'), api_key: str(d, 'operator_api_key'), ip_address: str(d, 'operator_ip') },
          ...detail,
        },
      },
    };
  }
  throw new UnsupportedEventError('engagelab', event.type);
}

/**
 * The request for one or more events of one callback (the worker sends one per request today; the
 * envelope is ready for several).
 */
export function renderEngagelab(events: readonly RenderEvent[], cb: Callback, now: number): RenderedRequest {
  const rows = events.map(engagelabRow);
  const body = JSON.stringify({ total: rows.length, rows });
  return { method: 'POST', url: cb.url, headers: headers(cb, now, events.map((e) => e.id).join(',')), body, success: SUCCESS };
}

/** The "refresh" check: POST `{}`; available when it answers 200 within 3 s. */
export function checkEngagelab(cb: Callback, now: number): CheckRequest {
  return { method: 'POST', url: cb.url, headers: headers(cb, now, `check:${cb.id}`), body: '{}', success: SUCCESS, timeoutMs: 3000 };
}

/** Rows per request when the callback sets no `max_rows`. */
export const DEFAULT_MAX_ROWS = 50;

export const engagelabFormat: FormatModule = {
  name: 'engagelab',
  label: 'EngageLab OTP/SMS',
  description: 'EngageLab OTP and SMS callbacks: {total, rows}, X-CALLBACK-ID signature, success on 200 only.',
  doc: 'docs/formats/engagelab.md',
  events: ENGAGELAB_EVENTS,
  // EngageLab expects an answer within 3 s.
  defaultTimeoutMs: 3000,
  httpsOnly: true,
  secret: 'write-only',
  fields: [
    { key: 'secret', type: 'secret', label: 'Secret', help: 'Keys the X-CALLBACK-ID signature; required with a username', write_only: true, schema: SHARED_SCHEMAS.secret },
    {
      key: 'username',
      type: 'text',
      label: 'Username',
      help: 'Username of the X-CALLBACK-ID header (then secret is required); null removes it',
      nullable: true,
      schema: Nullable(Type.String({ minLength: 1, maxLength: 8192, description: 'engagelab: username of the X-CALLBACK-ID header (then secret is required); null removes it' })),
    },
    {
      key: 'authorization',
      type: 'secret',
      label: 'Authorization header',
      help: 'Authorization header value sent unchanged; null removes it',
      write_only: true,
      nullable: true,
      schema: Nullable(Type.String({ minLength: 1, maxLength: 8192, description: 'engagelab: Authorization header value sent unchanged (write-only); null removes it' })),
    },
    {
      key: 'max_rows',
      type: 'number',
      label: 'Rows per request',
      help: 'At most this many rows share one request when several events are due together',
      default: DEFAULT_MAX_ROWS,
      schema: Type.Integer({ minimum: 1, maximum: 500, description: 'engagelab: at most this many rows share one request when several events are due together (default 50)' }),
    },
  ],
  sealedSettings: { values: [['authorization']] },
  secretHeaders: ['x-callback-id'],
  resolve(input, ctx) {
    let secret = ctx.secret;
    if (input.secret !== undefined) secret = text('secret', input.secret as string, 256);
    const username = input.username as string | null | undefined;
    if (username !== undefined) {
      if (username !== null && /[;=\s]/.test(text('username', username, 128))) throw invalid('username', 'may not contain ";", "=" or spaces');
      ctx.set('username', username);
    }
    const authorization = input.authorization as string | null | undefined;
    if (authorization !== undefined) ctx.set('authorization', authorization === null ? null : text('authorization', authorization, 8192));
    if (input.max_rows !== undefined) ctx.set('max_rows', input.max_rows);
    if (ctx.settings.username !== undefined && secret === '') throw invalid('secret', 'is required when a username is set (it keys the X-CALLBACK-ID signature)');
    return { secret };
  },
  view(settings, secret) {
    const view: Record<string, unknown> = { ...settings, secret_set: secret !== '' };
    if (view.authorization !== undefined) view.authorization = REDACTED_VALUE;
    return view;
  },
  render: (event, cb, now) => renderEngagelab([event], cb, now),
  batch: {
    limit: (cb) => (cb.settings.max_rows as number | undefined) ?? DEFAULT_MAX_ROWS,
    render: renderEngagelab,
  },
  check: (cb, now) => [checkEngagelab(cb, now)],
};
