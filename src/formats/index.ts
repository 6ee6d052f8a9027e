import type { Callback } from '../routing/callback.js';
import { formatModule } from './registry.js';
import type { CheckRequest, RenderEvent, RenderedRequest } from './types.js';

export type { CheckRequest, RenderEvent, RenderedRequest, SuccessRule } from './types.js';
export { UnsupportedEventError } from './types.js';
export type { FormatModule } from './module.js';
export { FORMAT_MODULES, FORMATS, formatModule, isFormat } from './registry.js';

/**
 * The HTTP request a delivery sends: a pure function of (event, callback, time). The callback's static
 * headers go first so a format's own headers (signature, content type) cannot be overridden by them.
 */
export function renderRequest(event: RenderEvent, cb: Callback, now: number): RenderedRequest {
  return formatModule(cb.format).render(event, cb, now);
}

/** How many due deliveries of this callback may share one request (1: one request each). */
export function batchLimit(cb: Callback): number {
  return formatModule(cb.format).batch?.limit(cb) ?? 1;
}

/**
 * One request for several events of one callback, for formats whose envelope carries many
 * (EngageLab's `{total, rows}`); the others render one event per request.
 */
export function renderBatch(events: readonly RenderEvent[], cb: Callback, now: number): RenderedRequest {
  if (events.length === 1) return renderRequest(events[0]!, cb, now);
  const batch = formatModule(cb.format).batch;
  if (!batch) throw new Error(`format ${cb.format} does not batch`);
  return batch.render(events, cb, now);
}

/** The URL check(s) of a callback (`POST /v1/callbacks/{id}/refresh`): each format's own (see docs/formats). */
export function checkRequests(cb: Callback, now: number): CheckRequest[] {
  return formatModule(cb.format).check(cb, now);
}
