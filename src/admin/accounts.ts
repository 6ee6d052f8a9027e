import type { Store } from '../store/db.js';
import { countApiUsers, findAccount, findApiUserByName, insertAccount, insertApiUser } from '../store/accounts.js';
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
