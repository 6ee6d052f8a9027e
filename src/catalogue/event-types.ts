/**
 * The unified event catalogue: every event callback-relay carries, with a stable numeric code, its
 * channel and the template variables its `data` offers. E-mail keeps EngageLab's own codes so the
 * WebHooks API's `event` arrays mean the same thing. Data only: no I/O.
 */
export type Channel = 'sms' | 'email' | 'otp' | 'whatsapp' | 'system' | 'alert' | 'relay';

export interface EventType {
  name: string;
  code: number;
  channel: Channel;
  description: string;
  /** Names usable as `{{name}}` in templates; each is a key of the event's `data`. */
  variables: readonly string[];
}

const COMMON = ['message_id', 'custom_args', 'event_time', 'send_time', 'raw_status', 'error_code', 'sub_status'];
const SMS = [...COMMON, 'to', 'from', 'status', 'operator', 'cost', 'currency', 'parts'];
const SMS_INBOUND = [...COMMON, 'from', 'to', 'text', 'keyword', 'operator', 'circle', 'sim_card_number'];
const EMAIL = [...COMMON, 'to', 'from', 'subject', 'task_id', 'api_user', 'email_id', 'label_id', 'message'];
const EMAIL_ENGAGEMENT = [...EMAIL, 'url', 'ip', 'user_agent'];
const OTP = [...COMMON, 'to', 'template_key', 'business_id', 'channel_used', 'cost', 'currency'];
const WHATSAPP = [...COMMON, 'to', 'from', 'wanumber', 'status'];
const WHATSAPP_INBOUND = [...COMMON, 'from', 'name', 'body', 'mime_type', 'media_url', 'type', 'reply_to', 'wanumber'];
const SYSTEM = ['business_id', 'org_id', 'operator_email', 'operator_api_key', 'operator_ip', 'event_time', 'detail'];
const ALERT = ['business_id', 'event_time', 'remain_balance', 'balance_threshold', 'verification_rate', 'threshold', 'window', 'message_id', 'to'];
const RELAY = ['callback_id', 'callback_title', 'delivery_id', 'event_id', 'event_type', 'reason', 'attempts', 'event_time'];

function group(channel: Channel, variables: readonly string[], entries: [string, number, string][]): EventType[] {
  return entries.map(([event, code, description]) => ({ name: `${channel}.${event}`, code, channel, description, variables }));
}

export const EVENT_TYPES: readonly EventType[] = [
  ...group('sms', SMS, [
    ['queued', 100, 'Accepted and queued for sending'],
    ['target_valid', 101, 'Destination number checked and valid'],
    ['target_invalid', 102, 'Destination number invalid'],
    ['sent', 110, 'Handed to the carrier'],
    ['send_failed', 111, 'Could not be handed to the carrier'],
    ['delivered', 120, 'Delivered to the handset (DELIVRD)'],
    ['undelivered', 121, 'Not delivered (UNDELIV)'],
    ['expired', 122, 'Validity period expired (EXPIRED)'],
    ['rejected', 123, 'Rejected by the carrier (REJECTD)'],
    ['deleted', 124, 'Deleted by the carrier (DELETED)'],
    ['unknown', 129, 'Final state unknown (UNKNOWN)'],
  ]),
  ...group('sms', SMS_INBOUND, [
    ['inbound', 130, 'A reply or inbound message (MO)'],
    ['opt_out', 131, 'The recipient opted out (STOP)'],
  ]),
  ...group('sms', [...SMS, 'url'], [['link_click', 140, 'A shortened link in the message was clicked']]),
  ...group('email', EMAIL, [
    ['delivered', 1, 'Delivered to the recipient server'],
    ['spam_report', 3, 'Reported as spam'],
    ['invalid', 4, 'Invalid: sub-status 401-409'],
    ['soft_bounce', 5, 'Soft bounce: sub-status 5xx'],
    ['request', 18, 'Send request accepted'],
    ['sent', 32, 'Sent'],
  ]),
  ...group('email', EMAIL_ENGAGEMENT, [
    ['click', 10, 'A link was clicked'],
    ['open', 11, 'The message was opened'],
    ['unsubscribe', 12, 'The recipient unsubscribed'],
  ]),
  ...group('otp', OTP, [
    ['plan', 300, 'Scheduled'],
    ['target_valid', 301, 'Destination valid'],
    ['target_invalid', 302, 'Destination invalid'],
    ['sent', 310, 'Code sent'],
    ['sent_failed', 311, 'Code could not be sent'],
    ['delivered', 320, 'Code delivered'],
    ['delivered_failed', 321, 'Code not delivered'],
    ['verified', 330, 'Code verified'],
    ['verified_failed', 331, 'Verification failed'],
    ['verified_timeout', 332, 'Not verified in time'],
  ]),
  ...group('whatsapp', WHATSAPP, [
    ['sent', 400, 'Sent'],
    ['not_sent', 401, 'Not sent'],
    ['delivered', 402, 'Delivered'],
    ['read', 403, 'Read by the recipient'],
    ['failed', 404, 'Failed'],
  ]),
  ...group('whatsapp', WHATSAPP_INBOUND, [['inbound', 410, 'An inbound message']]),
  ...group('system', SYSTEM, [
    ['account_login', 800, 'A console login'],
    ['key_manage', 801, 'An API key was created, changed or removed'],
    ['msg_history', 802, 'Message history was viewed or exported'],
    ['template_manage', 803, 'A template was created, changed or removed'],
    ['api_call', 804, 'An API call'],
    ['template_audit_result', 805, 'A template review finished'],
  ]),
  ...group('alert', ALERT, [
    ['insufficient_balance', 900, 'The balance fell below the threshold'],
    ['low_verification_rate', 901, 'Verified / sent OTPs fell below the threshold'],
    ['authentication_timeout', 902, 'An OTP was not verified in time'],
  ]),
  // The relay's own operational events, so customers can subscribe a callback to them.
  ...([
    ['callback.disabled', 950, 'A callback was disabled'],
    ['callback.enabled', 951, 'A callback was enabled'],
    ['delivery.failing', 952, 'A delivery started failing'],
    ['delivery.exhausted', 953, 'A delivery used all its attempts'],
    ['delivery.recovered', 954, 'A failing callback succeeded again'],
  ] as const).map(([name, code, description]) => ({ name, code, channel: 'relay' as const, description, variables: RELAY })),
];

const BY_NAME = new Map(EVENT_TYPES.map((t) => [t.name, t]));
const BY_CODE = new Map(EVENT_TYPES.map((t) => [t.code, t]));

export function eventTypeByName(name: string): EventType | undefined {
  return BY_NAME.get(name);
}

export function eventTypeByCode(code: number): EventType | undefined {
  return BY_CODE.get(code);
}

/** Resolves a subscription entry given as a name (`sms.delivered`) or a code (`120` or 120). */
export function resolveEventType(ref: string | number): EventType | undefined {
  if (typeof ref === 'number') return BY_CODE.get(ref);
  if (/^\d+$/.test(ref)) return BY_CODE.get(Number(ref));
  return BY_NAME.get(ref);
}
