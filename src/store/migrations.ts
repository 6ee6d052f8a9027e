import { sql, type ColumnDefinitionBuilder, type Kysely, type Migration } from 'kysely';
import type { Capabilities } from './capabilities.js';
import { newId } from '../lib/ids.js';

/** Percent of a deliveries page PostgreSQL fills with new rows (see 0005). */
export const DELIVERIES_FILLFACTOR = 50;

/**
 * Append-only, ordered migrations. Never edit one that has shipped: add the next. Each starts with a
 * one-line reason. Kysely's Migrator runs them under its lock (an advisory lock on PostgreSQL).
 */
export function migrations(caps: Capabilities): Record<string, Migration> {
  const serial = caps.serialPrimaryKey;
  // SQLite's INTEGER PRIMARY KEY needs AUTOINCREMENT so ids are never reused; bigserial already is.
  const serialKey = (c: ColumnDefinitionBuilder) => (serial === 'integer' ? c.primaryKey().autoIncrement() : c.primaryKey());
  return {
    // 0001: accounts, credentials, callbacks, events, the delivery queue and its attempts.
    '0001_core': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('accounts')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('admin_email', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('api_users')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull().unique())
          .addColumn('key_hash', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('callbacks')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('api_user', 'text')
          .addColumn('title', 'text', (c) => c.notNull())
          .addColumn('url', 'text', (c) => c.notNull())
          .addColumn('format', 'text', (c) => c.notNull())
          .addColumn('method', 'text', (c) => c.notNull())
          .addColumn('events', 'text', (c) => c.notNull())
          .addColumn('headers', 'text', (c) => c.notNull())
          .addColumn('settings', 'text', (c) => c.notNull())
          .addColumn('secret', 'text', (c) => c.notNull())
          .addColumn('previous_secret', 'text')
          .addColumn('previous_secret_expires_at', 'bigint')
          .addColumn('timeout_ms', 'integer', (c) => c.notNull())
          .addColumn('enabled', 'integer', (c) => c.notNull())
          .addColumn('disabled_reason', 'text')
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('status_checked_at', 'bigint')
          .addColumn('status_reason', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('callbacks_account').on('callbacks').columns(['account_id', 'created_at']).execute();
        await db.schema
          .createTable('events')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('api_user', 'text')
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('data', 'text', (c) => c.notNull())
          .addColumn('resource_id', 'text')
          .addColumn('callback_profile_id', 'text')
          .addColumn('custom_args', 'text')
          .addColumn('idempotency_key', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('events_idempotency')
          .on('events')
          .columns(['account_id', 'idempotency_key'])
          .unique()
          .where(sql.ref('idempotency_key'), 'is not', null)
          .execute();
        await db.schema
          .createTable('deliveries')
          .addColumn('id', serial, serialKey)
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('event_id', 'text', (c) => c.notNull())
          .addColumn('callback_id', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull())
          .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
          .addColumn('lease_owner', 'text')
          .addColumn('ordering_key', 'text')
          .addColumn('last_status', 'integer')
          .addColumn('last_error', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addColumn('completed_at', 'bigint')
          .execute();
        // The queue's one hot index: only owed rows, per callback in due order (claims are per callback,
        // so a callback with a huge backlog is never scanned past to reach the others).
        await db.schema
          .createIndex('deliveries_due')
          .on('deliveries')
          .columns(['callback_id', 'next_attempt_at'])
          .where(sql.ref('state'), '=', 'pending')
          .execute();
        // Without `state`: a state change (every attempt) then leaves this index alone; per-callback admin
        // operations (hold, release, recover, list) read the callback's rows and filter.
        await db.schema.createIndex('deliveries_callback').on('deliveries').columns(['callback_id', 'id']).execute();
        await db.schema.createIndex('deliveries_account').on('deliveries').columns(['account_id', 'id']).execute();
        await db.schema.createIndex('deliveries_event').on('deliveries').columns(['event_id']).execute();
        await db.schema
          .createTable('attempts')
          .addColumn('id', serial, serialKey)
          .addColumn('delivery_id', 'bigint')
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('callback_id', 'text', (c) => c.notNull())
          .addColumn('event_id', 'text')
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('attempt', 'integer', (c) => c.notNull())
          .addColumn('started_at', 'bigint', (c) => c.notNull())
          .addColumn('duration_ms', 'integer', (c) => c.notNull())
          .addColumn('request_method', 'text', (c) => c.notNull())
          .addColumn('request_url', 'text', (c) => c.notNull())
          .addColumn('request_headers', 'text', (c) => c.notNull())
          .addColumn('request_body', 'text')
          .addColumn('response_status', 'integer')
          .addColumn('response_headers', 'text')
          .addColumn('response_body', 'text')
          .addColumn('error_class', 'text')
          .addColumn('error_message', 'text')
          .addColumn('outcome', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('attempts_delivery').on('attempts').columns(['delivery_id']).execute();
        await db.schema.createIndex('attempts_callback').on('attempts').columns(['callback_id', 'started_at']).execute();
        await db.schema
          .createTable('scheduler_state')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('value', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
      },
    },
    // 0002: failure episodes, notices sent, notification settings, alert rules and callback reports.
    '0002_notify': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('callback_health')
          .addColumn('callback_id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('failing_since', 'bigint')
          .addColumn('last_failure_at', 'bigint')
          .addColumn('last_error', 'text')
          .addColumn('last_success_at', 'bigint')
          .addColumn('exhausted_count', 'integer', (c) => c.notNull())
          .addColumn('failure_noticed', 'integer', (c) => c.notNull())
          .addColumn('last_notice_at', 'bigint')
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('callback_health_failing').on('callback_health').columns(['failing_since']).execute();
        await db.schema
          .createTable('notices')
          .addColumn('id', serial, serialKey)
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('callback_id', 'text')
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('channel', 'text', (c) => c.notNull())
          .addColumn('recipient', 'text')
          .addColumn('subject', 'text', (c) => c.notNull())
          .addColumn('body', 'text', (c) => c.notNull())
          .addColumn('delivered', 'integer', (c) => c.notNull())
          .addColumn('error', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('notices_account').on('notices').columns(['account_id', 'id']).execute();
        await db.schema
          .createTable('callback_notifications')
          .addColumn('callback_id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('emails', 'text', (c) => c.notNull())
          .addColumn('telegram_chat_ids', 'text', (c) => c.notNull())
          .addColumn('telegram_bot_token', 'text')
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('account_settings')
          .addColumn('account_id', 'text', (c) => c.primaryKey())
          .addColumn('telegram_bot_token', 'text')
          .addColumn('telegram_chat_ids', 'text', (c) => c.notNull())
          .addColumn('report_frequency', 'text', (c) => c.notNull())
          .addColumn('report_emails', 'text', (c) => c.notNull())
          .addColumn('report_next_at', 'bigint')
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('account_settings_report').on('account_settings').columns(['report_next_at']).execute();
        await db.schema
          .createTable('alert_rules')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('threshold', 'double precision', (c) => c.notNull())
          .addColumn('window_ms', 'bigint', (c) => c.notNull())
          .addColumn('min_sent', 'integer', (c) => c.notNull())
          .addColumn('cooldown_ms', 'bigint', (c) => c.notNull())
          .addColumn('emails', 'text', (c) => c.notNull())
          .addColumn('telegram_chat_ids', 'text', (c) => c.notNull())
          .addColumn('emit_event', 'integer', (c) => c.notNull())
          .addColumn('enabled', 'integer', (c) => c.notNull())
          .addColumn('last_fired_at', 'bigint')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('alert_rules_account').on('alert_rules').columns(['account_id', 'created_at']).execute();
        await db.schema
          .createTable('otp_tracking')
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('message_id', 'text', (c) => c.notNull())
          .addColumn('sent_at', 'bigint', (c) => c.notNull())
          .addColumn('verified_at', 'bigint')
          .addColumn('timeout_alerted', 'integer', (c) => c.notNull())
          .addPrimaryKeyConstraint('otp_tracking_pk', ['account_id', 'message_id'])
          .execute();
        await db.schema.createIndex('otp_tracking_sent').on('otp_tracking').columns(['account_id', 'sent_at']).execute();
        await db.schema
          .createTable('report_runs')
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('frequency', 'text', (c) => c.notNull())
          .addColumn('period_start', 'bigint', (c) => c.notNull())
          .addColumn('period_end', 'bigint', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('tries', 'integer', (c) => c.notNull())
          .addColumn('error', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('report_runs_pk', ['account_id', 'frequency', 'period_start'])
          .execute();
      },
    },
    // 0003: Whispir lets a customer mark failed calls of a callback as handled.
    '0003_formats': {
      async up(db: Kysely<any>) {
        await db.schema.alterTable('attempts').addColumn('handled', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      },
    },
    // 0004: callback profiles (format template) are listed by channel.
    '0004_profiles': {
      async up(db: Kysely<any>) {
        await db.schema.alterTable('callbacks').addColumn('channel', 'text').execute();
      },
    },
    // 0005: a lease's end in a column of its own, which no index holds (it was next_attempt_at,
    // which the queue index holds: every claim rewrote the delivery's index entries).
    '0005_lease_until': {
      async up(db: Kysely<any>) {
        await db.schema.alterTable('deliveries').addColumn('lease_until', 'bigint').execute();
        // Leases taken before: their end was next_attempt_at; the claim time (updated_at) becomes the due time again.
        await db
          .updateTable('deliveries')
          .set({ lease_until: sql.ref('next_attempt_at'), next_attempt_at: sql.ref('updated_at') })
          .where('state', '=', 'pending')
          .where('lease_owner', 'is not', null)
          .execute();
        // PostgreSQL writes an updated row anew, on the same page (heap-only, no new index entries)
        // only where the page has room: a claim updates every row of a page at once, so pages are
        // filled half, leaving room for each row's leased version. (Pages written from now on.)
        if (caps.fillFactor) await sql`alter table deliveries set (fillfactor = ${sql.lit(DELIVERIES_FILLFACTOR)})`.execute(db);
      },
    },
    // 0006: retention — finished deliveries and old events are purged; a per-account period, and the
    // indexes that find what is due for purging without reading the rest.
    '0006_retention': {
      async up(db: Kysely<any>) {
        await db.schema.alterTable('account_settings').addColumn('retention_days', 'integer').execute();
        // Only finished deliveries have completed_at: owed ones are never in it, and it changes at
        // most once per delivery (when it finishes), not on every claim or retry.
        await db.schema
          .createIndex('deliveries_finished')
          .on('deliveries')
          .columns(['account_id', 'completed_at'])
          .where(sql.ref('completed_at'), 'is not', null)
          .execute();
        // Events that never had a delivery are found by age; id orders events of the same millisecond.
        await db.schema.createIndex('events_account_created').on('events').columns(['account_id', 'created_at', 'id']).execute();
      },
    },
    // 0007: notice targets are rows (channel, address), not a column per channel, so a new channel
    // (Slack, webhook) needs no migration; the e-mail and Telegram targets stored so far are moved in.
    '0007_notice_targets': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('notice_targets')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('owner', 'text', (c) => c.notNull())
          .addColumn('owner_id', 'text', (c) => c.notNull())
          .addColumn('channel', 'text', (c) => c.notNull())
          .addColumn('address', 'text', (c) => c.notNull())
          .addColumn('address_secret', 'integer', (c) => c.notNull())
          .addColumn('secret', 'text')
          .addColumn('position', 'integer', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('notice_targets_owner').on('notice_targets').columns(['owner', 'owner_id']).execute();
        const lists = (json: unknown): string[] => {
          try {
            const v = JSON.parse(String(json)) as unknown;
            return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
          } catch {
            return [];
          }
        };
        const sources = [
          { table: 'callback_notifications', owner: 'callback', key: 'callback_id', columns: { emails: 'email', telegram_chat_ids: 'telegram' } },
          { table: 'account_settings', owner: 'account', key: 'account_id', columns: { telegram_chat_ids: 'telegram' } },
          { table: 'alert_rules', owner: 'alert_rule', key: 'id', columns: { emails: 'email', telegram_chat_ids: 'telegram' } },
        ] as const;
        for (const src of sources) {
          const rows = await db.selectFrom(src.table).selectAll().execute();
          const targets = rows.flatMap((row: Record<string, unknown>) =>
            Object.entries(src.columns)
              .flatMap(([column, channel]) => lists(row[column]).map((address) => ({ channel, address })))
              .map(({ channel, address }, position) => ({
                id: newId('ntg'),
                account_id: row.account_id,
                owner: src.owner,
                owner_id: row[src.key],
                channel,
                address,
                address_secret: 0,
                secret: null,
                position,
                created_at: Number(row.updated_at ?? 0),
              })),
          );
          for (let i = 0; i < targets.length; i += 500) await db.insertInto('notice_targets').values(targets.slice(i, i + 500)).execute();
          // One column dropped per statement: SQLite takes no list.
          for (const column of Object.keys(src.columns)) await db.schema.alterTable(src.table).dropColumn(column).execute();
        }
      },
    },
    // 0008: the EngageLab e-mail WebHooks API answers integer ids: one per callback it shows, never
    // reused (AUTOINCREMENT / bigserial); the callbacks of that format get theirs now, others when shown.
    '0008_webhook_ids': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('webhook_ids')
          .addColumn('id', serial, serialKey)
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('callback_id', 'text', (c) => c.notNull().unique())
          .execute();
        await db
          .insertInto('webhook_ids')
          .columns(['account_id', 'callback_id'])
          .expression(db.selectFrom('callbacks').select(['account_id', 'id']).where('format', '=', 'engagelab-email').orderBy('created_at').orderBy('id'))
          .execute();
      },
    },
    // 0009: an idempotency key's request digest, so reusing the key for another request is refused.
    '0009_idempotency_digest': {
      async up(db: Kysely<any>) {
        await db.schema.alterTable('events').addColumn('idempotency_digest', 'text').execute();
      },
    },
    // 0010: dashboard sign-in: a session is a random token (only its SHA-256 stored) standing for an
    // api user until it expires, is signed out, or the user's key is revoked or rotated.
    '0010_sessions': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('sessions')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('api_user_id', 'text', (c) => c.notNull())
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('csrf_token', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('sessions_api_user').on('sessions').columns(['api_user_id']).execute();
        await db.schema.createIndex('sessions_expires').on('sessions').columns(['expires_at']).execute();
        // A revoked api user stays listed (who it was, when it went) but authenticates no more.
        await db.schema.alterTable('api_users').addColumn('revoked_at', 'bigint').execute();
        await db.schema.alterTable('api_users').addColumn('last_used_at', 'bigint').execute();
      },
    },
    // 0011: the dashboard's lists and statistics: events by type or resource id newest first,
    // an account's deliveries by state, a callback's finished deliveries by completion time.
    '0011_dashboard_indexes': {
      async up(db: Kysely<any>) {
        await db.schema.createIndex('events_account_type').on('events').columns(['account_id', 'type', 'created_at', 'id']).execute();
        await db.schema
          .createIndex('events_account_resource')
          .on('events')
          .columns(['account_id', 'resource_id', 'created_at', 'id'])
          .where(sql.ref('resource_id'), 'is not', null)
          .execute();
      },
    },
    // 0012: statistics read finished deliveries by completion time per account and per callback,
    // from the index alone (callback_id and state in it); held ones from a small index of their own.
    '0012_stats_indexes': {
      async up(db: Kysely<any>) {
        // deliveries_finished (0006) again, with callback_id and state: one index for retention and statistics.
        await db.schema.dropIndex('deliveries_finished').execute();
        await db.schema
          .createIndex('deliveries_finished')
          .on('deliveries')
          .columns(['account_id', 'completed_at', 'callback_id', 'state'])
          .where(sql.ref('completed_at'), 'is not', null)
          .execute();
        await db.schema
          .createIndex('deliveries_callback_finished')
          .on('deliveries')
          .columns(['callback_id', 'completed_at', 'state'])
          .where(sql.ref('completed_at'), 'is not', null)
          .execute();
        // Held deliveries are few and change state rarely (disable, enable): this index costs little.
        await db.schema.createIndex('deliveries_held').on('deliveries').columns(['account_id', 'callback_id']).where(sql.ref('state'), '=', 'held').execute();
      },
    },
    // 0013: the inbound gateway: sources (a vendor's callbacks coming in at /inbound/{token}) and the raw
    // requests they received, kept (subject to retention) with what each became.
    '0013_sources': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('sources')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('title', 'text', (c) => c.notNull())
          .addColumn('format', 'text', (c) => c.notNull())
          .addColumn('settings', 'text', (c) => c.notNull())
          // The token is a credential: sealed at rest; requests find their source by its SHA-256.
          .addColumn('token', 'text', (c) => c.notNull())
          .addColumn('token_digest', 'text', (c) => c.notNull().unique())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('sources_account').on('sources').columns(['account_id', 'created_at']).execute();
        await db.schema
          .createTable('inbound_requests')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('source_id', 'text', (c) => c.notNull())
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('received_at', 'bigint', (c) => c.notNull())
          .addColumn('method', 'text', (c) => c.notNull())
          .addColumn('headers', 'text', (c) => c.notNull())
          .addColumn('query', 'text', (c) => c.notNull())
          .addColumn('body', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('event_ids', 'text')
          .addColumn('error', 'text')
          .addColumn('mapped_at', 'bigint')
          .execute();
        // A source's requests newest first (the API's list).
        await db.schema.createIndex('inbound_requests_source').on('inbound_requests').columns(['source_id', 'received_at', 'id']).execute();
        // The retention purge, per account by age.
        await db.schema.createIndex('inbound_requests_account').on('inbound_requests').columns(['account_id', 'received_at']).execute();
        // The sweep of requests stored but not yet mapped (few: only those in flight or left by a crash).
        await db.schema
          .createIndex('inbound_requests_stored')
          .on('inbound_requests')
          .columns(['received_at'])
          .where(sql.ref('state'), '=', 'stored')
          .execute();
      },
    },
    // 0014: where processes share the database, a counter that every change to callbacks moves (a
    // statement trigger, so no write path can forget it): ingest reads it before routing, so an event
    // sent after a callback's create was answered is routed to it whichever process created it.
    '0014_registry_version': {
      async up(db: Kysely<any>) {
        if (!caps.multiProcess) return;
        await db.schema
          .createTable('registry_version')
          .addColumn('id', 'integer', (c) => c.primaryKey())
          .addColumn('version', 'bigint', (c) => c.notNull())
          .execute();
        await db.insertInto('registry_version').values({ id: 1, version: 0 }).execute();
        // `set search_path from current`: the function updates this schema's counter whoever calls it.
        await sql`create function bump_registry_version() returns trigger language plpgsql set search_path from current as $$
          begin
            update registry_version set version = version + 1 where id = 1;
            return null;
          end $$`.execute(db);
        await sql`create trigger callbacks_registry_version after insert or update or delete or truncate on callbacks
          for each statement execute function bump_registry_version()`.execute(db);
      },
    },
    // 0015: hourly rollups of finished deliveries and their attempts' latency, per account, callback and
    // hour, written by the scheduler for closed hours (src/rollups.ts): statistics read them instead of
    // the history, and aggregate live only the hours not rolled up yet (the current one).
    '0015_delivery_rollups': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('delivery_rollups')
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('hour_start', 'bigint', (c) => c.notNull())
          .addColumn('callback_id', 'text', (c) => c.notNull())
          .addColumn('delivered', 'integer', (c) => c.notNull())
          .addColumn('failed', 'integer', (c) => c.notNull())
          .addColumn('latency_count', 'integer', (c) => c.notNull())
          .addColumn('latency_sum_ms', 'bigint', (c) => c.notNull())
          .addColumn('latency_max_ms', 'integer')
          .addColumn('latency_histogram', 'text', (c) => c.notNull())
          // An account's hours in order (the overview, retention), each hour's callbacks together.
          .addPrimaryKeyConstraint('delivery_rollups_pkey', ['account_id', 'hour_start', 'callback_id'])
          .execute();
        // One callback's hours (its statistics page).
        await db.schema.createIndex('delivery_rollups_callback').on('delivery_rollups').columns(['callback_id', 'hour_start']).execute();
        // Per callback, the sums of its rolled-up hours over the overview's windows (rebuilt by the job
        // after each run): the overview reads one row per callback instead of one per callback and hour.
        await db.schema
          .createTable('delivery_rollup_totals')
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('callback_id', 'text', (c) => c.notNull())
          .addColumn('delivered_24h', 'integer', (c) => c.notNull())
          .addColumn('failed_24h', 'integer', (c) => c.notNull())
          .addColumn('delivered_7d', 'integer', (c) => c.notNull())
          .addColumn('failed_7d', 'integer', (c) => c.notNull())
          .addPrimaryKeyConstraint('delivery_rollup_totals_pkey', ['account_id', 'callback_id'])
          .execute();
      },
    },
  };
}
