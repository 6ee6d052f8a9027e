import type { Insertable } from 'kysely';
import type { Db } from './db.js';
import type { AccountRow, ApiUserRow, ApiUsersTable } from './schema.js';

export async function insertAccount(db: Db, row: AccountRow): Promise<void> {
  await db.insertInto('accounts').values(row).execute();
}

export async function findAccount(db: Db, id: string): Promise<AccountRow | undefined> {
  return db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function insertApiUser(db: Db, row: Insertable<ApiUsersTable>): Promise<void> {
  await db.insertInto('api_users').values(row).execute();
}

/** The api user of that name, revoked or not (names are never reused). */
export async function findApiUserByName(db: Db, name: string): Promise<ApiUserRow | undefined> {
  return db.selectFrom('api_users').selectAll().where('name', '=', name).executeTakeFirst();
}

export async function countApiUsers(db: Db): Promise<number> {
  const row = await db.selectFrom('api_users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** An account's api users, oldest first, and how many there are. */
export async function listApiUsers(db: Db, accountId: string, offset: number, limit: number): Promise<{ rows: ApiUserRow[]; total: number }> {
  const rows = await db
    .selectFrom('api_users')
    .selectAll()
    .where('account_id', '=', accountId)
    .orderBy('created_at')
    .orderBy('id')
    .offset(offset)
    .limit(limit)
    .execute();
  const total = await db.selectFrom('api_users').select((eb) => eb.fn.countAll<number>().as('n')).where('account_id', '=', accountId).executeTakeFirstOrThrow();
  return { rows, total: Number(total.n) };
}

/** Every api user (of one account when given), oldest first: the CLI's list. */
export async function listAllApiUsers(db: Db, accountId?: string): Promise<ApiUserRow[]> {
  let q = db.selectFrom('api_users').selectAll().orderBy('created_at').orderBy('id');
  if (accountId !== undefined) q = q.where('account_id', '=', accountId);
  return q.execute();
}

/** Marks a live api user revoked; false when it was already. */
export async function revokeApiUser(db: Db, id: string, now: number): Promise<boolean> {
  const res = await db.updateTable('api_users').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** Replaces a live api user's key digest; false when it is revoked. */
export async function updateApiUserKey(db: Db, id: string, keyHash: string): Promise<boolean> {
  const res = await db.updateTable('api_users').set({ key_hash: keyHash }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

export async function touchApiUser(db: Db, id: string, now: number): Promise<void> {
  await db.updateTable('api_users').set({ last_used_at: now }).where('id', '=', id).execute();
}

export async function updateAccountAdminEmail(db: Db, id: string, adminEmail: string | null): Promise<boolean> {
  const res = await db.updateTable('accounts').set({ admin_email: adminEmail }).where('id', '=', id).executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}
