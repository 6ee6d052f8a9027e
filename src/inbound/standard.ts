import { createHmac } from 'node:crypto';
import { eventTypeByName } from '../catalogue/event-types.js';
import { invalid } from '../errors.js';
import { WHSEC } from '../formats/standard.js';
import { sameSecret, type MapResult, type SourceFormat, type StoredRequest } from './module.js';
import { resolveFields, TextSchema } from './settings.js';

/**
 * Standard Webhooks coming in (https://www.standardwebhooks.com, the inverse of
 * src/formats/standard.ts): `webhook-id`, `webhook-timestamp`, `webhook-signature` (`v1,` + base64
 * HMAC-SHA256 of `id.timestamp.body`, keyed by the base64 part of the `whsec_` secret; several
 * space-separated during a rotation), the timestamp within 5 minutes of now, as the `standardwebhooks`
 * package verifies. The body `{type, timestamp, data}` passes through when `type` is a catalogue type.
 */

/** The standardwebhooks package's tolerance, both ways. */
export const TOLERANCE_S = 5 * 60;

/** null when the headers verify `body` with `secret` at `now`, else why not. */
export function verifyStandard(headers: Record<string, string>, body: string, secret: string, now: number): string | null {
  const id = headers['webhook-id'];
  const ts = headers['webhook-timestamp'];
  const sigs = headers['webhook-signature'];
  if (!id || !ts || !sigs) return 'missing webhook-id, webhook-timestamp or webhook-signature';
  const seconds = parseInt(ts, 10);
  if (Number.isNaN(seconds)) return 'webhook-timestamp is not a number';
  const nowS = Math.floor(now / 1000);
  if (nowS - seconds > TOLERANCE_S) return 'webhook-timestamp is too old';
  if (seconds > nowS + TOLERANCE_S) return 'webhook-timestamp is too new';
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${seconds}.${body}`).digest('base64');
  for (const versioned of sigs.split(' ')) {
    const [version, sig] = versioned.split(',');
    if (version === 'v1' && sig !== undefined && sameSecret(sig, expected)) return null;
  }
  return 'no webhook-signature verifies';
}

export function mapStandard(req: StoredRequest): MapResult {
  let body: unknown;
  try {
    body = JSON.parse(req.body);
  } catch {
    return { error: 'the body is not JSON' };
  }
  const o = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : null;
  if (!o || typeof o.type !== 'string') return { error: 'the body is not {"type", "timestamp", "data"}' };
  if (!eventTypeByName(o.type)) return { error: `type "${o.type}" is not in the catalogue (GET /v1/event-types)` };
  const data = o.data !== null && typeof o.data === 'object' && !Array.isArray(o.data) ? (o.data as Record<string, unknown>) : o.data === undefined ? {} : null;
  if (data === null) return { error: 'data is not an object' };
  const messageId = data.message_id;
  const webhookId = req.headers['webhook-id'];
  return {
    events: [
      {
        type: o.type,
        data: typeof o.timestamp === 'string' && data.event_time === undefined ? { ...data, event_time: o.timestamp } : data,
        ...(typeof messageId === 'string' && messageId !== '' ? { resource_id: messageId } : {}),
        // A sender's retry of one message (same webhook-id) is one event.
        ...(webhookId ? { dedupe: webhookId } : {}),
      },
    ],
  };
}

export const standardSource: SourceFormat = {
  name: 'standard',
  label: 'Standard Webhooks',
  description: 'Standard Webhooks ({type, timestamp, data} signed with webhook-signature) of catalogue event types, passed through.',
  methods: ['POST'],
  fields: [
    { key: 'secret', type: 'secret', label: 'Signing secret', help: "The sender's whsec_ secret; write-only", required: true, write_only: true, schema: TextSchema('standard: the sender\'s whsec_ signing secret (write-only)', 256) },
  ],
  secretSettings: ['secret'],
  resolve(input, current) {
    const s = resolveFields(this.fields, input, current);
    if (!WHSEC.test(s.secret as string)) throw invalid('settings.secret', 'must be whsec_ followed by base64 of 24 to 64 bytes');
    return s;
  },
  verify: (req, settings, now) => verifyStandard(req.headers, req.body, settings.secret as string, now),
  map: (req) => mapStandard(req),
  answer: { status: 204, body: '' },
};
