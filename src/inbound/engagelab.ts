import { createHmac } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { invalid } from '../errors.js';
import { bodyFields, compact, field, sameSecret, type InboundEvent, type MapResult, type SourceFormat, type StoredRequest } from './module.js';
import { resolveFields, TextSchema } from './settings.js';

/**
 * EngageLab OTP/SMS callbacks coming in (the inverse of src/formats/engagelab.ts): a POST of
 * `{"total": N, "rows": [...]}`, each row one event. With a username set, `X-CALLBACK-ID:
 * timestamp=…;nonce=…;username=…;signature=hex(HMAC-SHA256(secret, timestamp + nonce + username))`
 * must verify (timestamp within `tolerance` seconds); with an authorization set, the Authorization
 * header must be it. Its URL check (`{}`) is answered 200 and not kept.
 */

const OTP_STATUS = ['plan', 'target_valid', 'target_invalid', 'sent', 'sent_failed', 'delivered', 'delivered_failed', 'verified', 'verified_failed', 'verified_timeout'];

/** `message_status` of an `sms` row → catalogue type (verification statuses are OTP's only). */
const SMS_STATUS: Readonly<Record<string, string>> = {
  plan: 'sms.queued',
  target_valid: 'sms.target_valid',
  target_invalid: 'sms.target_invalid',
  sent: 'sms.sent',
  sent_failed: 'sms.send_failed',
  delivered: 'sms.delivered',
  delivered_failed: 'sms.undelivered',
};

const NOTIFICATION: Readonly<Record<string, string>> = {
  insufficient_balance: 'alert.insufficient_balance',
  insufficient_verification_rate: 'alert.low_verification_rate',
  template_audit_result: 'system.template_audit_result',
};

const SYSTEM = ['account_login', 'key_manage', 'msg_history', 'template_manage', 'api_call'];

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | null => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : null);
const numOf = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : null);
/** Unix seconds → ISO 8601. */
const isoSeconds = (v: unknown): string | null => {
  const n = numOf(v);
  return n === null ? null : new Date(n < 1e11 ? n * 1000 : n).toISOString();
};

/** One row → one event, or why not. */
export function engagelabRowEvent(row: Obj): InboundEvent | string {
  const server = field(row, 'server');
  const eventTime = isoSeconds(row.itime);
  const status = obj(row.status);
  if (status) {
    const ms = field(status, 'message_status') ?? '';
    const type = server === 'sms' ? SMS_STATUS[ms] : OTP_STATUS.includes(ms) ? `otp.${ms}` : undefined;
    if (type === undefined) return `unknown message_status "${ms}" for server ${server ?? '(none)'}`;
    const sd = obj(status.status_data) ?? {};
    const billing = obj(status.billing) ?? {};
    const messageId = field(row, 'message_id') ?? field(sd, 'message_id');
    const errorCode = numOf(status.error_code);
    const args = obj(row.custom_args);
    return {
      type,
      data: compact({
        message_id: messageId,
        to: field(row, 'to'),
        server,
        channel: field(row, 'channel'),
        channel_used: field(sd, 'current_send_channel'),
        template_key: field(sd, 'template_key'),
        business_id: field(sd, 'business_id'),
        cost: numOf(billing.cost),
        currency: field(billing, 'currency'),
        raw_status: ms,
        error_code: errorCode,
        error_message: field(obj(status.error_detail) ?? {}, 'message'),
        event_time: eventTime,
        send_time: isoSeconds(sd.msg_time),
      }),
      ...(messageId !== null ? { resource_id: messageId } : {}),
      ...(args && Object.keys(args).length > 0 ? { custom_args: args } : {}),
    };
  }
  const notification = obj(row.notification);
  if (notification) {
    const ev = field(notification, 'event') ?? '';
    const type = NOTIFICATION[ev];
    if (type === undefined) return `unknown notification event "${ev}"`;
    const nd = obj(notification.notification_data) ?? {};
    return { type, data: compact({ ...nd, server, event_time: eventTime }) };
  }
  const response = obj(row.response);
  if (response) {
    const ev = field(response, 'event');
    if (ev !== 'uplink_message') return `unknown response event "${ev ?? ''}"`;
    const rd = obj(response.response_data) ?? {};
    const messageId = field(row, 'message_id') ?? field(rd, 'message_sid');
    return {
      type: 'sms.inbound',
      data: compact({
        message_id: messageId,
        from: field(rd, 'from'),
        to: field(rd, 'to'),
        text: field(rd, 'body') ?? '',
        account_sid: field(rd, 'account_sid'),
        business_id: field(row, 'business_id'),
        server,
        event_time: eventTime,
      }),
      ...(messageId !== null ? { resource_id: messageId } : {}),
    };
  }
  const system = obj(row.system_event);
  if (system) {
    const ev = field(system, 'event') ?? '';
    if (!SYSTEM.includes(ev)) return `unknown system event "${ev}"`;
    const { business_id, org_id, operator, ...detail } = obj(system.data) ?? {};
    const op = obj(operator) ?? {};
    return {
      type: `system.${ev}`,
      data: compact({
        business_id,
        org_id,
        operator_email: field(op, 'email'),
        operator_api_key: field(op, 'api_key'),
        operator_ip: field(op, 'ip_address'),
        detail: Object.keys(detail).length > 0 ? detail : null,
        event_time: eventTime,
      }),
    };
  }
  return 'the row is none of status, notification, response (uplink_message) or system_event';
}

