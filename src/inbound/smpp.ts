import { bodyFields, compact, field, fromWallClock, mediaType, type MapResult, type SourceFormat, type StoredRequest } from './module.js';
import { Type } from '@sinclair/typebox';
import { eventTypeByName } from '../catalogue/event-types.js';
import { invalid } from '../errors.js';
import { SHARED_SCHEMAS } from '../formats/module.js';
import { resolveFields } from './settings.js';

/**
 * SMPP delivery receipts relayed over HTTP by an SMS gateway: the receipt text
 * `id:… sub:… dlvrd:… submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DELIVRD err:… text:…` as the
 * body (text/plain), or in a form, JSON or query field (`short_message`, `text`, `message` or `dlr`)
 * with the numbers beside it (`source_addr`/`from`, `destination_addr`/`to`). No signature: the
 * URL token is the credential.
 */

/** SMPP `stat` → catalogue type. */
export const SMPP_STAT_TYPES: Readonly<Record<string, string>> = {
  DELIVRD: 'sms.delivered',
  EXPIRED: 'sms.expired',
  DELETED: 'sms.deleted',
  UNDELIV: 'sms.undelivered',
  ACCEPTD: 'sms.sent',
  ENROUTE: 'sms.sent',
  UNKNOWN: 'sms.unknown',
  REJECTD: 'sms.rejected',
  NOROUTE: 'sms.undelivered',
};

/** The fields of a receipt text; null when it has no `id:` and `stat:`. */
export function parseReceipt(text: string): Record<string, string> | null {
  // Each key starts where its name is (case-insensitive); `text:` runs to the end.
  const re = /(?:^|\s)(id|sub|dlvrd|submit date|done date|stat|err|text):/gi;
  const marks: { key: string; at: number; end: number }[] = [];
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const key = m[1]!.toLowerCase();
    if (marks.some((x) => x.key === key)) continue;
    marks.push({ key, at: m.index, end: m.index + m[0].length });
    if (key === 'text') break;
  }
  const out: Record<string, string> = {};
  marks.forEach((m, i) => {
    const next = marks[i + 1];
    out[m.key] = text.slice(m.end, next ? next.at : text.length).trim();
  });
  if (!out.id || !out.stat) return null;
  return out;
}

/** `YYMMDDhhmm[ss]` of the source's time zone as ISO 8601; other text as given. */
export function isoFromSmppDate(v: string | undefined, timeZone?: string): string | null {
  if (v === undefined || v === '') return null;
  const m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?$/.exec(v);
  if (!m) return v;
  const n = m.slice(1).map((x) => Number(x ?? 0));
  return new Date(fromWallClock(2000 + n[0]!, n[1]!, n[2]!, n[3]!, n[4]!, n[5] ?? 0, timeZone)).toISOString();
}

export function mapSmpp(req: StoredRequest, settings: Record<string, unknown>): MapResult {
  const type = mediaType(req);
  const fields = type === 'text/plain' && req.body.trim() !== '' ? null : bodyFields(req);
  const text = fields ? field(fields, 'short_message', 'text', 'message', 'dlr') : req.body;
  if (text === null) return { error: 'no receipt text (a text/plain body, or a short_message, text, message or dlr field)' };
  const r = parseReceipt(text);
  if (r === null) return { error: 'not an SMPP delivery receipt: no id: and stat:' };
  const stat = r.stat!.toUpperCase();
  const own = (settings.statuses as Record<string, string> | undefined) ?? {};
  const mapped = own[stat] ?? SMPP_STAT_TYPES[stat];
  if (mapped === undefined) return { error: `unknown stat "${r.stat}" (SMPP's: ${Object.keys(SMPP_STAT_TYPES).join(', ')}; add the gateway's own in settings.statuses)` };
  const tz = settings.timezone as string | undefined;
  const err = r.err;
  return {
    events: [
      {
        type: mapped,
        data: compact({
          message_id: r.id,
          to: fields ? field(fields, 'source_addr', 'from', 'msisdn') : null,
          from: fields ? field(fields, 'destination_addr', 'to') : null,
          raw_status: stat,
          error_code: err === undefined || err === '' ? null : /^\d+$/.test(err) ? Number(err) : err,
          sub: r.sub,
          dlvrd: r.dlvrd,
          send_time: isoFromSmppDate(r['submit date'], tz),
          event_time: isoFromSmppDate(r['done date'], tz),
          text: r.text,
        }),
        resource_id: r.id!,
      },
    ],
  };
}

export const smppSource: SourceFormat = {
  name: 'smpp',
  label: 'SMPP delivery receipts',
  description: 'SMPP delivery-receipt text (id:… stat:DELIVRD err:…) posted by an SMS gateway; the URL token is the credential.',
  methods: ['POST', 'GET'],
  fields: [
    { key: 'timezone', type: 'timezone', label: 'Time zone', help: 'IANA time zone of the submit and done dates', default: 'UTC', nullable: true, schema: SHARED_SCHEMAS.timezone },
    {
      key: 'statuses',
      type: 'map',
      label: 'Other stat values',
      help: "The gateway's own stat values and the sms.* event type each is (e.g. DELIVERD: sms.delivered), besides SMPP's; null removes them",
      nullable: true,
      schema: Type.Record(Type.String({ minLength: 1, maxLength: 16 }), Type.String({ minLength: 1, maxLength: 100 }), {
        maxProperties: 50,
        description: "smpp: the gateway's own stat values → sms.* event types, besides SMPP's",
      }),
    },
  ],
  secretSettings: [],
  resolve(input, current) {
    const { statuses, ...rest } = input;
    const s = resolveFields(this.fields.filter((f) => f.key !== 'statuses'), rest, current);
    if (statuses === null) delete s.statuses;
    else if (statuses !== undefined) {
      const out: Record<string, string> = {};
      for (const [stat, type] of Object.entries(statuses as Record<string, string>)) {
        if (!/^[A-Za-z0-9_]{1,16}$/.test(stat)) throw invalid(`settings.statuses.${stat}`, 'a stat is 1 to 16 letters, digits or _');
        if (!eventTypeByName(type)?.name.startsWith('sms.')) throw invalid(`settings.statuses.${stat}`, `"${type}" is not an sms.* event type of the catalogue`);
        out[stat.toUpperCase()] = type;
      }
      s.statuses = out;
    }
    return s;
  },
  verify: () => null,
  map: mapSmpp,
  answer: { status: 200, contentType: 'text/plain', body: 'OK' },
};
