import { createHash } from 'node:crypto';
import { decryptValue, type DecryptOptions } from './decrypt.js';
import { ParseError } from './errors.js';
import { bodyText, contentType, headerOf, queryOf, type ReceivedRequest } from './request.js';
import type { Format } from './verify.js';

/**
 * One event, whatever format carried it.
 * - `id`: stable across the relay's retries of the same event, so it de-duplicates. Standard and
 *   template: the event id (`webhook-id`). Vendor formats carry no event id: a natural one built from
 *   what they carry (`engagelab:<message_id>:<status>`, `twilio:<MessageSid>:<status>`, …).
 * - `type`: the catalogue name (`sms.delivered`, …). A vendor status standing for several types gives
 *   the most common one (EngageLab `delivered_failed` → `sms.undelivered`).
 * - `created_at`: ISO 8601, when the event happened as the format says it (Twilio says nothing: when
 *   it was parsed).
 * - `data`: the event's data (standard, template: as posted to the relay; vendor formats: the
 *   catalogue variables read back: `message_id`, `to`, `from`, `status`, `error_code`, `text`, `custom_args`, …).
 * - `resource_id`: the message id, when the format carries one.
 * - `raw`: the vendor's record as sent (vendor formats), for what `data` leaves out.
 */
export interface ReceivedEvent {
  id: string;
  type: string;
  created_at: string;
  data: Record<string, unknown>;
  resource_id?: string;
  format: Format;
  raw?: unknown;
}

export interface ParseOptions {
  /** Octopush and Whispir dates are wall-clock times in the callback's `timezone` (default UTC). */
  timeZone?: string;
  /** Template callbacks with per-value encryption: decrypts each value before reading it. */
  values?: DecryptOptions;
  /** Epoch ms used where the format carries no time (Twilio); default Date.now(). */
  now?: number;
}

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => v !== null && typeof v === 'object' && !Array.isArray(v);
const s = (r: Rec, k: string): string | undefined => (typeof r[k] === 'string' ? (r[k] as string) : typeof r[k] === 'number' ? String(r[k]) : undefined);
const rec = (r: Rec, k: string): Rec => (isRec(r[k]) ? (r[k] as Rec) : {});
const iso = (ms: number) => new Date(Number.isFinite(ms) ? ms : 0).toISOString();
/** Drops undefined values (absent stays absent). */
const clean = (r: Rec): Rec => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined));
const withResource = (e: Omit<ReceivedEvent, 'resource_id'>, id: unknown): ReceivedEvent =>
  typeof id === 'string' && id !== '' ? { ...e, resource_id: id } : e;

function json(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ParseError(`${what} is not JSON`);
  }
}

/** Wall-clock parts in an IANA zone → epoch ms. */
function zoned(y: number, mo: number, d: number, h: number, mi: number, sec: number, timeZone = 'UTC'): number {
  const guess = Date.UTC(y, mo - 1, d, h, mi, sec);
  const offset = (ms: number) => {
    const p = Object.fromEntries(
      new Intl.DateTimeFormat('en-GB', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })
        .formatToParts(new Date(ms))
        .map((x) => [x.type, Number(x.value)]),
    );
    return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!) - Math.floor(ms / 1000) * 1000;
  };
  const first = guess - offset(guess);
  const second = guess - offset(first);
  return second;
}

/** `Y-m-d H:i:s` (Octopush). */
function ymdHis(v: string | undefined, tz?: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(v ?? '');
  return m ? zoned(+m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!, +m[6]!, tz) : NaN;
}

/** `dd/MM/yy HH:mm` (Whispir). */
function dmyHm(v: string | undefined, tz?: string): number {
  const m = /^(\d{2})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2})$/.exec(v ?? '');
  return m ? zoned(2000 + +m[3]!, +m[2]!, +m[1]!, +m[4]!, +m[5]!, 0, tz) : NaN;
}

const hash = (v: unknown) => createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, 24);

// ---- standard ---------------------------------------------------------------------------------

function parseStandard(req: ReceivedRequest): ReceivedEvent[] {
  const text = bodyText(req);
  if (text === '') return [];
  const body = json(text, 'the body');
  if (!isRec(body) || typeof body.type !== 'string') throw new ParseError('the body is not {type, timestamp, data}');
  const id = headerOf(req, 'webhook-id');
  if (!id) throw new ParseError('the webhook-id header is missing');
  const data = isRec(body.data) ? body.data : { value: body.data };
  return [withResource({ id, type: body.type, created_at: iso(Date.parse(String(body.timestamp))), data, format: 'standard' }, data.message_id)];
}

