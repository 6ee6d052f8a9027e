import type { Db } from './db.js';
import type { NoticeTargetRow } from './schema.js';
import { openNoticeTarget, sealNoticeTarget } from './sealing.js';

/** Who a notice target belongs to: a callback (its failure notices), an account (the defaults) or an alert rule. */
export type TargetOwner = 'callback' | 'account' | 'alert_rule';

/** An owner's targets, oldest first, secrets opened. */
export async function listNoticeTargets(db: Db, owner: TargetOwner, ownerId: string): Promise<NoticeTargetRow[]> {
  const rows = await db.selectFrom('notice_targets').selectAll().where('owner', '=', owner).where('owner_id', '=', ownerId).orderBy('created_at').orderBy('id').execute();
  return rows.map(openNoticeTarget);
}

export async function findNoticeTarget(db: Db, accountId: string, id: string): Promise<NoticeTargetRow | undefined> {
  const row = await db.selectFrom('notice_targets').selectAll().where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
  return row && openNoticeTarget(row);
}

/**
 * Replaces an owner's targets of the given channels (every channel: `channels` undefined) with `rows`,
 * in one transaction. Rows are sealed here, so a refused secret changes nothing.
 */
export async function replaceNoticeTargets(
  db: Db,
  owner: TargetOwner,
  ownerId: string,
  channels: readonly string[] | undefined,
  rows: NoticeTargetRow[],
): Promise<void> {
  const sealed = rows.map((r) => sealNoticeTarget(r));
  await db.transaction().execute(async (trx) => {
    let del = trx.deleteFrom('notice_targets').where('owner', '=', owner).where('owner_id', '=', ownerId);
    if (channels !== undefined) {
      if (channels.length === 0) return insertTargets(trx, sealed);
      del = del.where('channel', 'in', channels);
    }
    await del.execute();
    await insertTargets(trx, sealed);
  });
}

async function insertTargets(db: Db, rows: NoticeTargetRow[]): Promise<void> {
  if (rows.length > 0) await db.insertInto('notice_targets').values(rows).execute();
}

/** When the callback or alert rule goes, so do its targets. */
export async function deleteNoticeTargets(db: Db, owner: TargetOwner, ownerId: string): Promise<void> {
  await db.deleteFrom('notice_targets').where('owner', '=', owner).where('owner_id', '=', ownerId).execute();
}
