import { sql } from 'kysely';
import type { Db } from './db.js';

/** Delivered and failed deliveries of one time bucket (by completed_at), and the attempts' mean duration. */
export interface StatsBucket {
  start: number;
  delivered: number;
  failed: number;
  latencyAvgMs: number | null;
}

export interface CallbackStats {
  delivered: number;
  failed: number;
  pending: number;
  held: number;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  buckets: StatsBucket[];
}

/**
 * A callback's figures over [from, to): finished deliveries by state and by bucket of `bucketMs`
 * (deliveries_callback_finished), its delivery attempts' durations (attempts_callback), and what it
 * owes now (pending: deliveries_due; held: deliveries_held). Aggregated in SQL: no row is loaded
 * but the two percentiles'. `from` and `to` are multiples of `bucketMs`.
 */
export async function callbackStats(db: Db, accountId: string, callbackId: string, from: number, to: number, bucketMs: number): Promise<CallbackStats> {
  const bucket = sql<number>`(${sql.ref('completed_at')} / ${sql.lit(bucketMs)}) * ${sql.lit(bucketMs)}`;
  const finished = await db
    .selectFrom('deliveries')
    .select((eb) => [bucket.as('start'), 'state', eb.fn.countAll<number>().as('n')])
    // By callback alone (the caller checked its account): deliveries_callback_finished answers it.
    .where('callback_id', '=', callbackId)
    .where('completed_at', '>=', from)
    .where('completed_at', '<', to)
    .groupBy([bucket, 'state'])
    .execute();
  const started = sql<number>`(${sql.ref('started_at')} / ${sql.lit(bucketMs)}) * ${sql.lit(bucketMs)}`;
  const attempts = db
    .selectFrom('attempts')
    .where('callback_id', '=', callbackId)
    .where('account_id', '=', accountId)
    .where('kind', '=', 'delivery')
    .where('started_at', '>=', from)
    .where('started_at', '<', to);
  const latency = await attempts
    .select((eb) => [started.as('start'), eb.fn.avg<number>('duration_ms').as('avg'), eb.fn.countAll<number>().as('n')])
    .groupBy(started)
    .execute();
  const pending = await db
    .selectFrom('deliveries')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('callback_id', '=', callbackId)
    .where('state', '=', 'pending')
    .executeTakeFirstOrThrow();
  const held = await db
    .selectFrom('deliveries')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('account_id', '=', accountId)
    .where('callback_id', '=', callbackId)
    .where('state', '=', 'held')
    .executeTakeFirstOrThrow();

  const buckets = new Map<number, StatsBucket>();
  for (let s = from; s < to; s += bucketMs) buckets.set(s, { start: s, delivered: 0, failed: 0, latencyAvgMs: null });
  let delivered = 0;
  let failed = 0;
  for (const r of finished) {
    const b = buckets.get(Number(r.start));
    const n = Number(r.n);
    if (r.state === 'delivered') {
      delivered += n;
      if (b) b.delivered += n;
    } else if (r.state === 'failed') {
      failed += n;
      if (b) b.failed += n;
    }
  }
  let samples = 0;
  for (const r of latency) {
    samples += Number(r.n);
    const b = buckets.get(Number(r.start));
    if (b) b.latencyAvgMs = Math.round(Number(r.avg));
  }
  // Nearest-rank percentiles: one ordered read each, at the rank's offset (SQLite has no percentile function).
  const percentile = async (p: number) => {
    if (samples === 0) return null;
    const row = await attempts.select('duration_ms').orderBy('duration_ms').offset(Math.max(0, Math.ceil(p * samples) - 1)).limit(1).executeTakeFirst();
    return row ? Number(row.duration_ms) : null;
  };
  return {
    delivered,
    failed,
    pending: Number(pending.n),
    held: Number(held.n),
    latencyP50Ms: await percentile(0.5),
    latencyP95Ms: await percentile(0.95),
    buckets: [...buckets.values()],
  };
}

/**
 * The account's callbacks, as a subquery: owed deliveries are read through deliveries_due (per
 * callback, pending only) one callback after the other, never by scanning the account's history.
 * (A deleted callback's owed deliveries were failed with it.)
 */
function callbacksOf(db: Db, accountId: string) {
  return db.selectFrom('callbacks').select('id').where('account_id', '=', accountId);
}

