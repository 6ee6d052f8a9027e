import type { Db } from './db.js';
import type { EventRow, NewEvent } from './schema.js';
import type { Columns } from './bulk.js';
import type { Capabilities } from './capabilities.js';
import { inConditions } from './pieces.js';

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
