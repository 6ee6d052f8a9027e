import { sql } from 'kysely';
import type { Db } from './db.js';
import { accountRollups, callbackRollups, LATENCY_BOUNDS_MS, rollupTotals, TOTALS_ALL_MS, TOTALS_RECENT_MS, type RolledUpActivity } from './rollups.js';

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

/** Where statistics over [from, to) switch from rolled-up hours to live aggregation: the rollups' mark, within the window. */
function splitAt(through: number | null, from: number, to: number): number {
  return Math.min(Math.max(through ?? from, from), to);
}

/**
 * A callback's figures over [from, to): finished deliveries by state and by bucket of `bucketMs`, its
 * delivery attempts' durations, and what it owes now (pending: deliveries_due; held: deliveries_held).
 * Hours before `through` (the rollups' mark) come from delivery_rollups; the rest (the current hour)
 * is aggregated live in SQL (deliveries_callback_finished, attempts_callback): no row is loaded, and
 * the live part's durations only as (duration, count) pairs. Percentiles are nearest-rank: exact over
 * live hours, from the histogram over rolled-up ones (see LATENCY_BOUNDS_MS). `from` and `to` are
 * multiples of `bucketMs`, itself a multiple of an hour.
 */
export async function callbackStats(
  db: Db,
  accountId: string,
  callbackId: string,
  from: number,
  to: number,
  bucketMs: number,
  through: number | null,
): Promise<CallbackStats> {
  const split = splitAt(through, from, to);
  const rolled = await callbackRollups(db, accountId, callbackId, from, split);
  const bucket = sql<number>`(${sql.ref('completed_at')} / ${sql.lit(bucketMs)}) * ${sql.lit(bucketMs)}`;
  const finished =
    split >= to
      ? []
      : await db
          .selectFrom('deliveries')
          .select((eb) => [bucket.as('start'), 'state', eb.fn.countAll<number>().as('n')])
          // By callback alone (the caller checked its account): deliveries_callback_finished answers it.
          .where('callback_id', '=', callbackId)
          .where('completed_at', '>=', split)
          .where('completed_at', '<', to)
          .groupBy([bucket, 'state'])
          .execute();
  const started = sql<number>`(${sql.ref('started_at')} / ${sql.lit(bucketMs)}) * ${sql.lit(bucketMs)}`;
  const attempts = db
    .selectFrom('attempts')
    .where('callback_id', '=', callbackId)
    .where('account_id', '=', accountId)
    .where('kind', '=', 'delivery')
    .where('started_at', '>=', split)
    .where('started_at', '<', to);
  const latency =
    split >= to
      ? []
      : await attempts
          .select((eb) => [started.as('start'), eb.fn.sum<number>('duration_ms').as('sum'), eb.fn.countAll<number>().as('n')])
          .groupBy(started)
          .execute();
  const durations =
    split >= to ? [] : await attempts.select((eb) => ['duration_ms', eb.fn.countAll<number>().as('n')]).groupBy('duration_ms').execute();
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

  const buckets = new Map<number, StatsBucket & { sum: number; n: number }>();
  for (let s = from; s < to; s += bucketMs) buckets.set(s, { start: s, delivered: 0, failed: 0, latencyAvgMs: null, sum: 0, n: 0 });
  const at = (t: number) => buckets.get(Math.floor(t / bucketMs) * bucketMs);
  let delivered = 0;
  let failed = 0;
  // Nearest-rank percentiles over (value, count) pairs: live durations as they are, rolled-up hours by histogram.
  const samples: [number, number][] = [];
  for (const h of rolled) {
    delivered += h.delivered;
    failed += h.failed;
    const b = at(h.hourStart);
    if (b) {
      b.delivered += h.delivered;
      b.failed += h.failed;
      b.sum += h.latencySumMs;
      b.n += h.latencyCount;
    }
    h.histogram.forEach((n, i) => {
      if (n > 0) samples.push([Math.min(LATENCY_BOUNDS_MS[i] ?? Infinity, h.latencyMaxMs ?? Infinity), n]);
    });
  }
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
  for (const r of latency) {
    const b = buckets.get(Number(r.start));
    if (b) {
      b.sum += Number(r.sum);
      b.n += Number(r.n);
    }
  }
  for (const d of durations) samples.push([Number(d.duration_ms), Number(d.n)]);
  samples.sort((a, b) => a[0] - b[0]);
  const total = samples.reduce((n, s) => n + s[1], 0);
  const percentile = (p: number) => {
    if (total === 0) return null;
    let rank = Math.max(1, Math.ceil(p * total));
    for (const [value, n] of samples) {
      if (rank <= n) return value;
      rank -= n;
    }
    return samples[samples.length - 1]![0];
  };
  return {
    delivered,
    failed,
    pending: Number(pending.n),
    held: Number(held.n),
    latencyP50Ms: percentile(0.5),
    latencyP95Ms: percentile(0.95),
    buckets: [...buckets.values()].map(({ start, delivered, failed, sum, n }) => ({
      start,
      delivered,
      failed,
      latencyAvgMs: n === 0 ? null : Math.round(sum / n),
    })),
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

/**
 * An account's queue now, per callback (deliveries_due holds only pending ones, one range per callback
 * of the account): owed, due, the oldest due, in flight; and the account's held ones (deliveries_held).
 * The overview sums the first for its queue and shows it per callback.
 */
export async function accountQueue(db: Db, accountId: string, now: number): Promise<QueueFigures & { perCallback: Map<string, number> }> {
  const rows = await db
    .selectFrom('deliveries')
    .select((eb) => [
      'callback_id',
      eb.fn.countAll<number>().as('pending'),
      eb.fn.sum<number>(eb.case().when(eb.and([eb('lease_owner', 'is', null), eb('next_attempt_at', '<=', now)])).then(1).else(0).end()).as('due'),
      eb.fn.min(eb.case().when(eb.and([eb('lease_owner', 'is', null), eb('next_attempt_at', '<=', now)])).then(eb.ref('next_attempt_at')).end()).as('oldest'),
      eb.fn.sum<number>(eb.case().when('lease_owner', 'is not', null).then(1).else(0).end()).as('in_flight'),
    ])
    .where('state', '=', 'pending')
    .where('callback_id', 'in', callbacksOf(db, accountId))
    .groupBy('callback_id')
    .execute();
  const held = await db
    .selectFrom('deliveries')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('state', '=', 'held')
    .where('account_id', '=', accountId)
    .executeTakeFirstOrThrow();
  const q = { pending: 0, dueNow: 0, oldestDueAt: null as number | null, inFlight: 0, held: Number(held.n), perCallback: new Map<string, number>() };
  for (const r of rows) {
    q.pending += Number(r.pending);
    q.dueNow += Number(r.due ?? 0);
    q.inFlight += Number(r.in_flight ?? 0);
    if (r.oldest !== null && (q.oldestDueAt === null || Number(r.oldest) < q.oldestDueAt)) q.oldestDueAt = Number(r.oldest);
    q.perCallback.set(r.callback_id, Number(r.pending));
  }
  return q;
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
 * Per callback of the account: finished deliveries since `since7d` and `since24h` (hour starts), and
 * owed ones now. Hours before `through` (the rollups' mark) from delivery_rollups, a GROUP BY of the
 * account's rolled-up hours; the rest live, a GROUP BY callback_id over deliveries_finished (the
 * current hour once the rollups are up to date); `owed`: pending ones per callback (accountQueue).
 */
export async function accountActivity(
  db: Db,
  accountId: string,
  since24h: number,
  since7d: number,
  now: number,
  through: number | null,
  owed: ReadonlyMap<string, number>,
): Promise<CallbackActivity[]> {
  const split = splitAt(through, since7d, now + 1);
  const rolled = await rolledUpActivity(db, accountId, since24h, since7d, split, through);
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
    .where('completed_at', '>=', split)
    .groupBy('callback_id')
    .execute();
  const out = new Map<string, CallbackActivity>();
  const get = (id: string) => {
    let a = out.get(id);
    if (!a) out.set(id, (a = { callbackId: id, delivered24h: 0, failed24h: 0, delivered7d: 0, failed7d: 0, pending: 0 }));
    return a;
  };
  for (const r of rolled) {
    const a = get(r.callbackId);
    a.delivered24h += r.deliveredRecent;
    a.failed24h += r.failedRecent;
    a.delivered7d += r.delivered;
    a.failed7d += r.failed;
  }
  for (const r of done) {
    const a = get(r.callback_id);
    a.delivered24h += Number(r.d24);
    a.failed24h += Number(r.f24);
    a.delivered7d += Number(r.d7);
    a.failed7d += Number(r.f7);
  }
  for (const [id, n] of owed) get(id).pending = n;
  // A callback the totals hold for hours before the windows only: nothing to show.
  return [...out.values()].filter((a) => a.delivered7d + a.failed7d + a.pending > 0);
}

/**
 * Per callback: its rolled-up hours in [since7d, split) and [since24h, split). Where the totals sum
 * the hours up to the mark (the job rebuilds them after each run), they are read (one row per
 * callback) less the hours they hold before the windows start (none, or the one hour after the
 * current one began and before it was rolled up); otherwise the rolled-up hours are summed here.
 */
async function rolledUpActivity(db: Db, accountId: string, since24h: number, since7d: number, split: number, through: number | null): Promise<RolledUpActivity[]> {
  const covered = through !== null && split === through && through - TOTALS_ALL_MS <= since7d && through - TOTALS_RECENT_MS <= since24h;
  const totals = covered ? await rollupTotals(db, accountId, through) : null;
  if (!covered || !totals) return accountRollups(db, accountId, since7d, since24h, split);
  const out = new Map<string, RolledUpActivity>(
    totals.map((t) => [t.callbackId, { callbackId: t.callbackId, deliveredRecent: t.delivered24h, failedRecent: t.failed24h, delivered: t.delivered7d, failed: t.failed7d }]),
  );
  const less = (id: string) => out.get(id) ?? { deliveredRecent: 0, failedRecent: 0, delivered: 0, failed: 0 };
  for (const r of await accountRollups(db, accountId, through - TOTALS_ALL_MS, since7d, since7d)) {
    const a = less(r.callbackId);
    a.delivered -= r.delivered;
    a.failed -= r.failed;
  }
  for (const r of await accountRollups(db, accountId, through - TOTALS_RECENT_MS, through - TOTALS_RECENT_MS, since24h)) {
    const a = less(r.callbackId);
    a.deliveredRecent -= r.delivered;
    a.failedRecent -= r.failed;
  }
  return [...out.values()];
}

/** Titles of these callbacks of the account. */
export async function callbackTitles(db: Db, accountId: string, ids: readonly string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db.selectFrom('callbacks').select(['id', 'title']).where('account_id', '=', accountId).where('id', 'in', ids).execute();
  return new Map(rows.map((r) => [r.id, r.title]));
}
