import type { Db } from './db.js';
import type { AttemptRow, NewAttempt } from './schema.js';

export async function insertAttempt(db: Db, row: NewAttempt): Promise<number> {
  const res = await db.insertInto('attempts').values(row).returning('id').executeTakeFirstOrThrow();
  return res.id;
}

export async function listAttemptsForDelivery(db: Db, accountId: string, deliveryId: number): Promise<AttemptRow[]> {
  return db
    .selectFrom('attempts')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('delivery_id', '=', deliveryId)
    .orderBy('id')
    .execute();
}
