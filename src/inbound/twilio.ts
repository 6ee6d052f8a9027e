import { signTwilio } from '../formats/twilio.js';
import { invalid } from '../errors.js';
import { bodyFields, compact, field, mediaType, sameSecret, type MapResult, type SourceFormat, type StoredRequest } from './module.js';
import { resolveFields, TextSchema } from './settings.js';

/**
 * Twilio SMS status callbacks coming in (the inverse of src/formats/twilio.ts): a form POST of
 * MessageSid, MessageStatus, From, To, ErrorCode…, signed with `X-Twilio-Signature` (base64
 * HMAC-SHA1 keyed by the auth token over the URL Twilio called followed by the POST parameters sorted
 * by name: the same function the outbound format signs with). Answered with empty TwiML.
 */

/** Twilio MessageStatus → catalogue type. */
export const TWILIO_STATUS_TYPES: Readonly<Record<string, string>> = {
  accepted: 'sms.queued',
  scheduled: 'sms.queued',
  queued: 'sms.queued',
  sending: 'sms.sent',
  sent: 'sms.sent',
  delivered: 'sms.delivered',
  undelivered: 'sms.undelivered',
  failed: 'sms.send_failed',
  canceled: 'sms.send_failed',
  received: 'sms.inbound',
};

/** The POST parameters Twilio signs (form bodies only; a GET's parameters are in the URL). */
function signedParams(req: StoredRequest): Record<string, string> {
  if (req.method !== 'POST' || mediaType(req) !== 'application/x-www-form-urlencoded') return {};
  return Object.fromEntries(new URLSearchParams(req.body));
}

export function mapTwilio(req: StoredRequest): MapResult {
  const f = bodyFields(req);
  if (f === null) return { error: 'the body is not form fields' };
  const status = (field(f, 'MessageStatus', 'SmsStatus') ?? '').toLowerCase();
  const type = TWILIO_STATUS_TYPES[status];
  if (type === undefined) return { error: status === '' ? 'no MessageStatus' : `MessageStatus "${status}" is not mapped (mapped: ${Object.keys(TWILIO_STATUS_TYPES).join(', ')})` };
  const sid = field(f, 'MessageSid', 'SmsSid');
  const code = field(f, 'ErrorCode');
  return {
    events: [
      {
        type,
        data: compact({
          message_id: sid,
          from: field(f, 'From'),
          to: field(f, 'To'),
          raw_status: status,
          error_code: code === null ? null : Number.isFinite(Number(code)) ? Number(code) : code,
          account_sid: field(f, 'AccountSid'),
          ...(type === 'sms.inbound' ? { text: field(f, 'Body') ?? '' } : {}),
        }),
        ...(sid !== null ? { resource_id: sid } : {}),
      },
    ],
  };
}

export const twilioSource: SourceFormat = {
  name: 'twilio',
  label: 'Twilio SMS status',
  description: "Twilio's SMS status callbacks (form POST), verified by X-Twilio-Signature with the account's auth token.",
  methods: ['POST'],
  fields: [
    { key: 'auth_token', type: 'secret', label: 'Auth token', help: 'The Twilio auth token keying X-Twilio-Signature; write-only', required: true, write_only: true, schema: TextSchema('twilio: the auth token (write-only)', 256) },
    {
      key: 'url',
      type: 'url',
      label: 'URL as Twilio calls it',
      help: 'The ingest URL exactly as configured at Twilio, when a proxy changes the scheme, host or port the relay sees; default: the URL of the request',
      nullable: true,
      schema: TextSchema('twilio: the ingest URL as configured at Twilio (default: as the request arrives)', 2048),
    },
  ],
  secretSettings: ['auth_token'],
  resolve(input, current) {
    const s = resolveFields(this.fields, input, current);
    if (s.url !== undefined && !/^https?:\/\/[^/]+\/inbound\/[^/?#]+/.test(s.url as string)) throw invalid('settings.url', 'must be an http(s) URL ending in /inbound/{token}');
    return s;
  },
  verify(req, settings) {
    const given = req.headers['x-twilio-signature'] ?? '';
    if (given === '') return 'no X-Twilio-Signature';
    const params = signedParams(req);
    const configured = settings.url as string | undefined;
    const urls = configured ? [configured.split('?')[0] + (req.query ? `?${req.query}` : '')] : [];
    urls.push(req.url);
    for (const url of urls) if (sameSecret(given, signTwilio(settings.auth_token as string, url, params))) return null;
    return 'X-Twilio-Signature does not verify';
  },
  map: (req) => mapTwilio(req),
  answer: { status: 200, contentType: 'text/xml', body: '<?xml version="1.0" encoding="UTF-8"?><Response/>' },
};
