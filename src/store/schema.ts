import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

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
  callback_health: CallbackHealthTable;
  notices: NoticesTable;
  callback_notifications: CallbackNotificationsTable;
  account_settings: AccountSettingsTable;
  notice_targets: NoticeTargetsTable;
  alert_rules: AlertRulesTable;
  otp_tracking: OtpTrackingTable;
  report_runs: ReportRunsTable;
  webhook_ids: WebhookIdsTable;
  /** PostgreSQL only (0014): moved by every change to callbacks. */
  registry_version: RegistryVersionTable;
  sources: SourcesTable;
  inbound_requests: InboundRequestsTable;
  sessions: SessionsTable;
  delivery_rollups: DeliveryRollupsTable;
  delivery_rollup_totals: DeliveryRollupTotalsTable;
}

/**
 * Per account, callback and closed hour (migration 0015, written by src/rollups.ts): deliveries that
 * finished delivered / failed in the hour (by completed_at), and the latency of delivery attempts
 * started in it: count, sum, maximum and a histogram over LATENCY_BOUNDS_MS (JSON array of counts).
 */
export interface DeliveryRollupsTable {
  account_id: string;
  hour_start: number;
  callback_id: string;
  delivered: number;
  failed: number;
  latency_count: number;
  latency_sum_ms: number;
  latency_max_ms: number | null;
  latency_histogram: string;
}

/**
 * Per account and callback (migration 0015): the sums of its rolled-up hours in the 23 (recent) and
 * 167 hours before the rollups' totals mark (src/store/rollups.ts rebuildRollupTotals).
 */
export interface DeliveryRollupTotalsTable {
  account_id: string;
  callback_id: string;
  delivered_24h: number;
  failed_24h: number;
  delivered_7d: number;
  failed_7d: number;
}

/** A source of inbound callbacks: a vendor posting to /inbound/{token} (migration 0013). */
export interface SourcesTable {
  id: string;
  account_id: string;
  title: string;
  /** The inbound format (src/inbound/registry.ts). */
  format: string;
  /** JSON object of the format's settings; its secrets sealed at rest (store/sealing.ts). */
  settings: string;
  /** The URL token, sealed at rest. */
  token: string;
  /** Hex SHA-256 of the token: how a request finds its source. */
  token_digest: string;
  created_at: number;
  updated_at: number;
}

/** One request received at /inbound/{token}, kept raw with what it became. */
export interface InboundRequestsTable {
  id: string;
  source_id: string;
  account_id: string;
  received_at: number;
  method: string;
  /** JSON object, credential headers redacted. */
  headers: string;
  /** The query string as received (without `?`), credentials redacted. */
  query: string;
  body: string;
  /** stored | mapped | unmapped | failed */
  state: string;
  /** JSON array of the event ids it became. */
  event_ids: string | null;
  error: string | null;
  mapped_at: number | null;
}

/** A dashboard session (migration 0010): `id` is the SHA-256 of the cookie's token, never the token. */
export interface SessionsTable {
  id: string;
  api_user_id: string;
  account_id: string;
  csrf_token: string;
  created_at: number;
  expires_at: number;
}

/** The integer id the EngageLab e-mail WebHooks API shows for a callback (migration 0008). */
export interface RegistryVersionTable {
  id: number;
  version: string | number;
}

export interface WebhookIdsTable {
  id: Generated<number>;
  account_id: string;
  callback_id: string;
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
  /** Set when the api user was revoked: it authenticates no more (migration 0010). */
  revoked_at: ColumnType<number | null, number | null | undefined, number | null>;
  /** When a session was last opened with it (sign-in), for the api-users list. */
  last_used_at: ColumnType<number | null, number | null | undefined, number | null>;
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
  /** template callbacks: none, sms, email, otp, whatsapp or system; null for the other formats. */
  channel: string | null;
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
  /** With a key: the digest of the request it came with, so a reuse with another request is told apart (migration 0009). */
  idempotency_digest: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: number;
}

export type DeliveryState = 'pending' | 'delivered' | 'failed' | 'held';

export interface DeliveriesTable {
  id: Generated<number>;
  account_id: string;
  event_id: string;
  callback_id: string;
  /**
   * pending: owed, due at next_attempt_at. A claimed delivery stays pending with lease_owner and
   * lease_until set (its next_attempt_at, already past, is left as it is), and falls due again by
   * itself when the lease runs out, so a dead worker's deliveries are not lost. held: its callback is
   * disabled. delivered / failed: final.
   */
  state: DeliveryState;
  attempts: number;
  next_attempt_at: number;
  lease_owner: string | null;
  /**
   * When the lease of lease_owner ends. No index holds it, nor lease_owner: claiming, renewing and
   * handing back a lease then rewrite no index entry (on PostgreSQL, a heap-only update).
   */
  lease_until: number | null;
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
  /** 1 once the customer marked the call handled (Whispir's calls API). */
  handled: Generated<number>;
}

