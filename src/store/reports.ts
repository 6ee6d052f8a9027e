import { sql } from 'kysely';
import type { Db } from './db.js';
import type { AccountSettingsRow } from './schema.js';
import { openBotToken } from './sealing.js';

/** Accounts whose next report period has ended by `now`. */
export async function listDueReportAccounts(db: Db, periodEndedBy: number): Promise<AccountSettingsRow[]> {
  const rows = await db
    .selectFrom('account_settings')
    .selectAll()
    .where('report_frequency', '!=', 'off')
    .where('report_next_at', 'is not', null)
    .where('report_next_at', '<=', periodEndedBy)
    .execute();
  return rows.map(openBotToken);
}

/**
 * Claims one account's report for one period: true for exactly one caller ever (the primary key),
 * or again for a run that failed or was left `sending` by a process that died before `staleBefore`.
 */
export async function claimReportRun(
  db: Db,
  run: { account_id: string; frequency: string; period_start: number; period_end: number },
  now: number,
  staleBefore: number,
  maxTries: number,
): Promise<boolean> {
  const rows = await db
    .insertInto('report_runs')
    .values({ ...run, state: 'sending', tries: 1, error: null, created_at: now, updated_at: now })
    .onConflict((oc) =>
      oc
        .columns(['account_id', 'frequency', 'period_start'])
        .doUpdateSet((eb) => ({ state: 'sending', tries: eb('report_runs.tries', '+', 1), updated_at: now }))
        .where((eb) =>
          eb.and([
            eb('report_runs.tries', '<', maxTries),
            eb.or([eb('report_runs.state', '=', 'failed'), eb.and([eb('report_runs.state', '=', 'sending'), eb('report_runs.updated_at', '<', staleBefore)])]),
          ]),
        ),
    )
    .returning('period_start')
    .execute();
  return rows.length > 0;
}

export async function finishReportRun(
  db: Db,
  key: { account_id: string; frequency: string; period_start: number },
  state: 'sent' | 'failed',
  error: string | null,
  now: number,
): Promise<void> {
  await db
    .updateTable('report_runs')
    .set({ state, error, updated_at: now })
    .where('account_id', '=', key.account_id)
    .where('frequency', '=', key.frequency)
    .where('period_start', '=', key.period_start)
    .execute();
}

/** Moves the account's next report period on, only from where the caller saw it (no double step). */
export async function advanceReportPeriod(db: Db, accountId: string, from: number, to: number, now: number): Promise<boolean> {
  const res = await db
    .updateTable('account_settings')
    .set({ report_next_at: to, updated_at: now })
    .where('account_id', '=', accountId)
    .where('report_next_at', '=', from)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

export async function listReportRuns(db: Db, accountId: string, limit: number) {
  return db.selectFrom('report_runs').selectAll().where('account_id', '=', accountId).orderBy('period_start', 'desc').limit(limit).execute();
}

/** Per callback: deliveries that reached delivered / failed in [from, to). */
export async function countFinishedDeliveries(
  db: Db,
  accountId: string,
  from: number,
  to: number,
): Promise<{ callback_id: string; state: string; n: number }[]> {
  const rows = await db
    .selectFrom('deliveries')
    .select((eb) => ['callback_id', 'state', eb.fn.countAll<number>().as('n')])
    .where('account_id', '=', accountId)
    .where('state', 'in', ['delivered', 'failed'])
    .where('completed_at', '>=', from)
    .where('completed_at', '<', to)
    .groupBy(['callback_id', 'state'])
    .execute();
  return rows.map((r) => ({ callback_id: r.callback_id, state: r.state, n: Number(r.n) }));
}

/** Per callback: failed attempts in [from, to) by reason (error class, or HTTP status). */
export async function countFailureReasons(
  db: Db,
  accountId: string,
  from: number,
  to: number,
): Promise<{ callback_id: string; reason: string; n: number }[]> {
  const reason = sql<string>`coalesce(${sql.ref('error_class')}, 'http_' || cast(${sql.ref('response_status')} as text), 'unknown')`;
  const rows = await db
    .selectFrom('attempts')
    .select((eb) => ['callback_id', reason.as('reason'), eb.fn.countAll<number>().as('n')])
    .where('account_id', '=', accountId)
    .where('outcome', '!=', 'success')
    .where('started_at', '>=', from)
    .where('started_at', '<', to)
    .groupBy(['callback_id', reason])
    .execute();
  return rows.map((r) => ({ callback_id: r.callback_id, reason: r.reason, n: Number(r.n) }));
}

/** Deletes the account's report runs of periods that ended before `before` (their reports were sent or given up). */
export async function deleteExpiredReportRuns(db: Db, accountId: string, before: number): Promise<number> {
  const res = await db.deleteFrom('report_runs').where('account_id', '=', accountId).where('period_end', '<', before).executeTakeFirst();
  return Number(res.numDeletedRows);
}
