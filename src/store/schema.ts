import type { Generated, Insertable, Selectable } from 'kysely';

/**
 * The database schema as Kysely sees it. Times are integer milliseconds since the epoch and flags are
 * 0/1 integers on every backend; structured values are JSON text. One shape for SQLite and PostgreSQL.
 */
export interface Database {
  accounts: AccountsTable;
  api_users: ApiUsersTable;
  callbacks: CallbacksTable;
  events: EventsTable;
  deliveries: DeliveriesTable;
  attempts: AttemptsTable;
  scheduler_state: SchedulerStateTable;
}

export interface AccountsTable {
  id: string;
  name: string;
  admin_email: string | null;
  created_at: number;
}

export interface ApiUsersTable {
  id: string;
  account_id: string;
  name: string;
  key_hash: string;
  created_at: number;
}

export interface CallbacksTable {
  id: string;
  account_id: string;
  /** When set (an api user's name), only events ingested with that api user's credentials reach the callback. */
  api_user: string | null;
  title: string;
  url: string;
  format: string;
  method: string;
  /** JSON array of event type names; empty means every event. */
  events: string;
  /** JSON object of static headers. */
  headers: string;
  /** JSON object of format- and feature-specific settings (templates, auth, encryption, …). */
  settings: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: number | null;
  timeout_ms: number;
  enabled: number;
  disabled_reason: string | null;
  status: string;
  status_checked_at: number | null;
  status_reason: string | null;
  created_at: number;
  updated_at: number;
}

export interface EventsTable {
  id: string;
  account_id: string;
  api_user: string | null;
  type: string;
  /** JSON. */
  data: string;
  resource_id: string | null;
  callback_profile_id: string | null;
  /** JSON object or null. */
  custom_args: string | null;
  idempotency_key: string | null;
  created_at: number;
}

export type DeliveryState = 'pending' | 'delivered' | 'failed' | 'held';

export interface DeliveriesTable {
  id: Generated<number>;
  account_id: string;
  event_id: string;
  callback_id: string;
  /**
   * pending: owed, due at next_attempt_at. A claimed delivery stays pending with lease_owner set and
   * next_attempt_at moved to the lease expiry, so a dead worker's deliveries fall due again by
   * themselves. held: its callback is disabled. delivered / failed: final.
   */
  state: DeliveryState;
  attempts: number;
  next_attempt_at: number;
  lease_owner: string | null;
  /** Room for per-key ordering: events with the same key reach a callback in ingest order. */
  ordering_key: string | null;
  last_status: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  completed_at: number | null;
}

export interface AttemptsTable {
  id: Generated<number>;
  delivery_id: number | null;
  account_id: string;
  callback_id: string;
  event_id: string | null;
  /** delivery | test */
  kind: string;
  attempt: number;
  started_at: number;
  duration_ms: number;
  request_method: string;
  request_url: string;
  /** JSON, secrets redacted. */
  request_headers: string;
  request_body: string | null;
  response_status: number | null;
  /** JSON. */
  response_headers: string | null;
  response_body: string | null;
  error_class: string | null;
  error_message: string | null;
  /** success | retryable | permanent */
  outcome: string;
}

export interface SchedulerStateTable {
  name: string;
  value: string;
  updated_at: number;
}

export type AccountRow = Selectable<AccountsTable>;
export type ApiUserRow = Selectable<ApiUsersTable>;
export type CallbackRow = Selectable<CallbacksTable>;
export type NewCallback = Insertable<CallbacksTable>;
export type EventRow = Selectable<EventsTable>;
export type NewEvent = Insertable<EventsTable>;
export type DeliveryRow = Selectable<DeliveriesTable>;
export type NewDelivery = Insertable<DeliveriesTable>;
export type AttemptRow = Selectable<AttemptsTable>;
export type NewAttempt = Insertable<AttemptsTable>;