// ---- template ---------------------------------------------------------------------------------

/** The default bodies' fields (json, form, xml) or the default query of GET/DELETE. */
function templateFields(req: ReceivedRequest): Rec | null {
  const text = bodyText(req);
  const ct = contentType(req);
  if (ct === 'application/jose') throw new ParseError('the body is encrypted (application/jose): decrypt it first (decryptBody) and parse the plain request');
  if (text === '') {
    const q = queryOf(req);
    return q.size > 0 ? Object.fromEntries(q) : null;
  }
  if (ct === 'application/x-www-form-urlencoded') return Object.fromEntries(new URLSearchParams(text));
  if (ct.endsWith('xml')) {
    const out: Rec = {};
    const unescape = (v: string) =>
      v.replace(/&(lt|gt|quot|amp|apos|#\d+|#x[0-9a-fA-F]+);/g, (_m, e: string) =>
        e[0] === '#' ? String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : Number(e.slice(1))) : ({ lt: '<', gt: '>', quot: '"', amp: '&', apos: "'" } as Rec)[e] as string,
      );
    for (const m of text.matchAll(/<(id|type|code|channel|timestamp|resource_id|data|custom_args)>([^<]*)<\/\1>/g)) out[m[1]!] = unescape(m[2]!);
    return Object.keys(out).length > 0 ? out : { body: text };
  }
  if (ct === 'application/json' || /^\s*[{[]/.test(text)) {
    const body = json(text, 'the body');
    return isRec(body) ? body : { value: body };
  }
  return { body: text };
}

function parseTemplate(req: ReceivedRequest, o: ParseOptions): ReceivedEvent[] {
  const fields = templateFields(req);
  if (fields === null) return [];
  const id = headerOf(req, 'webhook-id');
  const plain: Rec = {};
  for (const [k, v] of Object.entries(fields)) plain[k] = o.values && typeof v === 'string' && v !== '' ? decryptValue(v, o.values) : v;
  // Values that were JSON in the event (data, custom_args) arrive as JSON text in query, form and XML, and when encrypted.
  const asJson = (v: unknown) => {
    if (typeof v !== 'string') return v;
    try {
      return JSON.parse(v);
    } catch {
      return v;
    }
  };
  const type = typeof plain.type === 'string' ? plain.type : typeof plain.event_type === 'string' ? plain.event_type : 'template';
  const eventId = typeof plain.id === 'string' && plain.id !== '' ? plain.id : id;
  if (!eventId) throw new ParseError('neither a webhook-id header nor an id field');
  const known = typeof plain.type === 'string' && 'data' in plain;
  const data = known ? asJson(plain.data) : plain;
  const resource = asJson(plain.resource_id);
  return [
    withResource(
      { id: eventId, type, created_at: iso(typeof plain.timestamp === 'string' ? Date.parse(plain.timestamp) : Date.now()), data: isRec(data) ? data : { value: data }, format: 'template' },
      typeof resource === 'string' ? resource : undefined,
    ),
  ];
}

// ---- engagelab --------------------------------------------------------------------------------

const ENGAGELAB_STATUS: Readonly<Record<string, { sms: string; otp: string }>> = {
  plan: { sms: 'sms.queued', otp: 'otp.plan' },
  target_valid: { sms: 'sms.target_valid', otp: 'otp.target_valid' },
  target_invalid: { sms: 'sms.target_invalid', otp: 'otp.target_invalid' },
  sent: { sms: 'sms.sent', otp: 'otp.sent' },
  sent_failed: { sms: 'sms.send_failed', otp: 'otp.sent_failed' },
  delivered: { sms: 'sms.delivered', otp: 'otp.delivered' },
  delivered_failed: { sms: 'sms.undelivered', otp: 'otp.delivered_failed' },
  verified: { sms: 'otp.verified', otp: 'otp.verified' },
  verified_failed: { sms: 'otp.verified_failed', otp: 'otp.verified_failed' },
  verified_timeout: { sms: 'otp.verified_timeout', otp: 'otp.verified_timeout' },
};
const ENGAGELAB_NOTIFICATION: Readonly<Record<string, string>> = {
  insufficient_balance: 'alert.insufficient_balance',
  insufficient_verification_rate: 'alert.low_verification_rate',
  template_audit_result: 'system.template_audit_result',
};

function engagelabRow(row: Rec): ReceivedEvent {
  const created_at = iso(Number(row.itime) * 1000);
  const status = rec(row, 'status');
  const raw = row;
  if (typeof status.message_status === 'string') {
    const sd = rec(status, 'status_data');
    const billing = rec(status, 'billing');
    const server = s(row, 'server') === 'sms' ? 'sms' : 'otp';
    const type = ENGAGELAB_STATUS[status.message_status]?.[server];
    if (!type) throw new ParseError(`unknown EngageLab message_status ${status.message_status}`);
    const messageId = s(row, 'message_id') ?? s(sd, 'message_id');
    const data = clean({
      message_id: messageId,
      to: s(row, 'to'),
      server: s(row, 'server'),
      channel: s(row, 'channel'),
      status: status.message_status,
      error_code: status.error_code,
      error_message: s(rec(status, 'error_detail'), 'message') || undefined,
      send_time: typeof sd.msg_time === 'number' ? iso(sd.msg_time * 1000) : undefined,
      channel_used: s(sd, 'current_send_channel'),
      template_key: s(sd, 'template_key'),
      business_id: s(sd, 'business_id'),
      cost: billing.cost ?? undefined,
      currency: billing.currency ?? undefined,
      custom_args: row.custom_args,
    });
    return withResource({ id: `engagelab:${messageId}:${status.message_status}`, type, created_at, data, format: 'engagelab', raw }, messageId);
  }
  const notification = rec(row, 'notification');
  if (typeof notification.event === 'string') {
    const type = ENGAGELAB_NOTIFICATION[notification.event];
    if (!type) throw new ParseError(`unknown EngageLab notification ${notification.event}`);
    const data = clean({ ...rec(notification, 'notification_data') });
    return { id: `engagelab:${notification.event}:${row.itime}:${hash(data)}`, type, created_at, data, format: 'engagelab', raw };
  }
  const response = rec(row, 'response');
  if (response.event === 'uplink_message') {
    const rd = rec(response, 'response_data');
    const messageId = s(row, 'message_id') ?? s(rd, 'message_sid');
    const data = clean({ message_id: messageId, from: s(rd, 'from'), to: s(rd, 'to'), text: s(rd, 'body'), business_id: s(row, 'business_id'), account_sid: s(rd, 'account_sid') });
    return withResource({ id: `engagelab:${messageId}:uplink_message`, type: 'sms.inbound', created_at, data, format: 'engagelab', raw }, messageId);
  }
  const system = rec(row, 'system_event');
  if (typeof system.event === 'string') {
    const { operator, ...rest } = rec(system, 'data');
    const op = isRec(operator) ? operator : {};
    const data = clean({ ...rest, operator_email: s(op, 'email'), operator_api_key: s(op, 'api_key'), operator_ip: s(op, 'ip_address') });
    return { id: `engagelab:${system.event}:${row.itime}:${hash(data)}`, type: `system.${system.event}`, created_at, data, format: 'engagelab', raw };
  }
  throw new ParseError('an EngageLab row that is no message status, notification, uplink message or system event');
}

function parseEngagelab(req: ReceivedRequest): ReceivedEvent[] {
  const body = json(bodyText(req) || '{}', 'the body');
  if (!isRec(body)) throw new ParseError('the body is not {total, rows}');
  // The URL check ("refresh") posts {}: no rows.
  if (body.rows === undefined) return [];
  if (!Array.isArray(body.rows) || !body.rows.every(isRec)) throw new ParseError('rows is not a list of objects');
  return body.rows.map(engagelabRow);
}

// ---- engagelab-email --------------------------------------------------------------------------

const EMAIL_EVENTS: Readonly<Record<string, string>> = {
  deliver: 'email.delivered',
  report_spam: 'email.spam_report',
  invalid: 'email.invalid',
  soft_bounce: 'email.soft_bounce',
  click: 'email.click',
  open: 'email.open',
  unsubscribe: 'email.unsubscribe',
  request: 'email.request',
  sent: 'email.sent',
};

function parseEngagelabEmail(req: ReceivedRequest): ReceivedEvent[] {
  const body = json(bodyText(req) || '{}', 'the body');
  if (!isRec(body)) throw new ParseError('the body is not an object');
  const status = rec(body, 'status');
  const response = rec(body, 'response');
  const name = typeof status.message_status === 'string' ? status.message_status : typeof response.event === 'string' ? response.event : null;
  // The URL check posts {}.
  if (name === null) return [];
  const type = EMAIL_EVENTS[name];
  if (!type) throw new ParseError(`unknown EngageLab e-mail event ${name}`);
  const detail = isRec(status.status_data) ? status.status_data : rec(response, 'response_data');
  const messageId = s(body, 'message_id');
  const data = clean({
    message_id: messageId,
    from: s(body, 'from'),
    to: s(body, 'to'),
    subject: s(body, 'subject'),
    status: name,
    custom_args: body.custom_args,
    ...Object.fromEntries(Object.entries(detail).filter(([k, v]) => v !== null && !['from', 'subject'].includes(k))),
  });
  return [withResource({ id: `engagelab-email:${messageId}:${name}:${body.itime}`, type, created_at: iso(Number(body.itime)), data, format: 'engagelab-email', raw: body }, messageId)];
}

// ---- octopush ---------------------------------------------------------------------------------

const OCTOPUSH_STATUS: Readonly<Record<string, string>> = {
  ACK: 'sms.sent',
  DELIVERED: 'sms.delivered',
  NOT_DELIVERED: 'sms.undelivered',
  NOT_ALLOWED: 'sms.rejected',
  UNKNOWN_DELIVERY: 'sms.unknown',
  BAD_DESTINATION: 'sms.target_invalid',
  BLACKLISTED_NUMBER: 'sms.rejected',
  UNDEFINED: 'sms.send_failed',
};

function parseOctopush(req: ReceivedRequest, o: ParseOptions): ReceivedEvent[] {
  const text = bodyText(req);
  if (text === '') return [];
  const f: Rec = contentType(req) === 'application/x-www-form-urlencoded' ? Object.fromEntries(new URLSearchParams(text)) : (json(text, 'the body') as Rec);
  if (!isRec(f)) throw new ParseError('the body is not an object');
  const messageId = s(f, 'message_id');
  const meta = typeof f.meta_data === 'string' && f.meta_data !== '' ? json(f.meta_data, 'meta_data') : f.meta_data;
  if ('delivery_date' in f) {
    const status = s(f, 'status') ?? '';
    const type = OCTOPUSH_STATUS[status];
    if (!type) throw new ParseError(`unknown Octopush status ${status}`);
    const data = clean({ message_id: messageId, to: s(f, 'number'), channel: s(f, 'channel'), status, raw_status: status, custom_args: isRec(meta) ? meta : undefined });
    return [withResource({ id: `octopush:${messageId}:${status}`, type, created_at: iso(ymdHis(s(f, 'delivery_date'), o.timeZone)), data, format: 'octopush', raw: f }, messageId)];
  }
  if ('stop_date' in f) {
    const data = clean({ message_id: messageId, from: s(f, 'number'), text: s(f, 'text') });
    return [withResource({ id: `octopush:${messageId}:stop`, type: 'sms.opt_out', created_at: iso(ymdHis(s(f, 'stop_date'), o.timeZone)), data, format: 'octopush', raw: f }, messageId)];
  }
  if ('reception_date' in f || 'answer_date' in f) {
    const data = clean({ message_id: messageId, from: s(f, 'number'), to: s(f, 'sim_card_number'), text: s(f, 'text') });
    const at = s(f, 'reception_date') ?? s(f, 'answer_date');
    return [withResource({ id: `octopush:${messageId}:reply`, type: 'sms.inbound', created_at: iso(ymdHis(at, o.timeZone)), data, format: 'octopush', raw: f }, messageId)];
  }
  throw new ParseError('no delivery_date, reception_date or stop_date: not an Octopush callback');
}

// ---- whispir ----------------------------------------------------------------------------------

interface WhispirPayload {
  messageid?: string;
  messagelocation?: string;
  from: Rec;
  responseMessage: Rec;
  customParameters: Rec;
}

function whispirXml(text: string): WhispirPayload {
  const un = (v: string) => v.replace(/&(lt|gt|quot|amp|apos);/g, (_m, e: string) => ({ lt: '<', gt: '>', quot: '"', amp: '&', apos: "'" })[e as 'lt']);
  const section = (name: string) => new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(text)?.[1] ?? '';
  const leaves = (xml: string) => {
    const out: Rec = {};
    for (const m of xml.matchAll(/<([A-Za-z]+)(?:\/>|>([^<]*)<\/\1>)/g)) out[m[1]!] = m[2] === undefined ? '' : un(m[2]);
    return out;
  };
  if (!text.includes('deliveryResponse')) throw new ParseError('the XML body is not a ns2:deliveryResponse');
  const params: Rec = {};
  for (const m of section('customParameters').matchAll(/<entry>(?:<key>([^<]*)<\/key>|<key\/>)(?:<value>([^<]*)<\/value>|<value\/>)<\/entry>/g)) params[un(m[1] ?? '')] = un(m[2] ?? '');
  const top = leaves(text.replace(/<from>[\s\S]*?<\/from>|<responseMessage>[\s\S]*?<\/responseMessage>|<customParameters>[\s\S]*?<\/customParameters>/g, ''));
  return {
    messageid: (top.messageid as string) || undefined,
    messagelocation: (top.messagelocation as string) || undefined,
    from: leaves(section('from')),
    responseMessage: leaves(section('responseMessage')),
    customParameters: params,
  };
}

function parseWhispir(req: ReceivedRequest, o: ParseOptions): ReceivedEvent[] {
  const text = bodyText(req);
  // Whispir's check is a GET with the key and no body.
  if (text === '') return [];
  const p: WhispirPayload = contentType(req).endsWith('xml') ? whispirXml(text) : (json(text, 'the body') as WhispirPayload);
  if (!isRec(p) || !isRec(p.responseMessage)) throw new ParseError('no responseMessage: not a Whispir callback');
  const msg = p.responseMessage;
  const from = isRec(p.from) ? p.from : {};
  const channel = s(msg, 'channel') ?? 'SMS';
  const reply = typeof msg.acknowledged === 'string' && msg.acknowledged !== '';
  const type = reply ? 'sms.inbound' : channel === 'Email' ? 'email.invalid' : 'sms.undelivered';
  const contact = channel === 'Email' ? s(from, 'email') : s(from, 'mobile');
  const messageId = typeof p.messageid === 'string' ? p.messageid : undefined;
  const at = reply ? s(msg, 'acknowledged') : s(msg, 'undeliverable');
  const data = clean({
    message_id: messageId,
    message_location: p.messagelocation || undefined,
    [reply ? 'from' : 'to']: contact || undefined,
    contact_name: s(from, 'name') || undefined,
    channel,
    text: s(msg, 'content'),
    custom_args: isRec(p.customParameters) ? p.customParameters : {},
  });
  return [withResource({ id: `whispir:${messageId}:${reply ? 'reply' : 'undeliverable'}:${at}`, type, created_at: iso(dmyHm(at, o.timeZone)), data, format: 'whispir', raw: p }, messageId)];
}

// ---- twilio -----------------------------------------------------------------------------------

const TWILIO_STATUS: Readonly<Record<string, string>> = {
  queued: 'sms.queued',
  accepted: 'sms.queued',
  sending: 'sms.queued',
  sent: 'sms.sent',
  delivered: 'sms.delivered',
  undelivered: 'sms.undelivered',
  failed: 'sms.send_failed',
  received: 'sms.inbound',
};

function parseTwilio(req: ReceivedRequest, o: ParseOptions): ReceivedEvent[] {
  const text = bodyText(req);
  if (text === '') return [];
  const p = Object.fromEntries(new URLSearchParams(text));
  const sid = p.MessageSid ?? p.SmsSid;
  const status = p.MessageStatus ?? p.SmsStatus;
  if (!sid || !status) throw new ParseError('no MessageSid and MessageStatus: not a Twilio status callback');
  const type = TWILIO_STATUS[status];
  if (!type) throw new ParseError(`unknown Twilio status ${status}`);
  const data = clean({ message_id: sid, status, from: p.From, to: p.To, error_code: p.ErrorCode === undefined ? undefined : Number(p.ErrorCode), text: p.Body, account_sid: p.AccountSid });
  return [withResource({ id: `twilio:${sid}:${status}`, type, created_at: iso(o.now ?? Date.now()), data, format: 'twilio', raw: p }, sid)];
}

/**
 * The events a request of `format` carries, in the unified shape (ReceivedEvent). Usually one;
 * EngageLab's `{total, rows}` may carry several; a URL check (empty body, EngageLab's `{}`) none.
 * Throws ParseError when the body is not what the format sends. Verify first: parse trusts its input.
 *
 * @example
 * verify('standard', req, { secret });
 * for (const event of parse('standard', req)) console.log(event.type, event.data);
 */
export function parse(format: Format, req: ReceivedRequest, options: ParseOptions = {}): ReceivedEvent[] {
  switch (format) {
    case 'standard':
      return parseStandard(req);
    case 'template':
      return parseTemplate(req, options);
    case 'engagelab':
      return parseEngagelab(req);
    case 'engagelab-email':
      return parseEngagelabEmail(req);
    case 'octopush':
      return parseOctopush(req, options);
    case 'whispir':
      return parseWhispir(req, options);
    case 'twilio':
      return parseTwilio(req, options);
    default:
      throw new Error(`unknown format ${String(format)}`);
  }
}
