import type { Updateable } from 'kysely';
import type { Db } from './db.js';
import type { AlertRuleRow, AlertRulesTable } from './schema.js';

export async function insertAlertRule(db: Db, row: AlertRuleRow): Promise<void> {
  await db.insertInto('alert_rules').values(row).execute();
}

export async function findAlertRule(db: Db, accountId: string, id: string): Promise<AlertRuleRow | undefined> {
  return db.selectFrom('alert_rules').selectAll().where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
}

export async function listAlertRules(db: Db, accountId: string): Promise<AlertRuleRow[]> {
  return db.selectFrom('alert_rules').selectAll().where('account_id', '=', accountId).orderBy('created_at').orderBy('id').execute();
}

/** Enabled rules of one kind in every account (the periodic checks). */
export async function listEnabledAlertRulesOfKind(db: Db, kind: string): Promise<AlertRuleRow[]> {
  return db.selectFrom('alert_rules').selectAll().where('kind', '=', kind).where('enabled', '=', 1).execute();
}

export async function updateAlertRule(db: Db, accountId: string, id: string, patch: Updateable<AlertRulesTable>): Promise<boolean> {
  const res = await db.updateTable('alert_rules').set(patch).where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

export async function deleteAlertRule(db: Db, accountId: string, id: string): Promise<boolean> {
  const res = await db.deleteFrom('alert_rules').where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

/**
 * Takes the rule's cool-down slot: true when it did not fire within its cool-down, so one process
 * among many sends the alert.
 */
export async function claimAlertFiring(db: Db, id: string, now: number): Promise<boolean> {
  const res = await db
    .updateTable('alert_rules')
    .set({ last_fired_at: now })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('last_fired_at', 'is', null), eb('last_fired_at', '<=', eb.parens(eb.val(now), '-', eb.ref('cooldown_ms')))]))
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

export async function insertSentOtps(db: Db, rows: { account_id: string; message_id: string; sent_at: number }[]): Promise<void> {
  if (rows.length === 0) return;
  await db
    .insertInto('otp_tracking')
    .values(rows.map((r) => ({ ...r, verified_at: null, timeout_alerted: 0 })))
    .onConflict((oc) => oc.columns(['account_id', 'message_id']).doNothing())
    .execute();
}

export async function markOtpsVerified(db: Db, accountId: string, messageIds: string[], now: number): Promise<void> {
  if (messageIds.length === 0) return;
  await db
    .updateTable('otp_tracking')
    .set({ verified_at: now })
    .where('account_id', '=', accountId)
    .where('message_id', 'in', messageIds)
    .where('verified_at', 'is', null)
    .execute();
}

/** OTPs sent in [from, to) and how many of them were verified. */
export async function countOtpVerification(db: Db, accountId: string, from: number, to: number): Promise<{ sent: number; verified: number }> {
  const row = await db
    .selectFrom('otp_tracking')
    .select((eb) => [eb.fn.countAll<number>().as('sent'), eb.fn.count<number>('verified_at').as('verified')])
    .where('account_id', '=', accountId)
    .where('sent_at', '>=', from)
    .where('sent_at', '<', to)
    .executeTakeFirstOrThrow();
  return { sent: Number(row.sent), verified: Number(row.verified) };
}

/** OTPs sent before `sentBefore`, still unverified and not yet alerted on. */
export async function listUnverifiedOtps(db: Db, accountId: string, sentBefore: number, limit: number): Promise<{ message_id: string; sent_at: number }[]> {
  return db
    .selectFrom('otp_tracking')
    .select(['message_id', 'sent_at'])
    .where('account_id', '=', accountId)
    .where('sent_at', '<', sentBefore)
    .where('verified_at', 'is', null)
    .where('timeout_alerted', '=', 0)
    .orderBy('sent_at')
    .limit(limit)
    .execute();
}

export async function markOtpsTimeoutAlerted(db: Db, accountId: string, messageIds: string[]): Promise<void> {
  if (messageIds.length === 0) return;
  await db.updateTable('otp_tracking').set({ timeout_alerted: 1 }).where('account_id', '=', accountId).where('message_id', 'in', messageIds).execute();
}

/** Tracking older than every window is no longer needed. */
export async function deleteOtpTrackingBefore(db: Db, before: number): Promise<number> {
  const res = await db.deleteFrom('otp_tracking').where('sent_at', '<', before).executeTakeFirst();
  return Number(res.numDeletedRows);
}
