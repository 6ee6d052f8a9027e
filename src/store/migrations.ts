import { sql, type ColumnDefinitionBuilder, type Kysely, type Migration } from 'kysely';
import type { Capabilities } from './capabilities.js';

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
        // The queue's one hot index: only owed rows, in due order.
        await db.schema
          .createIndex('deliveries_due')
          .on('deliveries')
          .columns(['next_attempt_at'])
          .where(sql.ref('state'), '=', 'pending')
          .execute();
        await db.schema.createIndex('deliveries_callback').on('deliveries').columns(['callback_id', 'state', 'id']).execute();
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
  };
}
