import type { Db } from './db.js';
import { inSnapshot } from './snapshot.js';
import type { CallbackRow, CallbacksTable, NewCallback } from './schema.js';
import { sql, type Updateable } from 'kysely';
import { openCallback, sealCallback } from './sealing.js';

// Secrets are sealed on the way in and opened on the way out here (sealing.ts): callers see plain values.

export async function insertCallback(db: Db, row: NewCallback): Promise<void> {
  await db.insertInto('callbacks').values(sealCallback(row)).execute();
}

export async function findCallback(db: Db, accountId: string, id: string): Promise<CallbackRow | undefined> {
  const row = await db.selectFrom('callbacks').selectAll().where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
  return row && openCallback(row);
}

export interface CallbackFilter {
  title?: string | undefined;
  enabled?: boolean | undefined;
  format?: string | undefined;
  method?: string | undefined;
  channel?: string | undefined;
  /** Exactly this api-user scope (a name). */
  apiUser?: string | undefined;
  createdFrom?: number | undefined;
  createdTo?: number | undefined;
}

export async function listCallbacks(
  db: Db,
  accountId: string,
  filter: CallbackFilter,
  offset: number,
  limit: number,
): Promise<{ rows: CallbackRow[]; total: number }> {
  return inSnapshot(db, async (trx) => {
    let q = trx.selectFrom('callbacks').where('account_id', '=', accountId);
    if (filter.title !== undefined) {
      // Case-insensitive substring on every backend; ESCAPE makes % and _ literal (SQLite has no default escape).
      const pattern = `%${filter.title.replace(/[%_\\]/g, '\\$&')}%`;
      q = q.where(sql<boolean>`lower(${sql.ref('title')}) like lower(${pattern}) escape '\\'`);
    }
    if (filter.enabled !== undefined) q = q.where('enabled', '=', filter.enabled ? 1 : 0);
    if (filter.format !== undefined) q = q.where('format', '=', filter.format);
    if (filter.method !== undefined) q = q.where('method', '=', filter.method);
    if (filter.channel !== undefined) q = q.where('channel', '=', filter.channel);
    if (filter.apiUser !== undefined) q = q.where('api_user', '=', filter.apiUser);
    if (filter.createdFrom !== undefined) q = q.where('created_at', '>=', filter.createdFrom);
    if (filter.createdTo !== undefined) q = q.where('created_at', '<', filter.createdTo);
    const rows = await q.selectAll().orderBy('created_at').orderBy('id').offset(offset).limit(limit).execute();
    const total = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return { rows: rows.map(openCallback), total: Number(total.n) };
  });
}

/** One callback by id whatever its account: the routing cache's check of an id it does not know. */
export async function findCallbackById(db: Db, id: string): Promise<CallbackRow | undefined> {
  const row = await db.selectFrom('callbacks').selectAll().where('id', '=', id).executeTakeFirst();
  return row && openCallback(row);
}

/** Every callback of every account: the routing cache's source. */
export async function listAllCallbacks(db: Db): Promise<CallbackRow[]> {
  return (await db.selectFrom('callbacks').selectAll().execute()).map(openCallback);
}

/**
 * Turns a callback on or off unless it already is: true when this call changed it. Concurrent
 * disables (the scheduler's check, a worker's exhausted count, the API) change it once, so only one
 * of them announces it.
 */
export async function setCallbackEnabled(
  db: Db,
  accountId: string,
  id: string,
  enabled: boolean,
  disabledReason: string | null,
  now: number,
): Promise<boolean> {
  const res = await db
    .updateTable('callbacks')
    .set({ enabled: enabled ? 1 : 0, disabled_reason: disabledReason, updated_at: now })
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .where('enabled', '=', enabled ? 0 : 1)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

export async function updateCallback(
  db: Db,
  accountId: string,
  id: string,
  patch: Updateable<CallbacksTable>,
): Promise<boolean> {
  const res = await db
    .updateTable('callbacks')
    .set(sealCallback(patch))
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

export async function deleteCallback(db: Db, accountId: string, id: string): Promise<boolean> {
  const res = await db.deleteFrom('callbacks').where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

/**
 * Where processes share the database (PostgreSQL): a counter every change to the callbacks table
 * moves, in the same transaction (a trigger, migration 0014). One row read by primary key.
 */
export async function registryVersion(db: Db): Promise<string> {
  const row = await db.selectFrom('registry_version').select('version').where('id', '=', 1).executeTakeFirstOrThrow();
  return String(row.version);
}

/** Latest change time over all callbacks: lets other processes notice edits cheaply. */
export async function callbacksVersion(db: Db): Promise<string> {
  const row = await db
    .selectFrom('callbacks')
    .select((eb) => [eb.fn.max('updated_at').as('latest'), eb.fn.countAll<number>().as('n')])
    .executeTakeFirstOrThrow();
  return `${row.latest ?? 0}:${row.n}`;
}
