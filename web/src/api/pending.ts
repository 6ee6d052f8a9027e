/**
 * Operations of the api18 contract not yet in the relay's OpenAPI document (so not yet in
 * schema.d.ts), typed by hand in openapi-typescript's shape. Delete each one as soon as
 * `npm run gen:api` brings it into schema.d.ts.
 */
type Json<T> = { content: { 'application/json': T } };
type Err = Json<{ code: string; message: string; field?: string }>;
type Op<Body, Res, Status extends number = 200, Path = never, Query = never> = {
  parameters: ([Path] extends [never] ? { path?: never } : { path: Path }) & { query?: Query; header?: never; cookie?: never };
  responses: { [S in Status]: Json<Res> } & { 401: Err; 403: Err; 404: Err; 422: Err };
} & ([Body] extends [never] ? { requestBody?: never } : { requestBody: Json<Body> });
type Counts = { delivered: number; failed: number };

export interface PendingPaths {
  '/v1/stats': {
    get: Op<
      never,
      {
        queue: { pending: number; due_now: number; oldest_due_age_seconds: number | null; in_flight: number; held: number };
        last_24h: Counts;
        callbacks: { callback_id: string; title: string; delivered_24h: number; failed_24h: number; pending: number; delivered_7d: number; failed_7d: number }[];
      }
    >;
  };
  '/v1/callbacks/{id}/stats': {
    get: Op<
      never,
      {
        callback_id: string;
        window: '24h' | '7d';
        bucket_seconds: number;
        totals: Counts & { pending: number; held: number; success_rate: number | null; latency_p50_ms: number | null; latency_p95_ms: number | null };
        buckets: (Counts & { start: string; success_rate: number | null; latency_avg_ms: number | null })[];
      },
      200,
      { id: string },
      { window?: '24h' | '7d' }
    >;
  };
}

/**
 * GET /v1/deliveries and /v1/deliveries/{id} declare no 200 schema in the OpenAPI document yet, so
 * their answers are typed here, from src/api/routes/deliveries.ts (deliveryJson, attemptJson).
 */
export interface DeliveryRow {
  id: number;
  event_id: string;
  event_type: string;
  callback_id: string;
  state: 'pending' | 'delivered' | 'failed' | 'held';
  in_flight: boolean;
  attempts: number;
  next_attempt_at: string | null;
  last_status: number | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
}
export interface DeliveryPage {
  data: DeliveryRow[];
  total: number;
  offset: number;
  limit: number;
}
