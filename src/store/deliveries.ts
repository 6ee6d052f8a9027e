import { sql } from 'kysely';
import type { Db } from './db.js';
import { inSnapshot } from './snapshot.js';
import type { DeliveryRow, DeliveryState, NewAttempt, NewDelivery, NewEvent } from './schema.js';
import { COUNT_AHEAD, inConditions } from './pieces.js';
import { insertRowSets, insertRows, insertRowsAlongside, type Columns } from './bulk.js';
import { EVENT_COLUMNS } from './events.js';
import type { Capabilities } from './capabilities.js';

/**
 * `state = 'pending'` as a literal, not a bound parameter: SQLite uses the partial index
 * `deliveries_due` only when the query's condition matches the index's text.
 */
const PENDING = sql.lit<'pending'>('pending');

const DELIVERY_COLUMNS = {
  account_id: 'text',
  event_id: 'text',
  callback_id: 'text',
  state: 'text',
  attempts: 'integer',
  next_attempt_at: 'bigint',
  lease_owner: 'text',
  lease_until: 'bigint',
  ordering_key: 'text',
  last_status: 'integer',
  last_error: 'text',
  created_at: 'bigint',
  updated_at: 'bigint',
  completed_at: 'bigint',
} as const satisfies Columns<NewDelivery>;

/**
 * Stores events with their deliveries: `queued` for the workers to claim, `leased` already leased to
 * the local worker (ingest's hand-off), whose ids come back. On PostgreSQL this is one statement,
 * atomic without a transaction (see insertRowSets).
 */
export async function insertEventsWithDeliveries(
  db: Db,
  caps: Capabilities,
  rows: { events: NewEvent[]; queued: NewDelivery[]; leased: NewDelivery[] },
): Promise<{ id: number; event_id: string; callback_id: string }[]> {
  return insertRowSets(
    db,
    caps,
    [
      { table: 'events', columns: EVENT_COLUMNS, rows: rows.events },
      { table: 'deliveries', columns: DELIVERY_COLUMNS, rows: rows.queued },
      // Last, so that the returned ids are the leased ones (int8 ids come back from pg as numbers, see db.ts).
      { table: 'deliveries', columns: DELIVERY_COLUMNS, rows: rows.leased },
    ],
    rows.leased.length > 0 ? ['id', 'event_id', 'callback_id'] : [],
  );
}

const ATTEMPT_COLUMNS = {
  delivery_id: 'bigint',
  account_id: 'text',
  callback_id: 'text',
  event_id: 'text',
  kind: 'text',
  attempt: 'integer',
  started_at: 'bigint',
  duration_ms: 'integer',
  request_method: 'text',
  request_url: 'text',
  request_headers: 'text',
  request_body: 'text',
  response_status: 'integer',
  response_headers: 'text',
  response_body: 'text',
  error_class: 'text',
  error_message: 'text',
  outcome: 'text',
} as const satisfies Columns<NewAttempt>;

export interface ClaimedDelivery {
  id: number;
  event_id: string;
  callback_id: string;
  attempts: number;
}

/**
 * Takes up to `limit` of one callback's due deliveries for `owner`, oldest first: those not leased,
 * and those whose lease ran out (a dead worker's), and leases them until `leaseUntil`. Per callback,
 * so the worker never claims more than a callback may have in flight and a callback's backlog never
 * stands in the way of another's.
 *
 * The lease is written to columns no index holds: on PostgreSQL the claim is then a heap-only
 * update (no new entry in any of the table's indexes, a fraction of the WAL), on SQLite it leaves
 * the queue index alone. Leased rows stay in the queue index, at its due end (they were due when
 * claimed); a claim steps over them, as many as are in flight.
 */
export async function claimDueDeliveries(db: Db, caps: Capabilities, opts: ClaimOptions): Promise<ClaimedDelivery[]> {
  return claimStatement(db, caps, opts).execute();
}

export interface ClaimOptions {
  owner: string;
  callbackId: string;
  now: number;
  leaseUntil: number;
  limit: number;
}

