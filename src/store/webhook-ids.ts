import type { Db } from './db.js';
import type { Capabilities } from './capabilities.js';
import { inConditions } from './pieces.js';

// The integer ids of the EngageLab e-mail WebHooks API (migration 0008). A callback gets one the first
// time that API shows it; ids are never reused, and one is looked up within its account only.

/** Gives these callbacks of the account an id where they have none (a concurrent caller's wins). */
export async function insertWebhookIds(db: Db, accountId: string, callbackIds: readonly string[]): Promise<void> {
  if (callbackIds.length === 0) return;
  await db
    .insertInto('webhook_ids')
    .values(callbackIds.map((callback_id) => ({ account_id: accountId, callback_id })))
    .onConflict((oc) => oc.column('callback_id').doNothing())
    .execute();
}

/** The ids of these callbacks of the account, by callback id (those without one are absent). */
export async function findWebhookIds(db: Db, caps: Capabilities, accountId: string, callbackIds: readonly string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const cond of inConditions('callback_id', callbackIds, caps)) {
    const rows = await db.selectFrom('webhook_ids').select(['id', 'callback_id']).where('account_id', '=', accountId).where(cond).execute();
    for (const r of rows) out.set(r.callback_id, r.id);
  }
  return out;
}

/** The callback an id stands for, within the account (another account's id is unknown). */
export async function findCallbackIdByWebhookId(db: Db, accountId: string, id: number): Promise<string | undefined> {
  const row = await db.selectFrom('webhook_ids').select('callback_id').where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
  return row?.callback_id;
}

/** Forgets a deleted callback's id (the id itself is not given again). */
export async function deleteWebhookId(db: Db, callbackId: string): Promise<void> {
  await db.deleteFrom('webhook_ids').where('callback_id', '=', callbackId).execute();
}
