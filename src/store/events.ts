import type { Db } from './db.js';
import type { EventRow, NewEvent } from './schema.js';
import type { Columns } from './bulk.js';
import type { Capabilities } from './capabilities.js';
import { sql } from 'kysely';
import { COUNT_AHEAD, inConditions } from './pieces.js';
import { inSnapshot } from './snapshot.js';

export const EVENT_COLUMNS = {
  id: 'text',
  account_id: 'text',
  api_user: 'text',
  type: 'text',
  data: 'text',
  resource_id: 'text',
  callback_profile_id: 'text',
  custom_args: 'text',
  idempotency_key: 'text',
  idempotency_digest: 'text',
  created_at: 'bigint',
} as const satisfies Columns<NewEvent>;

/** An event found by its idempotency key; `idempotency_digest` is null for events stored before 0009. */
export interface KeyedEvent {
  id: string;
  idempotency_key: string | null;
  idempotency_digest: string | null;
  created_at: number;
}

export async function findEventsByIdempotencyKeys(
  db: Db,
  caps: Capabilities,
  accountId: string,
  keys: string[],
): Promise<KeyedEvent[]> {
  const found: KeyedEvent[] = [];
  for (const cond of inConditions('idempotency_key', keys, caps)) {
    const rows = await db
      .selectFrom('events')
      .select(['id', 'idempotency_key', 'idempotency_digest', 'created_at'])
      .where('account_id', '=', accountId)
      .where(cond)
      .execute();
    for (const r of rows) found.push(r);
  }
  return found;
}

/** The events of these ids (repeats are fine: each event comes back once). */
export async function findEventsByIds(db: Db, caps: Capabilities, ids: readonly string[]): Promise<EventRow[]> {
  const found: EventRow[] = [];
  for (const cond of inConditions('id', ids, caps)) {
    for (const r of await db.selectFrom('events').selectAll().where(cond).execute()) found.push(r);
  }
  return found;
}

export async function findEvent(db: Db, accountId: string, id: string): Promise<EventRow | undefined> {
  return db.selectFrom('events').selectAll().where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
}

/** Idempotency keys protect for 24 h; after that the key may be used again. */
export async function expireIdempotencyKeys(db: Db, createdBefore: number): Promise<number> {
  const res = await db
    .updateTable('events')
    .set({ idempotency_key: null })
    .where('idempotency_key', 'is not', null)
    .where('created_at', '<', createdBefore)
    .executeTakeFirst();
  return Number(res.numUpdatedRows);
}

export interface EventFilter {
  type?: string | undefined;
  resourceId?: string | undefined;
  createdFrom?: number | undefined;
  createdTo?: number | undefined;
}

/**
 * A page of an account's events, newest first, and how many match. Each filter has an index that
 * starts with account_id and ends with (created_at, id), so a page is read in index order (0001, 0011).
 */
export async function listEvents(
  db: Db,
  accountId: string,
  filter: EventFilter,
  offset: number,
  limit: number,
): Promise<{ rows: EventRow[]; total: number; exact: boolean }> {
  return inSnapshot(db, async (trx) => {
    let q = trx.selectFrom('events').where('account_id', '=', accountId);
    if (filter.type !== undefined) q = q.where('type', '=', filter.type);
    if (filter.resourceId !== undefined) q = q.where('resource_id', '=', filter.resourceId);
    if (filter.createdFrom !== undefined) q = q.where('created_at', '>=', filter.createdFrom);
    if (filter.createdTo !== undefined) q = q.where('created_at', '<', filter.createdTo);
    const rows = await q.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').offset(offset).limit(limit).execute();
    const cap = offset + COUNT_AHEAD;
    const total = await trx
      .selectFrom(q.select(sql.lit(1).as('one')).limit(cap + 1).as('c'))
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const n = Number(total.n);
    return { rows, total: Math.min(n, cap), exact: n <= cap };
  });
}

export interface DeliveryCounts {
  total: number;
  delivered: number;
  failed: number;
  pending: number;
  held: number;
}

/** How many deliveries of each state the given events have (one grouped read over deliveries_event). */
export async function countDeliveriesOfEvents(db: Db, caps: Capabilities, eventIds: readonly string[]): Promise<Map<string, DeliveryCounts>> {
  const out = new Map<string, DeliveryCounts>();
  for (const id of eventIds) out.set(id, { total: 0, delivered: 0, failed: 0, pending: 0, held: 0 });
  for (const cond of inConditions('event_id', eventIds, caps)) {
    const rows = await db
      .selectFrom('deliveries')
      .select((eb) => ['event_id', 'state', eb.fn.countAll<number>().as('n')])
      .where(cond)
      .groupBy(['event_id', 'state'])
      .execute();
    for (const r of rows) {
      const c = out.get(r.event_id);
      if (!c) continue;
      const n = Number(r.n);
      c.total += n;
      if (r.state === 'delivered' || r.state === 'failed' || r.state === 'pending' || r.state === 'held') c[r.state] += n;
    }
  }
  return out;
}
