import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { Memo } from '../lib/memo.js';

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
