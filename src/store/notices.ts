import type { Db } from './db.js';
import { inSnapshot } from './snapshot.js';
import type { AccountSettingsRow, CallbackNotificationsRow, NewNotice, NoticeRow } from './schema.js';
import { openBotToken, sealBotToken } from './sealing.js';

export async function insertNotices(db: Db, rows: NewNotice[]): Promise<void> {
  if (rows.length === 0) return;
  await db.insertInto('notices').values(rows).execute();
}

export interface NoticeFilter {
  callbackId?: string | undefined;
  kind?: string | undefined;
}

export async function listNotices(
  db: Db,
  accountId: string,
  filter: NoticeFilter,
  offset: number,
  limit: number,
): Promise<{ rows: NoticeRow[]; total: number }> {
  return inSnapshot(db, async (trx) => {
    let q = trx.selectFrom('notices').where('account_id', '=', accountId);
    if (filter.callbackId !== undefined) q = q.where('callback_id', '=', filter.callbackId);
    if (filter.kind !== undefined) q = q.where('kind', '=', filter.kind);
    const rows = await q.selectAll().orderBy('id', 'desc').offset(offset).limit(limit).execute();
    const total = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return { rows, total: Number(total.n) };
  });
}

export async function findCallbackNotifications(db: Db, callbackId: string): Promise<CallbackNotificationsRow | undefined> {
  const row = await db.selectFrom('callback_notifications').selectAll().where('callback_id', '=', callbackId).executeTakeFirst();
  return row && openBotToken(row);
}

/** Sets a callback's notification settings (its bot); `telegram_bot_token` undefined keeps the stored one. */
export async function upsertCallbackNotifications(
  db: Db,
  row: Omit<CallbackNotificationsRow, 'telegram_bot_token'> & { telegram_bot_token: string | null | undefined },
): Promise<void> {
  const { telegram_bot_token, ...rest } = sealBotToken(row);
  await db
    .insertInto('callback_notifications')
    .values({ ...rest, telegram_bot_token: telegram_bot_token ?? null })
    .onConflict((oc) =>
      oc.column('callback_id').doUpdateSet({
        updated_at: rest.updated_at,
        ...(telegram_bot_token !== undefined ? { telegram_bot_token } : {}),
      }),
    )
    .execute();
}

export async function deleteCallbackNotifications(db: Db, callbackId: string): Promise<void> {
  await db.deleteFrom('callback_notifications').where('callback_id', '=', callbackId).execute();
}

export async function findAccountSettings(db: Db, accountId: string): Promise<AccountSettingsRow | undefined> {
  const row = await db.selectFrom('account_settings').selectAll().where('account_id', '=', accountId).executeTakeFirst();
  return row && openBotToken(row);
}

export type AccountSettingsPatch = Partial<Omit<AccountSettingsRow, 'account_id' | 'updated_at'>>;

/** Creates the account's settings row with defaults, or changes only the fields in `patch`. */
export async function upsertAccountSettings(db: Db, accountId: string, given: AccountSettingsPatch, now: number): Promise<void> {
  const patch = sealBotToken(given);
  await db
    .insertInto('account_settings')
    .values({
      account_id: accountId,
      telegram_bot_token: null,
      report_frequency: 'off',
      report_emails: '[]',
      report_next_at: null,
      ...patch,
      updated_at: now,
    })
    .onConflict((oc) => oc.column('account_id').doUpdateSet({ ...patch, updated_at: now }))
    .execute();
}

/**
 * Deletes the account's oldest notices (up to `limit`, by id) that were sent before `before`; returns
 * how many went. Ids grow with time, so once the oldest left is too young nothing older remains, and a
 * run reads at most `limit` rows through `notices_account`, however many notices the account keeps.
 */
export async function deleteExpiredNotices(db: Db, accountId: string, before: number, limit: number): Promise<number> {
  const oldest = await db.selectFrom('notices').select(['id', 'created_at']).where('account_id', '=', accountId).orderBy('id').limit(limit).execute();
  const ids = oldest.filter((n) => n.created_at < before).map((n) => n.id);
  if (ids.length === 0) return 0;
  const res = await db.deleteFrom('notices').where('account_id', '=', accountId).where('id', 'in', ids).executeTakeFirst();
  return Number(res.numDeletedRows);
}
