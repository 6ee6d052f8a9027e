import type { Store } from '../store/db.js';
import { countApiUsers, findAccount, findApiUserByName, insertAccount, insertApiUser, revokeApiUser as markRevoked, updateApiUserKey } from '../store/accounts.js';
import { deleteSessionsOfApiUser } from '../store/sessions.js';
import type { ApiUserRow } from '../store/schema.js';
import { sha256Hex } from '../lib/crypto.js';
import { newId, randomToken } from '../lib/ids.js';

export interface Credentials {
  accountId: string;
  apiUser: string;
  apiKey: string;
}

/**
 * Creates an api user, in a new account unless `accountId` names an existing one. The key is stored
 * only as its SHA-256 digest: this is the one moment it can be read.
 */
export async function createApiUser(
  store: Store,
  opts: { name: string; key?: string | undefined; accountId?: string | undefined; accountName?: string; adminEmail?: string | null },
): Promise<Credentials> {
  if (!/^[A-Za-z0-9._@-]{1,64}$/.test(opts.name)) throw new Error('api user names are 1-64 of A-Z a-z 0-9 . _ @ -');
  if (await findApiUserByName(store.db, opts.name)) throw new Error(`api user "${opts.name}" exists already`);
  const now = Date.now();
  const key = opts.key ?? randomToken(24);
  let accountId = opts.accountId;
  if (accountId !== undefined) {
    if (!(await findAccount(store.db, accountId))) throw new Error(`no account "${accountId}"`);
  } else {
    accountId = newId('acct', now);
    await insertAccount(store.db, { id: accountId, name: opts.accountName ?? opts.name, admin_email: opts.adminEmail ?? null, created_at: now });
  }
  await insertApiUser(store.db, { id: newId('usr', now), account_id: accountId, name: opts.name, key_hash: sha256Hex(key), created_at: now });
  return { accountId, apiUser: opts.name, apiKey: key };
}

/**
 * Revokes an api user: its key authenticates no more and its sessions end, in one transaction.
 * Returns the user as it was, or undefined when there is none of that name (in `accountId`, when given).
 * A user revoked already stays so (revoked_at unchanged).
 */
export async function revokeApiUser(store: Store, name: string, accountId?: string): Promise<ApiUserRow | undefined> {
  return store.db.transaction().execute(async (trx) => {
    const user = await findApiUserByName(trx, name);
    if (!user || (accountId !== undefined && user.account_id !== accountId)) return undefined;
    await markRevoked(trx, user.id, Date.now());
    await deleteSessionsOfApiUser(trx, user.id);
    return user;
  });
}

/**
 * Gives a live api user a new key (random unless given) and ends its sessions, in one transaction;
 * the old key stops working. Undefined when there is no such live user (in `accountId`, when given).
 */
export async function rotateApiUserKey(
  store: Store,
  name: string,
  opts: { accountId?: string | undefined; key?: string | undefined } = {},
): Promise<(Credentials & { apiUserId: string }) | undefined> {
  const key = opts.key ?? randomToken(24);
  return store.db.transaction().execute(async (trx) => {
    const user = await findApiUserByName(trx, name);
    if (!user || user.revoked_at !== null || (opts.accountId !== undefined && user.account_id !== opts.accountId)) return undefined;
    if (!(await updateApiUserKey(trx, user.id, sha256Hex(key)))) return undefined;
    await deleteSessionsOfApiUser(trx, user.id);
    return { accountId: user.account_id, apiUser: user.name, apiKey: key, apiUserId: user.id };
  });
}

/**
 * First start: with RELAY_ADMIN_USER/RELAY_ADMIN_KEY, make sure that api user exists; without them,
 * generate one when the database has none, and return it so it can be printed once.
 */
export async function bootstrapAdmin(store: Store, user: string | undefined, key: string | undefined): Promise<Credentials | null> {
  if (user !== undefined && key !== undefined) {
    if (await findApiUserByName(store.db, user)) return null;
    await createApiUser(store, { name: user, key, accountName: 'default' });
    return null;
  }
  if ((await countApiUsers(store.db)) > 0) return null;
  return createApiUser(store, { name: 'admin', accountName: 'default' });
}
