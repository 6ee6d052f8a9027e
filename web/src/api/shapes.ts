/**
 * Answers of routes the relay serves but whose OpenAPI document gives no response schema yet
 * (GET /v1/deliveries, /v1/deliveries/{id}, /v1/events/{id}, POST /v1/deliveries/{id}/retry),
 * typed by hand from src/api/routes/deliveries.ts and events.ts. Delete a type once schema.d.ts
 * carries it.
 */

import type { DeliveryRow, DeliveryPage as ListedPage } from './pending';

/** One delivery as GET /v1/deliveries lists it (typed in pending.ts). */
export type Delivery = DeliveryRow;
/** `total_exact` false: `total` is a bound (offset + 10,000), there are more. */
export type DeliveryPage = ListedPage & { total_exact?: boolean };
export type DeliveryState = Delivery['state'];

export interface Attempt {
  id: number;
  attempt: number;
  kind: string;
  started_at: string;
  duration_ms: number | null;
  outcome: string;
  /** As sent; secrets are redacted by the relay before it stores them. */
  request: { method: string; url: string; headers: Record<string, string>; body: string | null };
  response: { status: number; headers: Record<string, string>; body: string | null } | null;
  error: { class: string; message: string | null } | null;
}

export interface DeliveryDetail extends Delivery {
  attempt_log: Attempt[];
}

export interface EventDetail {
  id: string;
  type: string;
  data: unknown;
  resource_id: string | null;
  callback_profile_id: string | null;
  custom_args: unknown;
  created_at: string;
  deliveries: Delivery[];
}

/**
 * `ok()` for a route whose answer the OpenAPI document leaves untyped: the caller names the shape.
 *
 * @example
 *   const page = await ok(untyped<DeliveryPage>(api.GET('/v1/deliveries', { params: { query } })));
 */
export function untyped<T>(call: Promise<{ data?: unknown; error?: unknown; response: Response }>): Promise<{ data?: T; error?: unknown; response: Response }> {
  return call as Promise<{ data?: T; error?: unknown; response: Response }>;
}
