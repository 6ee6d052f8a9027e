import { sql } from 'kysely';
import type { Capabilities } from './capabilities.js';
import type { Db } from './db.js';
import { inConditions } from './pieces.js';

/** What decides an account's purge: its own retention (null: the relay's) and its unreported period. */
export interface RetentionPolicyRow {
  account_id: string;
  retention_days: number | null;
  /** Start of the next report period (null: reports off): what finished since is still to be counted. */
  report_next_at: number | null;
}

/** Every account with its retention override and report period (accounts are few; settings may be absent). */
export async function listRetentionPolicies(db: Db): Promise<RetentionPolicyRow[]> {
  const rows = await db
    .selectFrom('accounts as a')
    .leftJoin('account_settings as s', 's.account_id', 'a.id')
    .select(['a.id as account_id', 's.retention_days', 's.report_next_at'])
    .orderBy('a.id')
    .execute();
  return rows.map((r) => ({
    account_id: r.account_id,
    retention_days: r.retention_days === null ? null : Number(r.retention_days),
    report_next_at: r.report_next_at === null ? null : Number(r.report_next_at),
  }));
}

/**
 * The oldest of an account's deliveries that finished (delivered or failed) before `finishedBefore`,
 * up to `limit`, through `deliveries_finished` (owed deliveries are not in it). On PostgreSQL they
 * are locked for the caller's transaction, so a concurrent retry waits for the purge or comes after.
 */
export function purgeableDeliveriesStatement(db: Db, caps: Capabilities, accountId: string, finishedBefore: number, limit: number) {
  let q = db
    .selectFrom('deliveries')
    .select(['id', 'event_id'])
    .where('account_id', '=', accountId)
    .where('completed_at', '<', finishedBefore)
    .where('state', 'in', ['delivered', 'failed'])
    .orderBy('completed_at')
    .limit(limit);
  if (caps.skipLocked) q = q.forUpdate().skipLocked();
  return q;
}

export async function lockPurgeableDeliveries(
  db: Db,
  caps: Capabilities,
  accountId: string,
  finishedBefore: number,
  limit: number,
): Promise<{ id: number; event_id: string }[]> {
  const rows = await purgeableDeliveriesStatement(db, caps, accountId, finishedBefore, limit).execute();
  return rows.map((r) => ({ id: Number(r.id), event_id: r.event_id }));
}

/** The attempts of these deliveries (first: they refer to the deliveries). */
export async function deleteAttemptsOfDeliveries(db: Db, caps: Capabilities, deliveryIds: readonly number[]): Promise<number> {
  let n = 0;
  for (const cond of inConditions('delivery_id', deliveryIds, caps)) {
    const res = await db.deleteFrom('attempts').where(cond).executeTakeFirst();
    n += Number(res.numDeletedRows);
  }
  return n;
}

/** These deliveries, if still finished (a retry re-opens a delivery: it is owed again and stays). */
export async function deleteFinishedDeliveries(db: Db, caps: Capabilities, ids: readonly number[]): Promise<number> {
  let n = 0;
  for (const cond of inConditions('id', ids, caps)) {
    const res = await db.deleteFrom('deliveries').where(cond).where('state', 'in', ['delivered', 'failed']).executeTakeFirst();
    n += Number(res.numDeletedRows);
  }
  return n;
}

/**
 * Those of these events created before `createdBefore` that have no delivery left (each is looked up
 * in `deliveries_event`): an event goes with its last delivery, never before it.
 */
export async function deleteEventsWithoutDeliveries(db: Db, caps: Capabilities, ids: readonly string[], createdBefore: number): Promise<number> {
  let n = 0;
  for (const cond of inConditions('id', ids, caps)) {
    const res = await db
      .deleteFrom('events')
      .where(cond)
      .where('created_at', '<', createdBefore)
      .where((eb) => eb.not(eb.exists(eb.selectFrom('deliveries').select(sql.lit(1).as('one')).whereRef('deliveries.event_id', '=', 'events.id'))))
      .executeTakeFirst();
    n += Number(res.numDeletedRows);
  }
  return n;
}

/** Where a walk through an account's events by age stopped: the last event it looked at. */
export interface EventCursor {
  createdAt: number;
  id: string;
}

/**
 * An account's events created before `createdBefore`, oldest first, after `after`, up to `limit`,
 * through `events_account_created`. A walk from a cursor reads each old event once: those that still
 * have deliveries go with their last one (deleteEventsWithoutDeliveries after the deliveries' purge),
 * so they are stepped over, not read again on every batch.
 */
export function oldEventsStatement(db: Db, accountId: string, after: EventCursor | null, createdBefore: number, limit: number) {
  let q = db
    .selectFrom('events')
    .select(['id', 'created_at'])
    .where('account_id', '=', accountId)
    .where('created_at', '<', createdBefore);
  if (after) {
    // `created_at >=` bounds the index range; the `or` only steps over the cursor's own millisecond.
    q = q.where('created_at', '>=', after.createdAt).where((eb) => eb.or([eb('created_at', '>', after.createdAt), eb('id', '>', after.id)]));
  }
  return q.orderBy('created_at').orderBy('id').limit(limit);
}

export async function findOldEvents(db: Db, accountId: string, after: EventCursor | null, createdBefore: number, limit: number): Promise<EventCursor[]> {
  const rows = await oldEventsStatement(db, accountId, after, createdBefore, limit).execute();
  return rows.map((r) => ({ id: r.id, createdAt: Number(r.created_at) }));
}

/**
 * Up to `limit` of an account's test calls (`/test`: attempts of no delivery) started before
 * `startedBefore`, found through `attempts_delivery` (its null entries are exactly these).
 */
export async function deleteTestAttempts(db: Db, caps: Capabilities, accountId: string, startedBefore: number, limit: number): Promise<number> {
  const old = db
    .selectFrom('attempts')
    .select('id')
    .where('delivery_id', 'is', null)
    .where('account_id', '=', accountId)
    .where('started_at', '<', startedBefore)
    .limit(limit);
  const res = await db
    .deleteFrom('attempts')
    // As in claimStatement: PostgreSQL would plan `id in (subquery)` over a scan of the whole table.
    .where((eb) => (caps.arrayParameters ? eb('id', '=', sql<number>`any(array(${old}))`) : eb('id', 'in', old)))
    .executeTakeFirst();
  return Number(res.numDeletedRows);
}
