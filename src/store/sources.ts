import { createHash } from 'node:crypto';
import type { Db } from './db.js';
import type { SourceRow } from './schema.js';
import { openSource, sealSource } from './sealing.js';

/** How a request finds its source: hex SHA-256 of the URL token (the token itself is sealed at rest). */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Stores a new source (its secrets sealed). */
export async function insertSource(db: Db, row: SourceRow): Promise<void> {
  await db.insertInto('sources').values(sealSource(row)).execute();
}

export async function findSource(db: Db, accountId: string, id: string): Promise<SourceRow | undefined> {
  const row = await db.selectFrom('sources').selectAll().where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
  return row && openSource(row);
}

/** The source of an ingest URL's token, whoever owns it (the token is the credential). */
export async function findSourceByToken(db: Db, token: string): Promise<SourceRow | undefined> {
  const row = await db.selectFrom('sources').selectAll().where('token_digest', '=', tokenDigest(token)).executeTakeFirst();
  return row && openSource(row);
}

/** Any account's source by id (the mapper reads the source of a stored request). */
export async function findSourceById(db: Db, id: string): Promise<SourceRow | undefined> {
  const row = await db.selectFrom('sources').selectAll().where('id', '=', id).executeTakeFirst();
  return row && openSource(row);
}

/** An account's sources, newest first, with the total. */
export async function listSources(db: Db, accountId: string, offset: number, limit: number): Promise<{ rows: SourceRow[]; total: number }> {
  const rows = await db
    .selectFrom('sources')
    .selectAll()
    .where('account_id', '=', accountId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .offset(offset)
    .limit(limit)
    .execute();
  const { n } = await db.selectFrom('sources').select((eb) => eb.fn.countAll<number>().as('n')).where('account_id', '=', accountId).executeTakeFirstOrThrow();
  return { rows: rows.map(openSource), total: Number(n) };
}

/** Writes a source's title and settings; false when it is gone. */
export async function updateSource(db: Db, row: SourceRow): Promise<boolean> {
  const sealed = sealSource(row);
  const res = await db
    .updateTable('sources')
    .set({ title: sealed.title, settings: sealed.settings, updated_at: sealed.updated_at })
    .where('account_id', '=', row.account_id)
    .where('id', '=', row.id)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** Gives a source a new URL token (sealed) and digest: the old ingest URL stops working at once. False when it is gone. */
export async function replaceSourceToken(db: Db, row: SourceRow, token: string, now: number): Promise<boolean> {
  const sealed = sealSource({ ...row, token });
  const res = await db
    .updateTable('sources')
    .set({ token: sealed.token, token_digest: tokenDigest(token), updated_at: now })
    .where('account_id', '=', row.account_id)
    .where('id', '=', row.id)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** Deletes a source and the requests it received; false when it was not there. */
export async function deleteSource(db: Db, accountId: string, id: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const res = await trx.deleteFrom('sources').where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
    if (Number(res.numDeletedRows) === 0) return false;
    await trx.deleteFrom('inbound_requests').where('source_id', '=', id).execute();
    return true;
  });
}

/** Sources holding secrets, for the master-key sweep (raw rows, as stored). */
export async function listSourceSecrets(db: Db, afterId: string, limit: number): Promise<Pick<SourceRow, 'id' | 'format' | 'settings' | 'token'>[]> {
  return db.selectFrom('sources').select(['id', 'format', 'settings', 'token']).where('id', '>', afterId).orderBy('id').limit(limit).execute();
}

/** Writes `next` where the row still holds `prev` (compare and set, like updateCallbackSecrets). */
export async function updateSourceSecrets(db: Db, prev: Pick<SourceRow, 'id' | 'settings' | 'token'>, next: Pick<SourceRow, 'settings' | 'token'>): Promise<boolean> {
  const res = await db
    .updateTable('sources')
    .set({ settings: next.settings, token: next.token })
    .where('id', '=', prev.id)
    .where('settings', '=', prev.settings)
    .where('token', '=', prev.token)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}
