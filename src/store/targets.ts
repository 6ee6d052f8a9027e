import type { Db } from './db.js';
import type { NoticeTargetRow } from './schema.js';
import { openNoticeTarget, sealNoticeTarget } from './sealing.js';

/** Who a notice target belongs to: a callback (its failure notices), an account (the defaults) or an alert rule. */
export type TargetOwner = 'callback' | 'account' | 'alert_rule';

/** An owner's targets in their order, secrets opened. */
export async function listNoticeTargets(db: Db, owner: TargetOwner, ownerId: string): Promise<NoticeTargetRow[]> {
  const rows = await db.selectFrom('notice_targets').selectAll().where('owner', '=', owner).where('owner_id', '=', ownerId).orderBy('position').execute();
  return rows.map(openNoticeTarget);
}

export async function findNoticeTarget(db: Db, accountId: string, id: string): Promise<NoticeTargetRow | undefined> {
  const row = await db.selectFrom('notice_targets').selectAll().where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
  return row && openNoticeTarget(row);
}

/**
 * Replaces an owner's targets with `rows` (numbered in their order). Rows are sealed first, so a
 * refused secret changes nothing; run it in the transaction that changes the owner.
 */
export async function replaceNoticeTargets(db: Db, owner: TargetOwner, ownerId: string, rows: NoticeTargetRow[]): Promise<void> {
  const sealed = rows.map((r, position) => sealNoticeTarget({ ...r, position }));
  await deleteNoticeTargets(db, owner, ownerId);
  if (sealed.length > 0) await db.insertInto('notice_targets').values(sealed).execute();
}

/** When the callback or alert rule goes, so do its targets. */
export async function deleteNoticeTargets(db: Db, owner: TargetOwner, ownerId: string): Promise<void> {
  await db.deleteFrom('notice_targets').where('owner', '=', owner).where('owner_id', '=', ownerId).execute();
}