/** The claim's statement, unexecuted (its plan is tested: it must not scan the delivered history). */
export function claimStatement(db: Db, caps: Capabilities, opts: ClaimOptions) {
  let due = db
    .selectFrom('deliveries')
    .select('id')
    .where('state', '=', PENDING)
    .where('callback_id', '=', opts.callbackId)
    .where('next_attempt_at', '<=', opts.now)
    .where((eb) => eb.or([eb('lease_owner', 'is', null), eb('lease_until', '<=', opts.now)]))
    .orderBy('next_attempt_at')
    .limit(opts.limit);
  if (caps.skipLocked) due = due.forUpdate().skipLocked();
  return (
    db
      .updateTable('deliveries')
      .set({ lease_owner: opts.owner, lease_until: opts.leaseUntil, updated_at: opts.now })
      // PostgreSQL plans `id in (subquery)` as a hash semi-join over a sequential scan of the whole
      // table, delivered history included, on every claim; `id = any(array(subquery))` computes the
      // ids first and looks them up by primary key. SQLite looks `in` up by rowid already.
      .where((eb) => (caps.arrayParameters ? eb('id', '=', sql<number>`any(array(${due}))`) : eb('id', 'in', due)))
      .returning(['id', 'event_id', 'callback_id', 'attempts'])
  );
}

/**
 * When a callback's next owed delivery falls due (a leased one: when its lease ends); null when none
 * is owed. The earliest not leased, read first, bounds the rest: a leased delivery was due when it
 * was claimed and its lease ends later still, so only those the queue index holds before that one
 * (at most what is in flight) can fall due sooner.
 */
export async function nextDueTime(db: Db, callbackId: string): Promise<number | null> {
  const owed = db.selectFrom('deliveries').where('state', '=', PENDING).where('callback_id', '=', callbackId);
  const free = await owed.select('next_attempt_at').where('lease_owner', 'is', null).orderBy('next_attempt_at').limit(1).executeTakeFirst();
  const bound = free === undefined ? null : Number(free.next_attempt_at);
  let leased = owed.select((eb) => eb.fn.min('lease_until').as('until')).where('lease_owner', 'is not', null);
  if (bound !== null) leased = leased.where('next_attempt_at', '<=', bound);
  const row = await leased.executeTakeFirst();
  const until = row?.until === null || row?.until === undefined ? null : Number(row.until);
  if (until === null) return bound;
  return bound === null ? until : Math.min(bound, until);
}

/** Heartbeat: keeps this worker's in-flight deliveries leased. */
export async function extendLeases(db: Db, caps: Capabilities, owner: string, ids: readonly number[], leaseUntil: number): Promise<void> {
  for (const cond of inConditions('id', ids, caps)) {
    await db
      .updateTable('deliveries')
      .set({ lease_until: leaseUntil })
      .where('lease_owner', '=', owner)
      .where('state', '=', 'pending')
      .where(cond)
      .execute();
  }
}

/** On shutdown: hand back what this worker still holds, due at once (it was due when claimed). */
export async function releaseLeases(db: Db, caps: Capabilities, owner: string, ids: readonly number[], now: number): Promise<void> {
  for (const cond of inConditions('id', ids, caps)) {
    await db
      .updateTable('deliveries')
      .set({ lease_owner: null, lease_until: null, updated_at: now })
      .where('lease_owner', '=', owner)
      .where('state', '=', 'pending')
      .where(cond)
      .execute();
  }
}

/**
 * Where one process owns the database (SQLite), a lease held by any other owner is a dead process's
 * (kill -9): hand those back, due at once, instead of waiting out the lease. Returns how many.
 */
export async function releaseOtherLeases(db: Db, owner: string, now: number): Promise<number> {
  const res = await db
    .updateTable('deliveries')
    .set({ lease_owner: null, lease_until: null, updated_at: now })
    .where('state', '=', PENDING)
    .where('lease_owner', 'is not', null)
    .where('lease_owner', '!=', owner)
    .executeTakeFirst();
  return Number(res.numUpdatedRows);
}