export function mapEngagelab(req: StoredRequest): MapResult {
  const body = bodyFields(req);
  if (body === null || !Array.isArray(body.rows)) return { error: 'the body is not EngageLab\'s {"total": N, "rows": [...]}' };
  const events: InboundEvent[] = [];
  for (const [i, row] of (body.rows as unknown[]).entries()) {
    const o = obj(row);
    const e = o ? engagelabRowEvent(o) : 'not an object';
    if (typeof e === 'string') return { error: `rows[${i}]: ${e}` };
    events.push(e);
  }
  return { events };
}

/** The fields of `X-CALLBACK-ID` (`timestamp=…;nonce=…;username=…;signature=…`). */
export function parseCallbackId(header: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

export const engagelabSource: SourceFormat = {
  name: 'engagelab',
  label: 'EngageLab OTP/SMS',
  description: 'EngageLab OTP and SMS callbacks ({total, rows}), verified by X-CALLBACK-ID (username + secret) and/or an Authorization value.',
  methods: ['POST'],
  fields: [
    { key: 'username', type: 'text', label: 'Username', help: 'The username of X-CALLBACK-ID (then secret is required); null removes it', nullable: true, schema: TextSchema('engagelab: the X-CALLBACK-ID username', 128) },
    { key: 'secret', type: 'secret', label: 'Secret', help: 'The HMAC key of X-CALLBACK-ID; write-only', write_only: true, nullable: true, schema: TextSchema('engagelab: the X-CALLBACK-ID secret (write-only)', 256) },
    {
      key: 'authorization',
      type: 'secret',
      label: 'Authorization header',
      help: 'When set, the Authorization header EngageLab must send (as configured there); write-only',
      write_only: true,
      nullable: true,
      schema: TextSchema('engagelab: the Authorization header value EngageLab sends (write-only)', 8192),
    },
    {
      key: 'tolerance',
      type: 'number',
      label: 'Timestamp tolerance (s)',
      help: 'How far X-CALLBACK-ID timestamp may be from now (default 300 s)',
      default: 300,
      schema: Type.Integer({ minimum: 1, maximum: 86_400, description: 'engagelab: seconds the X-CALLBACK-ID timestamp may be off (default 300)' }),
    },
  ],
  secretSettings: ['secret', 'authorization'],
  resolve(input, current) {
    const s = resolveFields(this.fields, input, current);
    if (s.username !== undefined && /[;=\s]/.test(s.username as string)) throw invalid('settings.username', 'may not contain ";", "=" or spaces');
    if (s.username !== undefined && s.secret === undefined) throw invalid('settings.secret', 'is required when a username is set (it keys the X-CALLBACK-ID signature)');
    return s;
  },
  verify(req, settings, now) {
    const authorization = settings.authorization as string | undefined;
    if (authorization !== undefined && !sameSecret(req.headers.authorization ?? '', authorization)) return 'the Authorization header is not the configured one';
    const username = settings.username as string | undefined;
    if (username === undefined) return null;
    const id = parseCallbackId(req.headers['x-callback-id'] ?? '');
    if (id.username !== username) return 'X-CALLBACK-ID is missing or names another username';
    const ts = Number(id.timestamp);
    const tolerance = (settings.tolerance as number | undefined) ?? 300;
    if (!/^\d+$/.test(id.timestamp ?? '') || Math.abs(now / 1000 - ts) > tolerance) return `the X-CALLBACK-ID timestamp is more than ${tolerance} s from now`;
    const expected = createHmac('sha256', settings.secret as string).update(`${id.timestamp}${id.nonce ?? ''}${username}`).digest('hex');
    return sameSecret(id.signature ?? '', expected) ? null : 'the X-CALLBACK-ID signature does not verify';
  },
  // The "refresh" URL check posts `{}` and wants a 200 within 3 s.
  isCheck: (req) => req.method === 'POST' && req.body.trim() === '{}',
  map: mapEngagelab,
  answer: { status: 200, body: '' },
};
