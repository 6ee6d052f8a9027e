import { XMLParser } from 'fast-xml-parser';
import { SHARED_SCHEMAS } from '../formats/module.js';
import { bodyFields, compact, field, fromWallClock, mediaType, sameSecret, type MapResult, type SourceFormat, type StoredRequest } from './module.js';
import { resolveFields, TextSchema } from './settings.js';

/**
 * Whispir callbacks coming in (the inverse of src/formats/whispir.ts): a POST of a reply or an
 * undeliverable notice, JSON or XML (`ns2:deliveryResponse`), the key as `?auth=KEY` or
 * `X-Whispir-Callback-Key`. Whispir's GET on creating a callback is answered 200 and not kept.
 */

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | null => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : null);

const xml = new XMLParser({ removeNSPrefix: true, parseTagValue: false, ignoreAttributes: true, isArray: (name) => name === 'entry' });

/** The payload of a JSON or XML body; null when it is neither. */
export function whispirPayload(req: StoredRequest): Obj | null {
  const type = mediaType(req);
  const body = req.body.trim();
  if (type.includes('xml') || body.startsWith('<')) {
    try {
      const doc = obj(xml.parse(body));
      return obj(doc?.deliveryResponse) ?? null;
    } catch {
      return null;
    }
  }
  return bodyFields(req);
}

const DMYHM = /^(\d{2})\/(\d{2})\/(\d{2,4}) (\d{2}):(\d{2})(?::(\d{2}))?$/;

/** Whispir's `dd/MM/yy HH:mm` in the source's time zone as ISO 8601; other text as given. */
export function isoFromDmyHm(v: string | null, timeZone?: string): string | null {
  if (v === null) return null;
  const m = DMYHM.exec(v.trim());
  if (!m) return v;
  const year = m[3]!.length === 2 ? 2000 + Number(m[3]) : Number(m[3]);
  return new Date(fromWallClock(year, Number(m[2]), Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0), timeZone)).toISOString();
}

/** customParameters: a JSON object, or XML's `<entry><key/><value/></entry>` list. */
function customParameters(v: unknown): Record<string, unknown> | undefined {
  const o = obj(v);
  if (!o) return undefined;
  if (Array.isArray(o.entry)) {
    const out: Record<string, unknown> = {};
    for (const e of o.entry as unknown[]) {
      const kv = obj(e);
      const k = kv ? field(kv, 'key') : null;
      if (kv && k !== null) out[k] = typeof kv.value === 'string' ? kv.value : '';
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }
  return Object.keys(o).length > 0 ? o : undefined;
}

export function mapWhispir(req: StoredRequest, settings: Record<string, unknown>): MapResult {
  const p = whispirPayload(req);
  if (p === null) return { error: 'the body is neither a Whispir JSON callback nor ns2:deliveryResponse XML' };
  const msg = obj(p.responseMessage);
  if (!msg) return { error: 'no responseMessage' };
  const from = obj(p.from) ?? {};
  const channel = (field(msg, 'channel') ?? '').toLowerCase();
  const tz = settings.timezone as string | undefined;
  const messageId = field(p, 'messageid');
  const contact = channel === 'email' ? field(from, 'email') : field(from, 'mobile');
  const common = {
    message_id: messageId,
    message_location: field(p, 'messagelocation'),
    contact_name: field(from, 'name'),
    contact_mri: field(from, 'mri'),
    contact_email: field(from, 'email'),
    contact_mobile: field(from, 'mobile'),
    text: field(msg, 'content') ?? '',
  };
  const args = customParameters(p.customParameters);
  const extra = { ...(messageId !== null ? { resource_id: messageId } : {}), ...(args ? { custom_args: args } : {}) };
  if ('acknowledged' in msg) {
    if (channel !== 'sms') return { error: `a reply on channel ${field(msg, 'channel') ?? '(none)'}: the catalogue has inbound SMS only` };
    return { events: [{ type: 'sms.inbound', data: compact({ ...common, from: contact, event_time: isoFromDmyHm(field(msg, 'acknowledged'), tz) }), ...extra }] };
  }
  if ('undeliverable' in msg) {
    const type = channel === 'email' ? 'email.invalid' : channel === 'sms' ? 'sms.undelivered' : null;
    if (type === null) return { error: `an undeliverable notice on channel ${field(msg, 'channel') ?? '(none)'}: SMS and Email are mapped` };
    return { events: [{ type, data: compact({ ...common, to: contact, event_time: isoFromDmyHm(field(msg, 'undeliverable'), tz) }), ...extra }] };
  }
  return { error: 'responseMessage has neither acknowledged (a reply) nor undeliverable' };
}

/** The key as sent: `?auth=` or `X-Whispir-Callback-Key`. */
function givenKey(req: { headers: Record<string, string>; query: string }): string {
  return new URLSearchParams(req.query).get('auth') ?? req.headers['x-whispir-callback-key'] ?? '';
}

export const whispirSource: SourceFormat = {
  name: 'whispir',
  label: 'Whispir',
  description: 'Whispir reply and undeliverable callbacks (JSON or XML), verified by the key as ?auth= or X-Whispir-Callback-Key.',
  methods: ['POST', 'GET'],
  fields: [
    { key: 'key', type: 'secret', label: 'Key', help: 'The callback key Whispir sends as ?auth= or X-Whispir-Callback-Key; write-only', required: true, write_only: true, schema: TextSchema('whispir: the callback key (write-only)', 256) },
    { key: 'timezone', type: 'timezone', label: 'Time zone', help: 'IANA time zone of the dates Whispir sends', default: 'UTC', nullable: true, schema: SHARED_SCHEMAS.timezone },
  ],
  secretSettings: ['key'],
  resolve(input, current) {
    return resolveFields(this.fields, input, current);
  },
  verify: (req, settings) => (sameSecret(givenKey(req), settings.key as string) ? null : 'the key (?auth= or X-Whispir-Callback-Key) is missing or wrong'),
  isCheck: (req) => req.method === 'GET',
  map: mapWhispir,
  answer: { status: 200, contentType: 'text/plain', body: 'OK' },
};
