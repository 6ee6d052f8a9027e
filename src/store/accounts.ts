import type { Db } from './db.js';
import type { AccountRow, ApiUserRow } from './schema.js';

export async function insertAccount(db: Db, row: AccountRow): Promise<void> {
  await db.insertInto('accounts').values(row).execute();
}

export async function findAccount(db: Db, id: string): Promise<AccountRow | undefined> {
  return db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function insertApiUser(db: Db, row: ApiUserRow): Promise<void> {
  await db.insertInto('api_users').values(row).execute();
}

export async function findApiUserByName(db: Db, name: string): Promise<ApiUserRow | undefined> {
  return db.selectFrom('api_users').selectAll().where('name', '=', name).executeTakeFirst();
}

export async function countApiUsers(db: Db): Promise<number> {
  const row = await db.selectFrom('api_users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function updateAccountAdminEmail(db: Db, id: string, adminEmail: string | null): Promise<boolean> {
  const res = await db.updateTable('accounts').set({ admin_email: adminEmail }).where('id', '=', id).executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}
