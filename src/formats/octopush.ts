import { Type } from '@sinclair/typebox';
import type { Callback } from '../routing/callback.js';
import { Nullable, SHARED_SCHEMAS, timeZone, type FormatModule } from './module.js';
import { asData, customArgs, str, timeMs, ymdHis } from './fields.js';
import { UnsupportedEventError, USER_AGENT, type CheckRequest, type RenderEvent, type RenderedRequest } from './types.js';

/**
 * Octopush SMS callbacks (docs/formats/octopush.md): a POST per event to the URL of its callback type
 * (delivery receipt, reply, opt-out) or one shared URL; JSON or form-encoded; dates `Y-m-d H:i:s`.
 */
export const OCTOPUSH_STATUSES = [
  'ACK',
  'DELIVERED',
  'NOT_DELIVERED',
  'NOT_ALLOWED',
  'UNKNOWN_DELIVERY',
  'BAD_DESTINATION',
  'BLACKLISTED_NUMBER',
  'UNDEFINED',
] as const;

/** Unified type → delivery-receipt status (a vendor status in `data.raw_status` wins). */
const DR_STATUS: Readonly<Record<string, (typeof OCTOPUSH_STATUSES)[number]>> = {
  'sms.queued': 'ACK',
  'sms.sent': 'ACK',
  'sms.target_valid': 'ACK',
  'sms.delivered': 'DELIVERED',
  'sms.undelivered': 'NOT_DELIVERED',
  'sms.expired': 'NOT_DELIVERED',
  'sms.deleted': 'NOT_DELIVERED',
  'sms.rejected': 'NOT_ALLOWED',
  'sms.unknown': 'UNKNOWN_DELIVERY',
  'sms.target_invalid': 'BAD_DESTINATION',
  'sms.send_failed': 'UNDEFINED',
};

export const OCTOPUSH_EVENTS: readonly string[] = [...Object.keys(DR_STATUS), 'sms.inbound', 'sms.opt_out'];

export type OctopushKind = 'delivery' | 'reply' | 'opt_out';

export interface OctopushSettings {
  urls?: Partial<Record<OctopushKind, string>>;
  encoding?: 'json' | 'form';
  timezone?: string;
}

export function octopushKind(type: string): OctopushKind {
  if (type === 'sms.inbound') return 'reply';
  if (type === 'sms.opt_out') return 'opt_out';
  if (DR_STATUS[type] !== undefined) return 'delivery';
  throw new UnsupportedEventError('octopush', type);
}

export function octopushFields(event: RenderEvent, timeZone?: string): Record<string, unknown> {
  const d = asData(event.data);
  const kind = octopushKind(event.type);
  const messageId = str(d, 'message_id') ?? event.resourceId;
  const at = ymdHis(timeMs(d, 'event_time', event.createdAt), timeZone);
  if (kind === 'delivery') {
    const raw = str(d, 'raw_status');
    const status = raw !== null && (OCTOPUSH_STATUSES as readonly string[]).includes(raw) ? raw : DR_STATUS[event.type]!;
    return {
      channel: str(d, 'channel') ?? 'sms',
      message_id: messageId,
      number: str(d, 'to'),
      status,
      delivery_date: at,
      meta_data: customArgs(event.customArgs, d),
    };
  }
  const number = str(d, 'from');
  if (kind === 'reply') {
    return {
      message_id: messageId,
      number,
      text: str(d, 'text') ?? '',
      sim_card_number: str(d, 'sim_card_number') ?? str(d, 'to'),
      reception_date: at,
      answer_date: at,
    };
  }
  return { message_id: messageId, number, text: str(d, 'text') ?? 'STOP', stop_date: at };
}

/** Form encoding: nested values (meta_data) as JSON text. */
function formEncode(fields: Record<string, unknown>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) {
    if (v === null || v === undefined) p.append(k, '');
    else p.append(k, typeof v === 'object' ? JSON.stringify(v) : String(v));
  }
  return p.toString();
}

