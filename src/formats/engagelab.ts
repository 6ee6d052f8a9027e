import { createHash, createHmac } from 'node:crypto';
import type { Callback } from '../routing/callback.js';
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
