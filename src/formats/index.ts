import type { Callback } from '../routing/callback.js';
import { liveSecrets } from '../routing/callback.js';
import { renderStandardBody, standardHeaders } from './standard.js';
import { checkEngagelab, ENGAGELAB_EVENTS, renderEngagelab } from './engagelab.js';
import { checkEngagelabEmail, ENGAGELAB_EMAIL_EVENTS, renderEngagelabEmail } from './engagelab-email.js';
import { checkByHead, OCTOPUSH_EVENTS, octopushUrls, renderOctopush } from './octopush.js';
import { checkWhispir, renderWhispir, WHISPIR_EVENTS } from './whispir.js';
import { checkTemplate, renderTemplate } from './template.js';
import { USER_AGENT, type CheckRequest, type RenderEvent, type RenderedRequest } from './types.js';

export type { CheckRequest, RenderEvent, RenderedRequest, SuccessRule } from './types.js';
export { UnsupportedEventError } from './types.js';

export const FORMATS = ['standard', 'engagelab', 'engagelab-email', 'octopush', 'whispir', 'template'] as const;
export type Format = (typeof FORMATS)[number];

/** What the API needs to know about a format when a callback is saved. */
export interface FormatInfo {
  /** Response timeout when the callback sets none, in ms. */
  defaultTimeoutMs: number;
  /** The event types it can carry; null: every type. Subscriptions outside it are refused. */
  events: readonly string[] | null;
  /** Plain http only to loopback/private hosts (and only with RELAY_ALLOW_PRIVATE_NETWORKS=1). */
  httpsOnly: boolean;
}

export const FORMAT_INFO: Readonly<Record<Format, FormatInfo>> = {
  standard: { defaultTimeoutMs: 15_000, events: null, httpsOnly: false },
  // EngageLab expects an answer within 3 s.
  engagelab: { defaultTimeoutMs: 3000, events: ENGAGELAB_EVENTS, httpsOnly: true },
  'engagelab-email': { defaultTimeoutMs: 3000, events: Object.keys(ENGAGELAB_EMAIL_EVENTS), httpsOnly: false },
  // Octopush asks receivers to answer in about 1 s; a callback's own `timeout` overrides it.
  octopush: { defaultTimeoutMs: 1000, events: OCTOPUSH_EVENTS, httpsOnly: false },
  // Whispir waits up to 60 s for an answer.
  whispir: { defaultTimeoutMs: 60_000, events: WHISPIR_EVENTS, httpsOnly: false },
  // Its channel limits the events (checked with its other settings).
  template: { defaultTimeoutMs: 15_000, events: null, httpsOnly: false },
};

export function isFormat(f: string): f is Format {
  return (FORMATS as readonly string[]).includes(f);
}

/**
 * The HTTP request a delivery sends: a pure function of (event, callback, time). The callback's static
 * headers go first so a format's own headers (signature, content type) cannot be overridden by them.
 */
export function renderRequest(event: RenderEvent, cb: Callback, now: number): RenderedRequest {
  switch (cb.format) {
    case 'engagelab':
      return renderEngagelab([event], cb, now);
    case 'engagelab-email':
      return renderEngagelabEmail(event, cb, now);
    case 'octopush':
      return renderOctopush(event, cb, now);
    case 'whispir':
      return renderWhispir(event, cb, now);
    case 'template':
      return renderTemplate(event, cb, now);
    default: {
      const body = renderStandardBody(event.type, event.createdAt, event.dataJson === undefined ? event.data : undefined, event.dataJson);
      const headers: Record<string, string> = { 'user-agent': USER_AGENT, ...cb.headers };
      Object.assign(headers, standardHeaders(liveSecrets(cb, now), event.id, Math.floor(now / 1000), body));
      return { method: cb.method, url: cb.url, headers, body };
    }
  }
}

/** EngageLab rows per request when the callback sets no `max_rows`. */
export const DEFAULT_MAX_ROWS = 50;

/** How many due deliveries of this callback may share one request (1: one request each). */
export function batchLimit(cb: Callback): number {
  return cb.format === 'engagelab' ? ((cb.settings.max_rows as number | undefined) ?? DEFAULT_MAX_ROWS) : 1;
}

/**
 * One request for several events of one callback, for formats whose envelope carries many
 * (EngageLab's `{total, rows}`); the others render one event per request.
 */
export function renderBatch(events: readonly RenderEvent[], cb: Callback, now: number): RenderedRequest {
  if (events.length === 1) return renderRequest(events[0]!, cb, now);
  if (cb.format !== 'engagelab') throw new Error(`format ${cb.format} does not batch`);
  return renderEngagelab(events, cb, now);
}

/**
 * The URL check(s) of a callback (`POST /v1/callbacks/{id}/refresh`): one request per distinct URL.
 * engagelab and engagelab-email: a signed POST of `{}` (200 / 200 or 204 within 3 s); whispir: a GET
 * with the key that must answer 200; standard and octopush: a HEAD that must get any answer below 500;
 * template: its method (no body) to its URL rendered for a sample event, any answer below 500.
 */
export function checkRequests(cb: Callback, now: number): CheckRequest[] {
  switch (cb.format) {
    case 'engagelab':
      return [checkEngagelab(cb, now)];
    case 'engagelab-email':
      return [checkEngagelabEmail(cb, now)];
    case 'whispir':
      return [checkWhispir(cb, now)];
    case 'octopush':
      return octopushUrls(cb).map((u) => checkByHead(u, cb));
    case 'template':
      return [checkTemplate(cb, now)];
    default:
      return [checkByHead(cb.url, cb)];
  }
}