export function renderOctopush(event: RenderEvent, cb: Callback, _now: number): RenderedRequest {
  const s = cb.settings as OctopushSettings;
  const fields = octopushFields(event, s.timezone);
  const form = s.encoding === 'form';
  return {
    method: 'POST',
    url: s.urls?.[octopushKind(event.type)] ?? cb.url,
    headers: {
      'user-agent': USER_AGENT,
      ...cb.headers,
      'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json',
    },
    body: form ? formEncode(fields) : JSON.stringify(fields),
  };
}

/** Every URL an octopush callback posts to (the shared one and the per-type ones). */
export function octopushUrls(cb: Callback): string[] {
  const s = cb.settings as OctopushSettings;
  return [...new Set([cb.url, ...Object.values(s.urls ?? {})])];
}

/**
 * URL check: a HEAD request (nothing the receiver would store); the URL is available when any HTTP
 * answer below 500 arrives within the callback's timeout (the server is up and routes the path).
 */
export function checkByHead(url: string, cb: Callback): CheckRequest {
  return {
    method: 'HEAD',
    url,
    headers: { 'user-agent': USER_AGENT, ...cb.headers },
    body: '',
    success: { statuses: Array.from({ length: 300 }, (_, i) => 200 + i) },
    timeoutMs: Math.max(cb.timeoutMs, 3000),
  };
}

const UrlOf = (label: string) => Nullable(Type.String({ minLength: 1, maxLength: 2048, description: label }));

export const octopushFormat: FormatModule = {
  name: 'octopush',
  label: 'Octopush',
  description: 'Octopush delivery reports, replies and opt-outs: JSON or form POST, a URL per callback type, unsigned.',
  doc: 'docs/formats/octopush.md',
  events: OCTOPUSH_EVENTS,
  // Octopush asks receivers to answer in about 1 s; a callback's own `timeout` overrides it.
  defaultTimeoutMs: 1000,
  secret: 'none',
  fields: [
    {
      key: 'urls',
      type: 'object',
      label: 'URL per callback type',
      help: 'A URL per callback type; `url` serves the types without one; null removes one',
      fields: (['delivery', 'reply', 'opt_out'] as const).map((k) => ({ key: k, type: 'url' as const, label: k, help: `URL of the ${k} callbacks`, nullable: true, schema: UrlOf(k) })),
      schema: Type.Object(
        { delivery: Type.Optional(UrlOf('delivery')), reply: Type.Optional(UrlOf('reply')), opt_out: Type.Optional(UrlOf('opt_out')) },
        { additionalProperties: false, description: 'octopush: a URL per callback type; `url` serves the types without one' },
      ),
    },
    {
      key: 'encoding',
      type: 'select',
      label: 'Body encoding',
      help: 'JSON or application/x-www-form-urlencoded',
      options: ['json', 'form'],
      default: 'json',
      schema: Type.Union([Type.Literal('json'), Type.Literal('form')], { description: 'octopush: body encoding (default json)' }),
    },
    { key: 'timezone', type: 'timezone', label: 'Time zone', help: 'IANA time zone of the dates', default: 'UTC', schema: SHARED_SCHEMAS.timezone },
  ],
  sealedSettings: { maps: [{ path: ['urls'], url: true }] },
  resolve(input, ctx) {
    const given = input.urls as Record<string, string | null | undefined> | undefined;
    if (given !== undefined) {
      const urls: Record<string, string> = { ...((ctx.settings.urls as Record<string, string> | undefined) ?? {}) };
      for (const [k, u] of Object.entries(given)) {
        if (u === null || u === undefined) delete urls[k];
        else urls[k] = ctx.checkUrl(u, `urls.${k}`);
      }
      ctx.set('urls', Object.keys(urls).length > 0 ? urls : null);
    }
    if (input.encoding !== undefined) ctx.set('encoding', input.encoding);
    if (input.timezone !== undefined) ctx.set('timezone', timeZone(input.timezone as string));
    return { secret: '' };
  },
  render: renderOctopush,
  check: (cb) => octopushUrls(cb).map((u) => checkByHead(u, cb)),
};