/** The state a finished attempt moves its delivery to. */
export interface DeliveryTransition {
  id: number;
  state: DeliveryState;
  attempts: number;
  nextAttemptAt: number;
  lastStatus: number | null;
  lastError: string | null;
}

/**
 * Records a batch of finished attempts and moves their deliveries on (in the caller's transaction), only
 * for deliveries this worker still leases (a delivery whose lease was lost to another worker keeps
 * the other worker's state; its attempt is still recorded, since the request was really sent).
 * Returns the ids whose state changed.
 */
export async function completeAttempts(
  db: Db,
  opts: { owner: string; now: number; attempts: NewAttempt[]; transitions: DeliveryTransition[]; caps: Capabilities },
): Promise<Set<number>> {
  // Rows moving to the same values share one UPDATE: a batch of first-try 200s is one statement.
  // A final state's next_attempt_at means nothing: every one in the batch gets the batch's time.
  const groups = new Map<string, DeliveryTransition[]>();
  for (const t of opts.transitions) {
    const key = `${t.state}|${t.attempts}|${t.state === 'pending' ? t.nextAttemptAt : ''}|${t.lastStatus}|${t.lastError}`;
    const group = groups.get(key);
    if (group) group.push(t);
    else groups.set(key, [t]);
  }
  // The caller runs this in one transaction (the worker: a relaxed one). The attempts go in with the
  // first update (PostgreSQL: the same statement).
  let attempts: readonly NewAttempt[] = opts.attempts;
  const changed = new Set<number>();
  for (const group of groups.values()) {
    const t = group[0]!;
    for (const cond of inConditions('id', group.map((g) => g.id), opts.caps)) {
      const update = db
        .updateTable('deliveries')
        .set({
          state: t.state,
          attempts: t.attempts,
          next_attempt_at: t.state === 'pending' ? t.nextAttemptAt : opts.now,
          lease_owner: null,
          lease_until: null,
          last_status: t.lastStatus,
          last_error: t.lastError,
          updated_at: opts.now,
          completed_at: t.state === 'pending' ? null : opts.now,
        })
        .where('lease_owner', '=', opts.owner)
        .where(cond)
        .returning('id');
      const rows = await insertRowsAlongside(db, opts.caps, { table: 'attempts', columns: ATTEMPT_COLUMNS, rows: attempts }, update);
      attempts = [];
      for (const r of rows) changed.add(r.id);
    }
  }
  await insertRows(db, opts.caps, 'attempts', ATTEMPT_COLUMNS, attempts);
  return changed;
}

export interface DeliveryFilter {
  callbackId?: string | undefined;
  state?: DeliveryState | undefined;
  eventType?: string | undefined;
  eventId?: string | undefined;
  createdFrom?: number | undefined;
  createdTo?: number | undefined;
}

export type DeliveryWithEvent = DeliveryRow & { event_type: string };

/** Ids of an account's events of a type created in [from, to) (events_account_type), as a subquery. */
function eventsOfType(db: Db, accountId: string, type: string, from: number | undefined, to: number | undefined) {
  let q = db.selectFrom('events').select('id').where('account_id', '=', accountId).where('type', '=', type);
  if (from !== undefined) q = q.where('created_at', '>=', from);
  if (to !== undefined) q = q.where('created_at', '<', to);
  return q;
}

