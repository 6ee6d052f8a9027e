import { sql } from 'kysely';
import type { Db } from './db.js';
import type { DeliveryRollupsTable } from './schema.js';

export const HOUR_MS = 3_600_000;

/**
 * Upper bounds (inclusive) of the latency histogram's buckets; one more bucket holds what is above
 * the last. A percentile over rolled-up hours is the bound of the bucket holding its rank, capped at
 * that hour's maximum: at most one bucket's width above the exact figure, never below it.
 */
export const LATENCY_BOUNDS_MS = [25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000] as const;

/** The scheduler_state row saying up to when (exclusive, an hour start) every hour is rolled up. */
const THROUGH = 'delivery_rollups.through';
/** The scheduler_state row saying up to when delivery_rollup_totals sum the rolled-up hours. */
const TOTALS_THROUGH = 'delivery_rollups.totals_through';
/** The spans delivery_rollup_totals sum, ending at their mark: the overview's windows without the current hour. */
export const TOTALS_RECENT_MS = 23 * 3_600_000;
export const TOTALS_ALL_MS = 167 * 3_600_000;

/** Every hour before this one is rolled up (as far back as statistics look); null: none yet. */
export async function rollupsThrough(db: Db): Promise<number | null> {
  const row = await db.selectFrom('scheduler_state').select('value').where('name', '=', THROUGH).executeTakeFirst();
  return row ? Number(row.value) : null;
}

/**
 * Rolls up one closed hour for every account: deliveries that finished in it per callback and state
 * (deliveries_finished), and the latency of delivery attempts started in it per callback of the
 * account (attempts_callback). Replaces the hour's rows, so running it again changes nothing; then
 * moves the mark past the hour (if not past already). Run it in a transaction, hours in order. Returns the rows written.
 */
export async function rollUpHour(db: Db, hourStart: number, now: number): Promise<number> {
  const end = hourStart + HOUR_MS;
  await db.deleteFrom('delivery_rollups').where('hour_start', '=', hourStart).execute();
  let rows = 0;
  const accounts = await db.selectFrom('accounts').select('id').execute();
  for (const { id: accountId } of accounts) {
    const finished = await db
      .selectFrom('deliveries')
      .select((eb) => ['callback_id', 'state', eb.fn.countAll<number>().as('n')])
      .where('account_id', '=', accountId)
      .where('completed_at', '>=', hourStart)
      .where('completed_at', '<', end)
      .where('state', 'in', ['delivered', 'failed'])
      .groupBy(['callback_id', 'state'])
      .execute();
    const histogram = LATENCY_BOUNDS_MS.map(
      (bound, i) => sql<number>`sum(case when duration_ms <= ${sql.lit(bound)} then 1 else 0 end)`.as(`h${i}`),
    );
    const latency = await db
      .selectFrom('attempts')
      .select((eb) => [
        'callback_id',
        eb.fn.countAll<number>().as('n'),
        eb.fn.sum<number>('duration_ms').as('sum'),
        eb.fn.max<number>('duration_ms').as('max'),
        ...histogram,
      ])
      // Per callback of the account: attempts_callback, one range each (no index has attempts by account and time).
      .where('callback_id', 'in', db.selectFrom('callbacks').select('id').where('account_id', '=', accountId))
      .where('account_id', '=', accountId)
      .where('kind', '=', 'delivery')
      .where('started_at', '>=', hourStart)
      .where('started_at', '<', end)
      .groupBy('callback_id')
      .execute();
    const out = new Map<string, { delivered: number; failed: number; n: number; sum: number; max: number | null; hist: number[] }>();
    const get = (id: string) => {
      let r = out.get(id);
      if (!r) out.set(id, (r = { delivered: 0, failed: 0, n: 0, sum: 0, max: null, hist: new Array(LATENCY_BOUNDS_MS.length + 1).fill(0) }));
      return r;
    };
    for (const f of finished) get(f.callback_id)[f.state === 'delivered' ? 'delivered' : 'failed'] = Number(f.n);
    for (const l of latency) {
      const r = get(l.callback_id);
      r.n = Number(l.n);
      r.sum = Number(l.sum);
      r.max = l.max === null ? null : Number(l.max);
      // Cumulative counts (<= bound) into per-bucket counts.
      const cum = LATENCY_BOUNDS_MS.map((_, i) => Number((l as Record<string, unknown>)[`h${i}`] ?? 0));
      r.hist = [...cum.map((c, i) => c - (i === 0 ? 0 : cum[i - 1]!)), r.n - (cum[cum.length - 1] ?? 0)];
    }
    const values = [...out].map(([callbackId, r]) => ({
      account_id: accountId,
      hour_start: hourStart,
      callback_id: callbackId,
      delivered: r.delivered,
      failed: r.failed,
      latency_count: r.n,
      latency_sum_ms: r.sum,
      latency_max_ms: r.max,
      latency_histogram: JSON.stringify(r.hist),
    }));
    // 9 parameters a row: well under either backend's limit per statement.
    for (let i = 0; i < values.length; i += 500) await db.insertInto('delivery_rollups').values(values.slice(i, i + 500)).execute();
    rows += values.length;
  }
  // The mark only moves forward (an hour rolled up again changes nothing else).
  if (end > ((await rollupsThrough(db)) ?? -Infinity)) await setMark(db, THROUGH, end, now);
  return rows;
}

