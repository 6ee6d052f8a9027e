import type { Callback } from '../routing/callback.js';
import { liveSecrets } from '../routing/callback.js';
import { renderStandardBody, standardHeaders } from './standard.js';

/** The event as the formats see it. */
export interface RenderEvent {
  id: string;
  type: string;
  createdAt: number;
  data: unknown;
  resourceId: string | null;
  customArgs: Record<string, unknown> | null;
}

/** What counts as success for a callback: by default any 2xx. */
export interface SuccessRule {
  /** Accepted status codes; default 200–299. */
  statuses?: readonly number[] | undefined;
  /** A substring the response body must contain. */
  bodyContains?: string | undefined;
}

export interface RenderedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  /** What counts as success for this request; default any 2xx. */
  success?: SuccessRule;
}

export const FORMATS = ['standard'] as const;
export type Format = (typeof FORMATS)[number];

const USER_AGENT = 'callback-relay/0.1';

/**
 * The HTTP request a delivery sends: a pure function of (event, callback, time). The callback's static
 * headers go first so a format's own headers (signature, content type) cannot be overridden by them.
 */
export function renderRequest(event: RenderEvent, cb: Callback, now: number): RenderedRequest {
  const body = renderStandardBody(event.type, event.createdAt, event.data);
  const headers: Record<string, string> = { 'user-agent': USER_AGENT, ...cb.headers };
  Object.assign(headers, standardHeaders(liveSecrets(cb, now), event.id, Math.floor(now / 1000), body));
  return { method: cb.method, url: cb.url, headers, body };
}
