import { SHARED_SCHEMAS } from '../formats/module.js';
import { bodyFields, compact, field, fromWallClock, type InboundEvent, type MapResult, type SourceFormat, type StoredRequest } from './module.js';
import { resolveFields } from './settings.js';

/**
 * Octopush SMS callbacks coming in (the inverse of src/formats/octopush.ts): delivery receipts,
 * replies and opt-outs, JSON or form-encoded (a GET's query string too), told apart by which date
 * field is present; no signature: the URL token is the credential. Octopush wants an empty 200.
 */

/** Octopush delivery-receipt status → catalogue type. */
export const OCTOPUSH_STATUS_TYPES: Readonly<Record<string, string>> = {
  ACK: 'sms.sent',
  DELIVERED: 'sms.delivered',
  NOT_DELIVERED: 'sms.undelivered',
  NOT_ALLOWED: 'sms.rejected',
  BLACKLISTED_NUMBER: 'sms.rejected',
  UNKNOWN_DELIVERY: 'sms.unknown',
  BAD_DESTINATION: 'sms.target_invalid',
  UNDEFINED: 'sms.send_failed',
};

const YMDHIS = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/;

/** A `Y-m-d H:i:s` date of the source's time zone as ISO 8601 (UTC); other text as given. */
export function isoFromYmdHis(v: string | null, timeZone?: string): string | null {
  if (v === null) return null;
  const m = YMDHIS.exec(v.trim());
  if (!m) return v;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return new Date(fromWallClock(y, mo, d, h, mi, s, timeZone)).toISOString();
}

/** `meta_data`: an object in JSON, JSON text in a form. */
function metaData(v: unknown): Record<string, unknown> | undefined {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  if (typeof v === 'string' && v.trim().startsWith('{')) {
    try {
      const o = JSON.parse(v) as unknown;
      if (o !== null && typeof o === 'object' && !Array.isArray(o)) return o as Record<string, unknown>;
    } catch {
      // not JSON: kept as raw text below
    }
  }
  return typeof v === 'string' && v !== '' ? { meta_data: v } : undefined;
}

export function mapOctopush(req: StoredRequest, settings: Record<string, unknown>): MapResult {
  const f = bodyFields(req);
  if (f === null) return { error: 'the body is neither JSON nor form fields (nor a query string)' };
  const tz = settings.timezone as string | undefined;
  const messageId = field(f, 'message_id');
  const number = field(f, 'number');
  const withId = (e: InboundEvent): InboundEvent => (messageId === null ? e : { ...e, resource_id: messageId });
  const lower = Object.fromEntries(Object.entries(f).map(([k, v]) => [k.toLowerCase(), v]));
  if ('delivery_date' in lower || ('status' in lower && !('stop_date' in lower))) {
    const status = (field(lower, 'status') ?? '').toUpperCase();
    const type = OCTOPUSH_STATUS_TYPES[status];
    if (type === undefined) return { error: `unknown delivery status "${status}" (Octopush's: ${Object.keys(OCTOPUSH_STATUS_TYPES).join(', ')})` };
    const args = metaData(lower.meta_data);
    return {
      events: [
        withId({
          type,
          data: compact({ message_id: messageId, to: number, channel: field(lower, 'channel'), raw_status: status, event_time: isoFromYmdHis(field(lower, 'delivery_date'), tz) }),
          ...(args ? { custom_args: args } : {}),
        }),
      ],
    };
  }
  if ('stop_date' in lower) {
    return {
      events: [withId({ type: 'sms.opt_out', data: compact({ message_id: messageId, from: number, text: field(f, 'text'), event_time: isoFromYmdHis(field(lower, 'stop_date'), tz) }) })],
    };
  }
  if ('reception_date' in lower || 'answer_date' in lower) {
    return {
      events: [
        withId({
          type: 'sms.inbound',
          data: compact({
            message_id: messageId,
            from: number,
            to: field(f, 'sim_card_number'),
            sim_card_number: field(f, 'sim_card_number'),
            text: field(f, 'text') ?? '',
            event_time: isoFromYmdHis(field(lower, 'reception_date', 'answer_date'), tz),
          }),
        }),
      ],
    };
  }
  return { error: 'no delivery_date, reception_date/answer_date or stop_date field: not an Octopush delivery receipt, reply or opt-out' };
}

export const octopushSource: SourceFormat = {
  name: 'octopush',
  label: 'Octopush',
  description: 'Octopush delivery receipts, replies and opt-outs (JSON, form or query string); the URL token is the credential.',
  methods: ['POST', 'GET'],
  fields: [{ key: 'timezone', type: 'timezone', label: 'Time zone', help: 'IANA time zone of the dates Octopush sends', default: 'UTC', nullable: true, schema: SHARED_SCHEMAS.timezone }],
  secretSettings: [],
  resolve(input, current) {
    return resolveFields(this.fields, input, current);
  },
  verify: () => null,
  map: mapOctopush,
  // "The page must not display anything, not even a blank HTML body."
  answer: { status: 200, body: '' },
};