async function setMark(db: Db, name: string, value: number, now: number): Promise<void> {
  await db
    .insertInto('scheduler_state')
    .values({ name, value: String(value), updated_at: now })
    .onConflict((oc) => oc.column('name').doUpdateSet({ value: String(value), updated_at: now }))
    .execute();
}

/**
 * Rebuilds an account's delivery_rollup_totals: per callback, the sums of its rolled-up hours in
 * [through - TOTALS_RECENT_MS, through) and [through - TOTALS_ALL_MS, through). One GROUP BY of the
 * account's rolled-up week, done by the job once per run rather than on every overview request.
 */
export async function rebuildRollupTotals(db: Db, accountId: string, through: number): Promise<void> {
  await db.deleteFrom('delivery_rollup_totals').where('account_id', '=', accountId).execute();
  const recent = through - TOTALS_RECENT_MS;
  await db
    .insertInto('delivery_rollup_totals')
    .columns(['account_id', 'callback_id', 'delivered_24h', 'failed_24h', 'delivered_7d', 'failed_7d'])
    .expression(
      db
        .selectFrom('delivery_rollups')
        .select((eb) => [
          'account_id',
          'callback_id',
          eb.fn.sum<number>(eb.case().when('hour_start', '>=', recent).then(eb.ref('delivered')).else(0).end()).as('delivered_24h'),
          eb.fn.sum<number>(eb.case().when('hour_start', '>=', recent).then(eb.ref('failed')).else(0).end()).as('failed_24h'),
          eb.fn.sum<number>('delivered').as('delivered_7d'),
          eb.fn.sum<number>('failed').as('failed_7d'),
        ])
        .where('account_id', '=', accountId)
        .where('hour_start', '>=', through - TOTALS_ALL_MS)
        .where('hour_start', '<', through)
        .groupBy(['account_id', 'callback_id']),
    )
    .execute();
}

/** Rebuilds every account's totals at the rollups' mark and records it. In a transaction. */
export async function rebuildAllRollupTotals(db: Db, now: number): Promise<void> {
  const through = await rollupsThrough(db);
  if (through === null) return;
  for (const { id } of await db.selectFrom('accounts').select('id').execute()) await rebuildRollupTotals(db, id, through);
  await setMark(db, TOTALS_THROUGH, through, now);
}

/** After rolled-up hours of an account before `before` were purged: its totals again, if they counted them. In a transaction. */
export async function refreshRollupTotalsAfterPurge(db: Db, accountId: string, before: number): Promise<void> {
  const row = await db.selectFrom('scheduler_state').select('value').where('name', '=', TOTALS_THROUGH).executeTakeFirst();
  if (!row) return;
  const through = Number(row.value);
  if (before - HOUR_MS >= through - TOTALS_ALL_MS) await rebuildRollupTotals(db, accountId, through);
}

export interface RollupTotals {
  callbackId: string;
  delivered24h: number;
  failed24h: number;
  delivered7d: number;
  failed7d: number;
}

