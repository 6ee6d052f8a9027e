import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { Memo } from '../lib/memo.js';
import { invalid } from '../errors.js';
import { newWebhookSecret } from '../lib/crypto.js';
import { liveSecrets } from '../routing/callback.js';
import { checkByHead } from './octopush.js';
import { SHARED_SCHEMAS, type FieldSpec, type FormatModule } from './module.js';
import { USER_AGENT } from './types.js';

/**
 * Standard Webhooks (https://www.standardwebhooks.com): body `{type, timestamp, data}`, headers
 * `webhook-id`, `webhook-timestamp` (unix seconds) and `webhook-signature`: space-separated
 * `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one per live secret (rotation).
 */
export function renderStandardBody(type: string, occurredAtMs: number, data: unknown, dataJson?: string): string {
  return `{"type":${JSON.stringify(type)},"timestamp":${JSON.stringify(new Date(occurredAtMs).toISOString())},"data":${dataJson ?? JSON.stringify(data)}}`;
}

const keyCache = new Memo<string, KeyObject>(10_000);

/** The HMAC key is the base64 part of `whsec_…`, imported once per secret. */
function secretKey(secret: string): KeyObject {
  return keyCache.get(secret, () => createSecretKey(Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64')));
}

export function signStandard(secrets: readonly string[], msgId: string, timestampSec: number, body: string): string {
  const toSign = `${msgId}.${timestampSec}.${body}`;
  return secrets.map((s) => `v1,${createHmac('sha256', secretKey(s)).update(toSign).digest('base64')}`).join(' ');
}

export function standardHeaders(
  secrets: readonly string[],
  msgId: string,
  timestampSec: number,
  body: string,
): Record<string, string> {
  return {
    'content-type': 'application/json',
    'webhook-id': msgId,
    'webhook-timestamp': String(timestampSec),
    'webhook-signature': signStandard(secrets, msgId, timestampSec, body),
  };
}

/** A whsec_ signing secret: the relay's own signatures (standard, template). */
export const WHSEC = /^whsec_[A-Za-z0-9+/]{32,}={0,2}$/;

/** The `secret` field of formats signing the Standard Webhooks way, kept or generated when absent. */
export function whsecSecret(given: unknown, stored: string): string {
  if (given !== undefined) {
    if (typeof given !== 'string' || !WHSEC.test(given)) throw invalid('secret', 'must be whsec_ followed by base64 of 24 to 64 bytes');
    return given;
  }
  return WHSEC.test(stored) ? stored : newWebhookSecret();
}

export const WHSEC_FIELD: FieldSpec = {
  key: 'secret',
  type: 'secret',
  label: 'Signing secret',
  help: 'whsec_ followed by base64 of 24 to 64 bytes; generated when absent, readable with GET /v1/callbacks/{id}/secret',
  schema: SHARED_SCHEMAS.secret,
};

export const standardFormat: FormatModule = {
  name: 'standard',
  label: 'Standard Webhooks',
  description: 'Standard Webhooks: {type, timestamp, data} signed with webhook-signature (HMAC-SHA256).',
  doc: 'docs/formats/standard.md',
  events: null,
  defaultTimeoutMs: 15_000,
  secret: 'readable',
  rotatesSecret: true,
  fields: [WHSEC_FIELD],
  resolve: (input, ctx) => ({ secret: whsecSecret(input.secret, ctx.secret) }),
  render(event, cb, now) {
    const body = renderStandardBody(event.type, event.createdAt, event.dataJson === undefined ? event.data : undefined, event.dataJson);
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, ...cb.headers };
    Object.assign(headers, standardHeaders(liveSecrets(cb, now), event.id, Math.floor(now / 1000), body));
    return { method: cb.method, url: cb.url, headers, body };
  },
  check: (cb) => [checkByHead(cb.url, cb)],
};