export interface SchedulerStateTable {
  name: string;
  value: string;
  updated_at: number;
}

/** Per callback: the current failure episode (failing_since set while it lasts) and notice throttling. */
export interface CallbackHealthTable {
  callback_id: string;
  account_id: string;
  /** First failure since the last success; null while the callback is healthy. */
  failing_since: number | null;
  last_failure_at: number | null;
  last_error: string | null;
  last_success_at: number | null;
  /** Deliveries that used all their attempts during the current episode. */
  exhausted_count: number;
  /** 1 once a failure notice went out for the current episode (so its recovery is notified too). */
  failure_noticed: number;
  last_notice_at: number | null;
  updated_at: number;
}

/** Every notice sent (or tried): who, when, why, delivered or not. */
export interface NoticesTable {
  id: Generated<number>;
  account_id: string;
  callback_id: string | null;
  /** failure | recovery | disabled | alert | report */
  kind: string;
  /** A notice channel's name (src/notify/channels/): email, telegram, slack, webhook. */
  channel: string;
  /** The target as shown (an e-mail address, a chat id; a redacted form where the address is a secret); null when there was none. */
  recipient: string | null;
  subject: string;
  body: string;
  delivered: number;
  error: string | null;
  created_at: number;
}

export interface CallbackNotificationsTable {
  callback_id: string;
  account_id: string;
  /** Write-only; null: the account's bot. (Where notices go: notice_targets.) */
  telegram_bot_token: string | null;
  updated_at: number;
}

export interface AccountSettingsTable {
  account_id: string;
  telegram_bot_token: string | null;
  /** off | daily | weekly | monthly */
  report_frequency: string;
  /** JSON array; empty: the admin e-mail. */
  report_emails: string;
  /** Start of the next period to report (UTC); null while reports are off. */
  report_next_at: number | null;
  /** Days finished deliveries and old events are kept; 0: forever; null: the relay's RELAY_RETENTION. */
  retention_days: number | null;
  updated_at: number;
}

/**
 * Where notices go: one row per target (channel + address), owned by a callback, an account or an
 * alert rule. A new channel needs no column: its targets are rows like the others'.
 */
export interface NoticeTargetsTable {
  id: string;
  account_id: string;
  /** callback | account | alert_rule */
  owner: string;
  /** The callback's, account's or alert rule's id. */
  owner_id: string;
  channel: string;
  /** Sealed at rest when address_secret is 1 (a Slack webhook URL is a credential). */
  address: string;
  address_secret: number;
  /** A per-target secret made by the channel (the webhook channel's whsec_ signing secret); sealed at rest. */
  secret: string | null;
  /** Order of the owner's targets, as they were given. */
  position: number;
  created_at: number;
}

export interface AlertRulesTable {
  id: string;
  account_id: string;
  /** insufficient_balance | low_verification_rate | authentication_timeout */
  kind: string;
  /** Balance below which to alert, or the verification rate in percent. */
  threshold: number;
  /** Verification-rate window, or the authentication timeout. */
  window_ms: number;
  /** Fewer OTPs sent in the window than this: no verification-rate alert. */
  min_sent: number;
  cooldown_ms: number;
  /** 1: also ingest an `alert.*` event for the account (its callbacks may subscribe). */
  emit_event: number;
  enabled: number;
  last_fired_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface OtpTrackingTable {
  account_id: string;
  message_id: string;
  sent_at: number;
  verified_at: number | null;
  timeout_alerted: number;
}

export interface ReportRunsTable {
  account_id: string;
  frequency: string;
  period_start: number;
  period_end: number;
  /** sending | sent | failed */
  state: string;
  tries: number;
  error: string | null;
  created_at: number;
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
export type CallbackHealthRow = Selectable<CallbackHealthTable>;
export type NoticeRow = Selectable<NoticesTable>;
export type NewNotice = Insertable<NoticesTable>;
export type CallbackNotificationsRow = Selectable<CallbackNotificationsTable>;
export type AccountSettingsRow = Selectable<AccountSettingsTable>;
export type NoticeTargetRow = Selectable<NoticeTargetsTable>;
export type AlertRuleRow = Selectable<AlertRulesTable>;
export type ReportRunRow = Selectable<ReportRunsTable>;
export type SourceRow = Selectable<SourcesTable>;
export type InboundRequestRow = Selectable<InboundRequestsTable>;
export type NewInboundRequest = Insertable<InboundRequestsTable>;
export type SessionRow = Selectable<SessionsTable>;
