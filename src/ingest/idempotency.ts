import { createHash } from 'node:crypto';
import type { EventInput } from './ingest.js';

/**
 * The digest of an event request, stored with its idempotency key so that a reuse of the key can be
 * told apart: the same request again is a repeat, another request is a client's bug (409, as Stripe
 * answers). Object keys are sorted, so `{"a":1,"b":2}` and `{"b":2,"a":1}` are the same request.
 *
 * @example requestDigest({ type: 'sms.delivered', data: { b: 2, a: 1 } }) === requestDigest({ type: 'sms.delivered', data: { a: 1, b: 2 } })
 */
export function requestDigest(input: EventInput): string {
  const canonical = canonicalJson([
    input.type,
    input.data ?? {},
    input.id ?? null,
    input.resource_id ?? null,
    input.callback_profile_id ?? null,
    input.custom_args ?? null,
  ]);
  return createHash('sha256').update(canonical).digest('base64url');
}

/** JSON with every object's keys in order (input is JSON already parsed: no cycles, no undefined in arrays). */
function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  const parts: string[] = [];
  for (const k of Object.keys(o).sort()) if (o[k] !== undefined) parts.push(`${JSON.stringify(k)}:${canonicalJson(o[k])}`);
  return `{${parts.join(',')}}`;
}
