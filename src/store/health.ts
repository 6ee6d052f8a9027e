import type { Db } from './db.js';
import type { CallbackHealthRow } from './schema.js';

/**
 * Starts a failure episode unless one is running: true only for the caller that started it, so one
 * process among many sends the episode's notice.
 */
export async function startFailureEpisode(db: Db, callbackId: string, accountId: string, now: number): Promise<boolean> {
  const rows = await db
    .insertInto('callback_health')
    .values({
      callback_id: callbackId,
      account_id: accountId,
      failing_since: now,
      last_failure_at: now,
      last_error: null,
      last_success_at: null,
      exhausted_count: 0,
      failure_noticed: 0,
      last_notice_at: null,
      updated_at: now,
    })
    .onConflict((oc) =>
      oc
        .column('callback_id')
        .doUpdateSet({ failing_since: now, exhausted_count: 0, failure_noticed: 0, updated_at: now })
        .where('callback_health.failing_since', 'is', null),
    )
    .returning('callback_id')
    .execute();
  return rows.length > 0;
}

/** Notes one more failure of the running episode; returns the episode as it is now. */
export async function recordCallbackFailure(
  db: Db,
  callbackId: string,
  opts: { now: number; error: string; exhausted: boolean },
): Promise<Pick<CallbackHealthRow, 'failing_since' | 'exhausted_count'> | undefined> {
  return db
    .updateTable('callback_health')
    .set((eb) => ({
      last_failure_at: opts.now,
      last_error: opts.error,
      exhausted_count: opts.exhausted ? eb('exhausted_count', '+', 1) : eb.ref('exhausted_count'),
      updated_at: opts.now,
    }))
    .where('callback_id', '=', callbackId)
    .returning(['failing_since', 'exhausted_count'])
    .executeTakeFirst();
}

/**
 * Ends the running episode (a success): returns it as it was, or undefined when there was none, so
 * one caller sends the recovery notice.
 */
export async function endFailureEpisode(
  db: Db,
  callbackId: string,
  now: number,
): Promise<Pick<CallbackHealthRow, 'failure_noticed' | 'last_error'> | undefined> {
  return db
    .updateTable('callback_health')
    // failure_noticed stays as it was (RETURNING gives the new values); the next episode resets it.
    .set({ failing_since: null, exhausted_count: 0, last_success_at: now, updated_at: now })
    .where('callback_id', '=', callbackId)
    .where('failing_since', 'is not', null)
    .returning(['failure_noticed', 'last_error'])
    .executeTakeFirst();
}

/**
 * Takes the callback's notice slot: true when no failure notice went out within `intervalMs`
 * (the per-callback throttle), and marks the episode as notified.
 */
export async function claimFailureNotice(db: Db, callbackId: string, now: number, intervalMs: number): Promise<boolean> {
  const res = await db
    .updateTable('callback_health')
    .set({ last_notice_at: now, failure_noticed: 1, updated_at: now })
    .where('callback_id', '=', callbackId)
    .where('failure_noticed', '=', 0)
    .where((eb) => eb.or([eb('last_notice_at', 'is', null), eb('last_notice_at', '<=', now - intervalMs)]))
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** Enabling a callback starts it afresh: no episode, nothing counted against it. */
export async function resetCallbackHealth(db: Db, callbackId: string, now: number): Promise<void> {
  await db
    .updateTable('callback_health')
    .set({ failing_since: null, exhausted_count: 0, failure_noticed: 0, updated_at: now })
    .where('callback_id', '=', callbackId)
    .execute();
}

/** Callbacks failing without a success since `before` or earlier (auto-disable candidates). */
export async function listCallbacksFailingSince(db: Db, before: number): Promise<Pick<CallbackHealthRow, 'callback_id' | 'account_id' | 'failing_since'>[]> {
  return db
    .selectFrom('callback_health')
    .select(['callback_id', 'account_id', 'failing_since'])
    .where('failing_since', 'is not', null)
    .where('failing_since', '<=', before)
    .execute();
}

export async function deleteCallbackHealth(db: Db, callbackId: string): Promise<void> {
  await db.deleteFrom('callback_health').where('callback_id', '=', callbackId).execute();
}

export async function findCallbackHealth(db: Db, callbackId: string): Promise<CallbackHealthRow | undefined> {
  return db.selectFrom('callback_health').selectAll().where('callback_id', '=', callbackId).executeTakeFirst();
}
