import { timingSafeEqual } from 'node:crypto';
import type { FieldSpec } from '../formats/module.js';
import { wallClock } from '../formats/fields.js';

/**
 * One inbound format: how a vendor's callbacks coming in at `/inbound/{token}` are verified, answered
 * and turned into catalogue events (the inverse of a FormatModule in src/formats/). Every format is
 * one such record, listed once in ./registry.ts; nothing else switches on a source format's name.
 */
export interface SourceFormat {
  /** The value of a source's `format`. */
  name: string;
  label: string;
  /** One sentence: which sender it is for. */
  description: string;
  /** The HTTP methods the vendor calls with. */
  methods: readonly ('POST' | 'GET')[];
  /** The settings, described as data (same shape as the outbound formats' fields, GET /v1/sources/formats). */
  fields: readonly FieldSpec[];
  /** Settings that are credentials: sealed at rest, write-only in the API (`<key>_set` shows whether set). */
  secretSettings: readonly string[];
  /**
   * Applies a create or update body's settings to the stored ones (`current`, empty on create): returns
   * the new settings, or throws a 422 naming the field.
   */
  resolve(input: Record<string, unknown>, current: Record<string, unknown>): Record<string, unknown>;
  /**
   * Whether the request carries the vendor's credentials for these settings: null when it does, else
   * why not (answered 401, nothing stored). The URL token was already matched.
   */
  verify(req: InboundRequest, settings: Record<string, unknown>, now: number): string | null;
  /** A request that is the vendor's URL check (Whispir's GET, EngageLab's `{}`): answered, not stored. */
  isCheck?(req: InboundRequest): boolean;
  /** Turns a stored request into events; an `error` says why it cannot (the request is kept as unmapped). */
  map(req: StoredRequest, settings: Record<string, unknown>): MapResult;
  /** What the vendor expects as the answer to a request that was stored (or was a check). */
  answer: Answer;
}

/** A request as received at `/inbound/{token}`. */
export interface InboundRequest extends StoredRequest {
  /** The URL the vendor called, as it called it (scheme and host from the request): Twilio signs it. */
  url: string;
  /** Header values as received (lower-case names), credentials included. */
  headers: Record<string, string>;
}

/** What mapping reads: the request as it is kept. */
export interface StoredRequest {
  method: string;
  /** Lower-case header names; credential headers are redacted in stored requests. */
  headers: Record<string, string>;
  /** The raw query string, without `?`. */
  query: string;
  body: string;
}

/** One event for ingest, as POST /v1/events takes it. */
export interface InboundEvent {
  type: string;
  data: Record<string, unknown>;
  resource_id?: string;
  custom_args?: Record<string, unknown>;
  /**
   * The sender's own id of the message, when it has one (Standard Webhooks' webhook-id): its retries,
   * stored as other requests, still become one event. Default: one event per request and position.
   */
  dedupe?: string;
}

export type MapResult = { events: InboundEvent[] } | { error: string };

export interface Answer {
  status: number;
  contentType?: string;
  body: string;
}

/** The content type without parameters, lower-case. */
export function mediaType(req: StoredRequest): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * The fields of a form or JSON body, or of the query string when the body is empty (a GET): values of
 * a form or query are strings; null when the body is neither (or malformed).
 */
export function bodyFields(req: StoredRequest): Record<string, unknown> | null {
  const type = mediaType(req);
  const body = req.body.trim();
  if (body === '') return req.query === '' ? null : Object.fromEntries(new URLSearchParams(req.query));
  if (type === 'application/json' || type.endsWith('+json') || ((type === '' || type === 'text/plain') && body.startsWith('{'))) {
    try {
      const v = JSON.parse(body) as unknown;
      return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
    } catch {
      return null;
    }
  }
  if (type === 'application/x-www-form-urlencoded' || type === '') return Object.fromEntries(new URLSearchParams(body));
  return null;
}

/** Equal strings, compared in constant time. */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A time zone's wall clock (`y-m-d h:mi:s`) as epoch milliseconds; the zone's offset at that time. */
export function fromWallClock(y: number, mo: number, d: number, h: number, mi: number, s: number, timeZone = 'UTC'): number {
  const asUtc = Date.UTC(y, mo - 1, d, h, mi, s);
  if (timeZone === 'UTC') return asUtc;
  const offsetAt = (ms: number) => {
    const w = wallClock(ms, timeZone);
    return Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s) - ms;
  };
  // Twice: the offset at the first guess may differ from the one at the answer (a DST change between).
  let ms = asUtc - offsetAt(asUtc);
  ms = asUtc - offsetAt(ms);
  return ms;
}

/** A string field of parsed fields (numbers stringified); null when absent or empty. */
export function field(f: Record<string, unknown>, ...keys: string[]): string | null {
  for (const k of keys) {
    const v = f[k];
    if (typeof v === 'string' && v !== '') return v;
    if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  }
  return null;
}

/** `data` without its null values (an absent field is absent, not null). */
export function compact(data: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) if (v !== null && v !== undefined) out[k] = v;
  return out;
}
