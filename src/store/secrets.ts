import type { Db, Store } from './db.js';
import type { CallbackRow, NoticeTargetRow } from './schema.js';
import { botTokenSecret, callbackSecrets, noticeTargetSecrets, sourceSecrets } from './sealing.js';
import { listSourceSecrets, updateSourceSecrets } from './sources.js';

/**
 * Every stored secret rewritten in place by one function (seal the plain ones at start, seal again
 * under a new master key): the raw rows, read and written in batches, each batch one transaction.
 * A row is written only while it still holds what was read (compare and set), so a concurrent edit
 * through the API is never overwritten with an older value; such a row is counted as skipped.
 */

export type SecretColumns = Pick<CallbackRow, 'id' | 'url' | 'secret' | 'previous_secret' | 'headers' | 'settings'>;

export async function listCallbackSecrets(db: Db, afterId: string, limit: number): Promise<SecretColumns[]> {
  return db.selectFrom('callbacks').select(['id', 'url', 'secret', 'previous_secret', 'headers', 'settings']).where('id', '>', afterId).orderBy('id').limit(limit).execute();
}

/** Writes `next` where the row still holds `prev`; false when it changed meanwhile (or is gone). */
export async function updateCallbackSecrets(db: Db, prev: SecretColumns, next: SecretColumns): Promise<boolean> {
  const res = await db
    .updateTable('callbacks')
    .set({ url: next.url, secret: next.secret, previous_secret: next.previous_secret, headers: next.headers, settings: next.settings })
    .where('id', '=', prev.id)
    .where('url', '=', prev.url)
    .where('secret', '=', prev.secret)
    .where('previous_secret', prev.previous_secret === null ? 'is' : '=', prev.previous_secret)
    .where('headers', '=', prev.headers)
    .where('settings', '=', prev.settings)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

interface BotToken {
  key: string;
  telegram_bot_token: string;
}

export async function listNotificationBotTokens(db: Db, afterKey: string, limit: number): Promise<BotToken[]> {
  const rows = await db
    .selectFrom('callback_notifications')
    .select(['callback_id as key', 'telegram_bot_token'])
    .where('telegram_bot_token', 'is not', null)
    .where('callback_id', '>', afterKey)
    .orderBy('callback_id')
    .limit(limit)
    .execute();
  return rows as BotToken[];
}

export async function updateNotificationBotToken(db: Db, prev: BotToken, token: string): Promise<boolean> {
  const res = await db
    .updateTable('callback_notifications')
    .set({ telegram_bot_token: token })
    .where('callback_id', '=', prev.key)
    .where('telegram_bot_token', '=', prev.telegram_bot_token)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

export async function listAccountBotTokens(db: Db, afterKey: string, limit: number): Promise<BotToken[]> {
  const rows = await db
    .selectFrom('account_settings')
    .select(['account_id as key', 'telegram_bot_token'])
    .where('telegram_bot_token', 'is not', null)
    .where('account_id', '>', afterKey)
    .orderBy('account_id')
    .limit(limit)
    .execute();
  return rows as BotToken[];
}

export async function updateAccountBotToken(db: Db, prev: BotToken, token: string): Promise<boolean> {
  const res = await db
    .updateTable('account_settings')
    .set({ telegram_bot_token: token })
    .where('account_id', '=', prev.key)
    .where('telegram_bot_token', '=', prev.telegram_bot_token)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

type TargetSecrets = Pick<NoticeTargetRow, 'id' | 'address' | 'address_secret' | 'secret'>;

/** Notice targets holding a secret: a secret address (Slack) or a per-target secret (webhook). */
export async function listNoticeTargetSecrets(db: Db, afterId: string, limit: number): Promise<TargetSecrets[]> {
  return db
    .selectFrom('notice_targets')
    .select(['id', 'address', 'address_secret', 'secret'])
    .where((eb) => eb.or([eb('address_secret', '=', 1), eb('secret', 'is not', null)]))
    .where('id', '>', afterId)
    .orderBy('id')
    .limit(limit)
    .execute();
}

export async function updateNoticeTargetSecrets(db: Db, prev: TargetSecrets, next: TargetSecrets): Promise<boolean> {
  const res = await db
    .updateTable('notice_targets')
    .set({ address: next.address, secret: next.secret })
    .where('id', '=', prev.id)
    .where('address', '=', prev.address)
    .where('secret', prev.secret === null ? 'is' : '=', prev.secret)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

export interface SweepResult {
  /** Rows read. */
  rows: number;
  /** Rows rewritten. */
  written: number;
  /** Rows that changed between the read and the write (left as the other writer made them). */
  skipped: number;
}

/**
 * Applies `change` to every stored secret and writes back the rows where it changed something.
 * `change` may throw (a value no key opens): the sweep stops there, the batch under way rolled back.
 */
export async function sweepSecrets(store: Store, change: (value: string) => string, batch = 500): Promise<SweepResult> {
  const result: SweepResult = { rows: 0, written: 0, skipped: 0 };
  const count = (wrote: boolean) => {
    if (wrote) result.written += 1;
    else result.skipped += 1;
  };
  const sameCallback = (a: SecretColumns, b: SecretColumns) =>
    a.url === b.url && a.secret === b.secret && a.previous_secret === b.previous_secret && a.headers === b.headers && a.settings === b.settings;

  for (let after = '', more = true; more; ) {
    more = await store.db.transaction().execute(async (trx) => {
      const rows = await listCallbackSecrets(trx, after, batch);
      for (const row of rows) {
        const next = callbackSecrets(row, change);
        if (!sameCallback(row, next)) count(await updateCallbackSecrets(trx, row, next));
      }
      result.rows += rows.length;
      if (rows.length > 0) after = rows[rows.length - 1]!.id;
      return rows.length === batch;
    });
  }
  const tables = [
    [listNotificationBotTokens, updateNotificationBotToken],
    [listAccountBotTokens, updateAccountBotToken],
  ] as const;
  for (const [list, update] of tables) {
    for (let after = '', more = true; more; ) {
      more = await store.db.transaction().execute(async (trx) => {
        const rows = await list(trx, after, batch);
        for (const row of rows) {
          const next = botTokenSecret(row, change).telegram_bot_token;
          if (next !== row.telegram_bot_token) count(await update(trx, row, next));
        }
        result.rows += rows.length;
        if (rows.length > 0) after = rows[rows.length - 1]!.key;
        return rows.length === batch;
      });
    }
  }
  for (let after = '', more = true; more; ) {
    more = await store.db.transaction().execute(async (trx) => {
      const rows = await listNoticeTargetSecrets(trx, after, batch);
      for (const row of rows) {
        const next = noticeTargetSecrets(row, change);
        if (next.address !== row.address || next.secret !== row.secret) count(await updateNoticeTargetSecrets(trx, row, next));
      }
      result.rows += rows.length;
      if (rows.length > 0) after = rows[rows.length - 1]!.id;
      return rows.length === batch;
    });
  }
  // Sources: the URL token and the settings their inbound format names secret.
  for (let after = '', more = true; more; ) {
    more = await store.db.transaction().execute(async (trx) => {
      const rows = await listSourceSecrets(trx, after, batch);
      for (const row of rows) {
        const next = sourceSecrets(row, change);
        if (next.settings !== row.settings || next.token !== row.token) count(await updateSourceSecrets(trx, row, next));
      }
      result.rows += rows.length;
      if (rows.length > 0) after = rows[rows.length - 1]!.id;
      return rows.length === batch;
    });
  }
  return result;
}
