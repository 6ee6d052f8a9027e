import { sql } from 'kysely';
import type { Capabilities } from './capabilities.js';
import type { Db } from './db.js';
import type { InboundRequestRow, NewInboundRequest } from './schema.js';

/** What became of a stored request. */
export type InboundState = 'stored' | 'mapped' | 'unmapped' | 'failed';

/** Stores received requests, several in one statement (the recorder's group commit). */
export async function insertInboundRequests(db: Db, rows: readonly NewInboundRequest[]): Promise<void> {
  if (rows.length > 0) await db.insertInto('inbound_requests').values([...rows]).execute();
}

/** A source's requests, newest first, with the total (through `inbound_requests_source`). */
export async function listInboundRequests(db: Db, sourceId: string, offset: number, limit: number): Promise<{ rows: InboundRequestRow[]; total: number }> {
  const rows = await db
    .selectFrom('inbound_requests')
    .selectAll()
    .where('source_id', '=', sourceId)
    .orderBy('received_at', 'desc')
    .orderBy('id', 'desc')
    .offset(offset)
    .limit(limit)
    .execute();
  const { n } = await db.selectFrom('inbound_requests').select((eb) => eb.fn.countAll<number>().as('n')).where('source_id', '=', sourceId).executeTakeFirstOrThrow();
  return { rows, total: Number(n) };
}

export async function findInboundRequest(db: Db, sourceId: string, id: string): Promise<InboundRequestRow | undefined> {
  return db.selectFrom('inbound_requests').selectAll().where('source_id', '=', sourceId).where('id', '=', id).executeTakeFirst();
}

export async function findInboundRequestById(db: Db, id: string): Promise<InboundRequestRow | undefined> {
  return db.selectFrom('inbound_requests').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Records what a request became, only while it is still in one of `from` (compare and set): of two
 * processes mapping the same stored request, one records its outcome; the events both ingested are one
 * (their idempotency keys derive from the request). False when another got there first.
 */
export async function markInboundRequest(
  db: Db,
  id: string,
  from: readonly InboundState[],
  to: { state: InboundState; eventIds: readonly string[] | null; error: string | null; at: number },
): Promise<boolean> {
  const res = await db
    .updateTable('inbound_requests')
    .set({ state: to.state, event_ids: to.eventIds === null ? null : JSON.stringify(to.eventIds), error: to.error, mapped_at: to.at })
    .where('id', '=', id)
    .where('state', 'in', [...from])
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** Requests still `stored` that were received before `receivedBefore`, oldest first (through `inbound_requests_stored`). */
export async function listStoredInboundRequests(db: Db, receivedBefore: number, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('inbound_requests')
    .select('id')
    .where('state', '=', 'stored')
    .where('received_at', '<', receivedBefore)
    .orderBy('received_at')
    .limit(limit)
    .execute();
  return rows.map((r) => r.id);
}

/**
 * Up to `limit` of an account's requests received before `receivedBefore` (through
 * `inbound_requests_account`), except those still `stored`: not mapped yet, they are owed work.
 */
export async function deleteExpiredInboundRequests(db: Db, caps: Capabilities, accountId: string, receivedBefore: number, limit: number): Promise<number> {
  const old = db
    .selectFrom('inbound_requests')
    .select('id')
    .where('account_id', '=', accountId)
    .where('received_at', '<', receivedBefore)
    .where('state', '<>', 'stored')
    .limit(limit);
  const res = await db
    .deleteFrom('inbound_requests')
    .where((eb) => (caps.arrayParameters ? eb('id', '=', sql<string>`any(array(${old}))`) : eb('id', 'in', old)))
    .executeTakeFirst();
  return Number(res.numDeletedRows);
}
