import type { Db } from './db.js';
import { inSnapshot } from './snapshot.js';
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

/** The latest attempt of a delivery (what a failure notice shows). */
export async function findLatestAttempt(db: Db, deliveryId: number): Promise<AttemptRow | undefined> {
  return db.selectFrom('attempts').selectAll().where('delivery_id', '=', deliveryId).orderBy('id', 'desc').limit(1).executeTakeFirst();
}

export type CallStatus = 'SUCCESS' | 'FAILED' | 'HANDLED';

/** A delivery attempt of a callback with the event it carried (Whispir's "calls"). */
export interface CallRow {
  id: number;
  event_id: string | null;
  started_at: number;
  request_url: string;
  response_status: number | null;
  response_body: string | null;
  error_class: string | null;
  error_message: string | null;
  outcome: string;
  handled: number;
  event_type: string | null;
  event_data: string | null;
  event_custom_args: string | null;
  event_resource_id: string | null;
  event_created_at: number | null;
}

/**
 * The delivery attempts of one callback, newest first, with their events. SUCCESS: succeeded;
 * FAILED: did not and not marked handled; HANDLED: marked handled.
 */
export async function listCallbackCalls(
  db: Db,
  accountId: string,
  callbackId: string,
  status: CallStatus | undefined,
  offset: number,
  limit: number,
): Promise<{ rows: CallRow[]; total: number }> {
  return inSnapshot(db, async (trx) => {
    let q = trx
      .selectFrom('attempts as a')
      .leftJoin('events as e', 'e.id', 'a.event_id')
      .where('a.account_id', '=', accountId)
      .where('a.callback_id', '=', callbackId)
      .where('a.kind', '=', 'delivery');
    if (status === 'SUCCESS') q = q.where('a.outcome', '=', 'success');
    else if (status === 'FAILED') q = q.where('a.outcome', '!=', 'success').where('a.handled', '=', 0);
    else if (status === 'HANDLED') q = q.where('a.handled', '=', 1);
    const rows = await q
      .select([
        'a.id',
        'a.event_id',
        'a.started_at',
        'a.request_url',
        'a.response_status',
        'a.response_body',
        'a.error_class',
        'a.error_message',
        'a.outcome',
        'a.handled',
        'e.type as event_type',
        'e.data as event_data',
        'e.custom_args as event_custom_args',
        'e.resource_id as event_resource_id',
        'e.created_at as event_created_at',
      ])
      .orderBy('a.id', 'desc')
      .offset(offset)
      .limit(limit)
      .execute();
    const total = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return { rows: rows.map((r) => ({ ...r, id: Number(r.id) })), total: Number(total.n) };
  });
}

/** Marks failed calls of a callback handled; returns how many changed. */
export async function markCallsHandled(db: Db, accountId: string, callbackId: string, ids: readonly number[]): Promise<number> {
  if (ids.length === 0) return 0;
  const res = await db
    .updateTable('attempts')
    .set({ handled: 1 })
    .where('account_id', '=', accountId)
    .where('callback_id', '=', callbackId)
    .where('id', 'in', ids)
    .where('outcome', '!=', 'success')
    .where('handled', '=', 0)
    .executeTakeFirst();
  return Number(res.numUpdatedRows);
}