export interface QueueFigures {
  pending: number;
  dueNow: number;
  oldestDueAt: number | null;
  inFlight: number;
  held: number;
}

/** An account's queue now: owed deliveries (deliveries_due holds only pending ones), due, in flight, held. */
export async function accountQueue(db: Db, accountId: string, now: number): Promise<QueueFigures> {
  const row = await db
    .selectFrom('deliveries')
    .select((eb) => [
      eb.fn.countAll<number>().as('pending'),
      eb.fn.sum<number>(eb.case().when(eb.and([eb('lease_owner', 'is', null), eb('next_attempt_at', '<=', now)])).then(1).else(0).end()).as('due'),
      eb.fn.min(eb.case().when(eb.and([eb('lease_owner', 'is', null), eb('next_attempt_at', '<=', now)])).then(eb.ref('next_attempt_at')).end()).as('oldest'),
      eb.fn.sum<number>(eb.case().when('lease_owner', 'is not', null).then(1).else(0).end()).as('in_flight'),
    ])
    .where('state', '=', 'pending')
    .where('callback_id', 'in', callbacksOf(db, accountId))
    .executeTakeFirstOrThrow();
  const held = await db
    .selectFrom('deliveries')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('state', '=', 'held')
    .where('account_id', '=', accountId)
    .executeTakeFirstOrThrow();
  return {
    pending: Number(row.pending),
    dueNow: Number(row.due ?? 0),
    oldestDueAt: row.oldest === null ? null : Number(row.oldest),
    inFlight: Number(row.in_flight ?? 0),
    held: Number(held.n),
  };
}

export interface CallbackActivity {
  callbackId: string;
  delivered24h: number;
  failed24h: number;
  delivered7d: number;
  failed7d: number;
  pending: number;
}

/**
 * Per callback of the account: finished deliveries since `since7d` and `since24h`, and owed ones
 * now, each a GROUP BY callback_id (deliveries_finished, deliveries_due).
 */
export async function accountActivity(db: Db, accountId: string, since24h: number, since7d: number): Promise<CallbackActivity[]> {
  const done = await db
    .selectFrom('deliveries')
    .select((eb) => [
      'callback_id',
      eb.fn.sum<number>(eb.case().when(eb.and([eb('state', '=', 'delivered'), eb('completed_at', '>=', since24h)])).then(1).else(0).end()).as('d24'),
      eb.fn.sum<number>(eb.case().when(eb.and([eb('state', '=', 'failed'), eb('completed_at', '>=', since24h)])).then(1).else(0).end()).as('f24'),
      eb.fn.sum<number>(eb.case().when('state', '=', 'delivered').then(1).else(0).end()).as('d7'),
      eb.fn.sum<number>(eb.case().when('state', '=', 'failed').then(1).else(0).end()).as('f7'),
    ])
    .where('account_id', '=', accountId)
    .where('completed_at', '>=', since7d)
    .groupBy('callback_id')
    .execute();
  const owed = await db
    .selectFrom('deliveries')
    .select((eb) => ['callback_id', eb.fn.countAll<number>().as('n')])
    .where('state', '=', 'pending')
    .where('callback_id', 'in', callbacksOf(db, accountId))
    .groupBy('callback_id')
    .execute();
  const out = new Map<string, CallbackActivity>();
  const get = (id: string) => {
    let a = out.get(id);
    if (!a) out.set(id, (a = { callbackId: id, delivered24h: 0, failed24h: 0, delivered7d: 0, failed7d: 0, pending: 0 }));
    return a;
  };
  for (const r of done) {
    const a = get(r.callback_id);
    a.delivered24h = Number(r.d24);
    a.failed24h = Number(r.f24);
    a.delivered7d = Number(r.d7);
    a.failed7d = Number(r.f7);
  }
  for (const r of owed) get(r.callback_id).pending = Number(r.n);
  return [...out.values()];
}

/** Titles of these callbacks of the account. */
export async function callbackTitles(db: Db, accountId: string, ids: readonly string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db.selectFrom('callbacks').select(['id', 'title']).where('account_id', '=', accountId).where('id', 'in', ids).execute();
  return new Map(rows.map((r) => [r.id, r.title]));
}
