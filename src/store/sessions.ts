import type { Db } from './db.js';
import type { SessionRow } from './schema.js';

/** A session with the name of the api user it stands for (a revoked user's sessions are gone). */
export type SessionWithUser = SessionRow & { api_user: string };

export async function insertSession(db: Db, row: SessionRow): Promise<void> {
  await db.insertInto('sessions').values(row).execute();
}

/** The live session whose token digest is `id`: a primary-key read, done on every request made with the cookie. */
export async function findLiveSession(db: Db, id: string, now: number): Promise<SessionWithUser | undefined> {
  return db
    .selectFrom('sessions as s')
    .innerJoin('api_users as u', 'u.id', 's.api_user_id')
    .selectAll('s')
    .select('u.name as api_user')
    .where('s.id', '=', id)
    .where('s.expires_at', '>', now)
    .where('u.revoked_at', 'is', null)
    .executeTakeFirst();
}

export async function deleteSession(db: Db, id: string): Promise<boolean> {
  const res = await db.deleteFrom('sessions').where('id', '=', id).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

/** Ends every session of an api user (its key was revoked or rotated). */
export async function deleteSessionsOfApiUser(db: Db, apiUserId: string): Promise<number> {
  const res = await db.deleteFrom('sessions').where('api_user_id', '=', apiUserId).executeTakeFirst();
  return Number(res.numDeletedRows);
}

/** Removes sessions that expired before `now` (they no longer authenticate; this only frees the rows). */
export async function deleteExpiredSessions(db: Db, now: number): Promise<number> {
  const res = await db.deleteFrom('sessions').where('expires_at', '<=', now).executeTakeFirst();
  return Number(res.numDeletedRows);
}