export async function listDeliveries(
  db: Db,
  accountId: string,
  filter: DeliveryFilter,
  offset: number,
  limit: number,
): Promise<{ rows: DeliveryWithEvent[]; total: number; exact: boolean }> {
  return inSnapshot(db, async (trx) => {
    const where = <Q extends { where: (...a: any[]) => Q }>(q: Q): Q => {
      let w = q.where('d.account_id', '=', accountId);
      if (filter.callbackId !== undefined) w = w.where('d.callback_id', '=', filter.callbackId);
      if (filter.state !== undefined) w = w.where('d.state', '=', filter.state);
      if (filter.eventId !== undefined) w = w.where('d.event_id', '=', filter.eventId);
      if (filter.createdFrom !== undefined) w = w.where('d.created_at', '>=', filter.createdFrom);
      if (filter.createdTo !== undefined) w = w.where('d.created_at', '<', filter.createdTo);
      return w;
    };
    // The event type as a condition on each delivery (not a join the planner could start from): pages
    // are read newest first along the deliveries' own indexes, and stop at the page's end.
    // With a time range too, the deliveries are those of the type's events in that range, found through
    // events_account_type: a delivery is created with its event, in one statement and at the same
    // instant (ingest), so its created_at is its event's. (No index has deliveries by time.)
    const timed = filter.createdFrom !== undefined || filter.createdTo !== undefined;
    const ofType = <Q extends { where: (...a: any[]) => Q }>(q: Q): Q =>
      filter.eventType === undefined
        ? q
        : timed
          ? q.where('d.event_id', 'in', eventsOfType(trx, accountId, filter.eventType, filter.createdFrom, filter.createdTo))
          : q.where((eb: any) => eb.exists(eb.selectFrom('events as t').select('t.id').whereRef('t.id', '=', 'd.event_id').where('t.type', '=', filter.eventType!)));
    const page = ofType(where(trx.selectFrom('deliveries as d').innerJoin('events as e', 'e.id', 'd.event_id')));
    const rows = await page.selectAll('d').select('e.type as event_type').orderBy('d.id', 'desc').offset(offset).limit(limit).execute();
    // Counted without the join: the index alone answers most counts.
    const counted = ofType(where(trx.selectFrom('deliveries as d')));
    const cap = offset + COUNT_AHEAD;
    const total = await trx
      .selectFrom(counted.select(sql.lit(1).as('one')).limit(cap + 1).as('c'))
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const n = Number(total.n);
    return { rows, total: Math.min(n, cap), exact: n <= cap };
  });
}

export async function findDelivery(db: Db, accountId: string, id: number): Promise<DeliveryWithEvent | undefined> {
  return db
    .selectFrom('deliveries as d')
    .innerJoin('events as e', 'e.id', 'd.event_id')
    .selectAll('d')
    .select('e.type as event_type')
    .where('d.account_id', '=', accountId)
    .where('d.id', '=', id)
    .executeTakeFirst();
}

/**
 * Makes a delivery due now. A final one (delivered or failed) is re-opened with its attempt count
 * kept; one that is in flight right now is left alone (returns false).
 */
