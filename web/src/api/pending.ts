/**
 * Operations of the api18 contract not yet in the relay's OpenAPI document (so not yet in
 * schema.d.ts), typed by hand in openapi-typescript's shape. Delete each one as soon as
 * `npm run gen:api` brings it into schema.d.ts.
 */
// Nothing of the api18 contract is pending any more: sessions and stats are in schema.d.ts.
export type PendingPaths = {};

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
  /** Counted up to offset + 10,000; beyond, that bound with total_exact false. */
  total: number;
  total_exact: boolean;
  offset: number;
  limit: number;
}
