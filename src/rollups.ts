import { setImmediate as yieldTurn } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Clock } from './lib/clock.js';
import type { Job } from './scheduler.js';
import type { Store } from './store/db.js';
import { HOUR_MS, rebuildAllRollupTotals, rollUpHour, rollupsThrough } from './store/rollups.js';

/**
 * How long after its end an hour is rolled up: an attempt is written when it ends, and a delivery's
 * completion a moment after its last attempt, so an hour's figures settle a little after it closes.
 */
export const ROLLUP_DELAY_MS = 5 * 60_000;
/** How far back rollups start (first run, or after a long stop): the longest statistics window and more. */
export const ROLLUP_HORIZON_MS = 8 * 24 * HOUR_MS;

export interface RollupOptions {
  /** Hours one run rolls up at most (catching up after downtime); the rest waits for the next run. */
  maxHours?: number;
}

/**
 * The scheduler's job behind the statistics (src/store/stats.ts): rolls up each closed hour once, in
 * order, each hour in a transaction of its own (replacing that hour's rows, then moving the mark), and
 * catches up the hours missed while no scheduler ran, `maxHours` per run. Statistics read the rolled-up
 * hours and aggregate live only those after the mark, so they answer the same before and after a run.
 * After a run that rolled up hours, the per-callback totals of the overview are rebuilt at the new mark.
 * Nothing is written on the delivery path.
 */
export class DeliveryRollups {
  private readonly maxHours: number;

  constructor(
    private readonly deps: { store: Store; clock: Clock; log: Logger },
    opts: RollupOptions = {},
  ) {
    this.maxHours = opts.maxHours ?? 48;
  }

  /** Every minute: a new hour closes once an hour, so most runs only read the mark. */
  job(everyMs = 60_000): Job {
    return { name: 'roll-up-deliveries', everyMs, run: (signal) => this.run(signal) };
  }

  /** Rolls up the closed hours not rolled up yet, oldest first, up to maxHours; stops early on `signal`. */
  async run(signal?: AbortSignal): Promise<{ hours: number; rows: number }> {
    const { store, clock } = this.deps;
    const now = clock.now();
    // Hours ending by `closed` are closed (and settled).
    const closed = Math.floor((now - ROLLUP_DELAY_MS) / HOUR_MS) * HOUR_MS;
    const horizon = Math.floor((now - ROLLUP_HORIZON_MS) / HOUR_MS) * HOUR_MS;
    let hour = Math.max((await rollupsThrough(store.db)) ?? horizon, horizon);
    let hours = 0;
    let rows = 0;
    while (hour + HOUR_MS <= closed && hours < this.maxHours && !signal?.aborted) {
      const at = hour;
      rows += await store.db.transaction().execute((trx) => rollUpHour(trx, at, now));
      hours += 1;
      hour += HOUR_MS;
      await yieldTurn();
    }
    // The overview's per-callback sums, once per run that moved the mark.
    if (hours > 0) await store.db.transaction().execute((trx) => rebuildAllRollupTotals(trx, now));
    if (hours > 1) this.deps.log.info({ hours, rows, through: new Date(hour).toISOString() }, 'rollups: caught up closed hours');
    return { hours, rows };
  }
}