export async function retryDelivery(db: Db, accountId: string, id: number, now: number): Promise<boolean> {
  const res = await db
    .updateTable('deliveries')
    .set({ state: 'pending', next_attempt_at: now, lease_owner: null, lease_until: null, completed_at: null, updated_at: now })
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .where((eb) => eb.or([eb('state', 'in', ['delivered', 'failed']), eb.and([eb('state', '=', 'pending'), eb('lease_owner', 'is', null)])]))
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** Re-queues a callback's failed deliveries created since `since`; returns how many. */
export async function requeueFailedDeliveries(
  db: Db,
  accountId: string,
  callbackId: string,
  since: number,
  now: number,
  held: boolean,
): Promise<number> {
  const res = await db
    .updateTable('deliveries')
    .set({ state: held ? 'held' : 'pending', next_attempt_at: now, lease_owner: null, lease_until: null, completed_at: null, updated_at: now })
    .where('account_id', '=', accountId)
    .where('callback_id', '=', callbackId)
    .where('state', '=', 'failed')
    .where('created_at', '>=', since)
    .executeTakeFirst();
  return Number(res.numUpdatedRows);
}

/** A disabled callback's owed deliveries wait as `held` (in-flight ones finish first). */
export async function holdDeliveries(db: Db, callbackId: string, now: number): Promise<number> {
  const res = await db
    .updateTable('deliveries')
    .set({ state: 'held', updated_at: now })
    .where('callback_id', '=', callbackId)
    .where('state', '=', 'pending')
    .where('lease_owner', 'is', null)
    .executeTakeFirst();
  return Number(res.numUpdatedRows);
}

/** Enabling a callback makes its held deliveries due now. */
export async function releaseHeldDeliveries(db: Db, callbackId: string, now: number): Promise<number> {
  const res = await db
    .updateTable('deliveries')
    .set({ state: 'pending', next_attempt_at: now, updated_at: now })
    .where('callback_id', '=', callbackId)
    .where('state', '=', 'held')
    .executeTakeFirst();
  return Number(res.numUpdatedRows);
}

/** A deleted callback's owed deliveries end as failed, so the history stays readable. */
export async function failOwedDeliveries(db: Db, callbackId: string, reason: string, now: number): Promise<number> {
  const res = await db
    .updateTable('deliveries')
    .set({ state: 'failed', last_error: reason, lease_owner: null, lease_until: null, updated_at: now, completed_at: now })
    .where('callback_id', '=', callbackId)
    .where('state', 'in', ['pending', 'held'])
    .executeTakeFirst();
  return Number(res.numUpdatedRows);
}

/** Queue depth (owed deliveries) and the due time of the oldest one not in flight. */
export async function queueStats(db: Db): Promise<{ depth: number; oldestDueAt: number | null }> {
  const row = await db
    .selectFrom('deliveries')
    .select((eb) => [
      eb.fn.countAll<number>().as('n'),
      eb.fn.min(eb.case().when('lease_owner', 'is', null).then(eb.ref('next_attempt_at')).end()).as('oldest'),
    ])
    .where('state', '=', PENDING)
    .executeTakeFirstOrThrow();
  return { depth: Number(row.n), oldestDueAt: row.oldest === null ? null : Number(row.oldest) };
}

export interface FailedFilter {
  callbackId?: string | undefined;
  eventType?: string | undefined;
  createdFrom?: number | undefined;
  createdTo?: number | undefined;
}

/**
 * Makes every failed delivery of the account matching `filter` due now (held, where its callback is
 * disabled: it resumes on enable), `batch` rows per transaction so a large retry never holds the
 * database at once. Walks ids upwards, so a delivery that fails again meanwhile is not retried twice.
 * Deliveries of deleted callbacks stay failed. Returns how many were re-opened.
 */
export async function retryFailedDeliveries(db: Db, caps: Capabilities, accountId: string, filter: FailedFilter, now: number, batch = 500): Promise<number> {
  let after = 0;
  let retried = 0;
  for (;;) {
    let q = db
      .selectFrom('deliveries as d')
      .innerJoin('callbacks as c', 'c.id', 'd.callback_id')
      .select(['d.id', 'c.enabled'])
      .where('d.account_id', '=', accountId)
      .where('d.state', '=', 'failed')
      .where('d.id', '>', after);
    if (filter.callbackId !== undefined) q = q.where('d.callback_id', '=', filter.callbackId);
    if (filter.eventType !== undefined) q = q.where((eb) => eb.exists(eb.selectFrom('events as e').select('e.id').whereRef('e.id', '=', 'd.event_id').where('e.type', '=', filter.eventType!)));
    if (filter.createdFrom !== undefined) q = q.where('d.created_at', '>=', filter.createdFrom);
    if (filter.createdTo !== undefined) q = q.where('d.created_at', '<', filter.createdTo);
    const rows = await q.orderBy('d.id').limit(batch).execute();
    if (rows.length === 0) return retried;
    after = rows[rows.length - 1]!.id;
    await db.transaction().execute(async (trx) => {
      for (const [state, ids] of [
        ['pending', rows.filter((r) => r.enabled).map((r) => r.id)],
        ['held', rows.filter((r) => !r.enabled).map((r) => r.id)],
      ] as const) {
        for (const cond of inConditions('id', ids, caps)) {
          const res = await trx
            .updateTable('deliveries')
            .set({ state, next_attempt_at: now, lease_owner: null, lease_until: null, completed_at: null, updated_at: now })
            .where(cond)
            .where('state', '=', 'failed')
            .executeTakeFirst();
          retried += Number(res.numUpdatedRows);
        }
      }
    });
    if (rows.length < batch) return retried;
  }
}