/** An account's totals if they sum the rolled-up hours up to `through` (the rollups' mark), else null. */
export async function rollupTotals(db: Db, accountId: string, through: number): Promise<RollupTotals[] | null> {
  const row = await db.selectFrom('scheduler_state').select('value').where('name', '=', TOTALS_THROUGH).executeTakeFirst();
  if (!row || Number(row.value) !== through) return null;
  const rows = await db.selectFrom('delivery_rollup_totals').selectAll().where('account_id', '=', accountId).execute();
  return rows.map((r) => ({
    callbackId: r.callback_id,
    delivered24h: Number(r.delivered_24h),
    failed24h: Number(r.failed_24h),
    delivered7d: Number(r.delivered_7d),
    failed7d: Number(r.failed_7d),
  }));
}

export interface RolledUpHour {
  hourStart: number;
  callbackId: string;
  delivered: number;
  failed: number;
  latencyCount: number;
  latencySumMs: number;
  latencyMaxMs: number | null;
  /** Counts per bucket of LATENCY_BOUNDS_MS, the last above them. */
  histogram: number[];
}

const toHour = (r: Omit<DeliveryRollupsTable, 'account_id'>): RolledUpHour => ({
  hourStart: Number(r.hour_start),
  callbackId: r.callback_id,
  delivered: Number(r.delivered),
  failed: Number(r.failed),
  latencyCount: Number(r.latency_count),
  latencySumMs: Number(r.latency_sum_ms),
  latencyMaxMs: r.latency_max_ms === null ? null : Number(r.latency_max_ms),
  histogram: JSON.parse(r.latency_histogram) as number[],
});

/** A callback's rolled-up hours in [from, to) (delivery_rollups_callback). */
export async function callbackRollups(db: Db, accountId: string, callbackId: string, from: number, to: number): Promise<RolledUpHour[]> {
  if (to <= from) return [];
  const rows = await db
    .selectFrom('delivery_rollups')
    .selectAll()
    .where('callback_id', '=', callbackId)
    .where('hour_start', '>=', from)
    .where('hour_start', '<', to)
    .where('account_id', '=', accountId)
    .orderBy('hour_start')
    .execute();
  return rows.map(toHour);
}

export interface RolledUpActivity {
  callbackId: string;
  deliveredRecent: number;
  failedRecent: number;
  delivered: number;
  failed: number;
}

/** Per callback of the account: delivered and failed in rolled-up hours [from, to), and of them since `recentFrom`. */
export async function accountRollups(db: Db, accountId: string, from: number, recentFrom: number, to: number): Promise<RolledUpActivity[]> {
  if (to <= from) return [];
  const rows = await db
    .selectFrom('delivery_rollups')
    .select((eb) => [
      'callback_id',
      eb.fn.sum<number>(eb.case().when('hour_start', '>=', recentFrom).then(eb.ref('delivered')).else(0).end()).as('d_recent'),
      eb.fn.sum<number>(eb.case().when('hour_start', '>=', recentFrom).then(eb.ref('failed')).else(0).end()).as('f_recent'),
      eb.fn.sum<number>('delivered').as('d'),
      eb.fn.sum<number>('failed').as('f'),
    ])
    .where('account_id', '=', accountId)
    .where('hour_start', '>=', from)
    .where('hour_start', '<', to)
    .groupBy('callback_id')
    .execute();
  return rows.map((r) => ({
    callbackId: r.callback_id,
    deliveredRecent: Number(r.d_recent),
    failedRecent: Number(r.f_recent),
    delivered: Number(r.d),
    failed: Number(r.f),
  }));
}

/** The oldest of an account's rolled-up hours that ended by `before`, if any: its rows, one batch. Returns how many. */
export async function deleteExpiredRollups(db: Db, accountId: string, before: number): Promise<number> {
  const oldest = await db
    .selectFrom('delivery_rollups')
    .select((eb) => eb.fn.min<number>('hour_start').as('h'))
    .where('account_id', '=', accountId)
    .where('hour_start', '<=', before - HOUR_MS)
    .executeTakeFirst();
  if (!oldest || oldest.h === null) return 0;
  const res = await db.deleteFrom('delivery_rollups').where('account_id', '=', accountId).where('hour_start', '=', Number(oldest.h)).executeTakeFirst();
  return Number(res.numDeletedRows);
}
