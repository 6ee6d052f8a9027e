import { describe, expect, it } from 'vitest';
import { Migrator, sql } from 'kysely';
import { BACKENDS } from '../helpers/backends.js';
import { useStore } from '../helpers/suite.js';
import { migrateToLatest, type Store } from '../../src/store/db.js';
import { migrations } from '../../src/store/migrations.js';
import { listNoticeTargets } from '../../src/store/targets.js';

// A database an earlier version left with e-mail and Telegram targets in columns: 0007 moves every one
// of them into notice_targets rows, in order, and drops the columns.
for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`migration 0007 (notice targets) on ${backend.name}`, () => {
    let store: Store;
    useStore(backend, (s) => (store = s), async (store) => {
      const migrationTableSchema = await store.currentSchema();
      const migrator = new Migrator({
        db: store.db,
        provider: { getMigrations: async () => migrations(store.caps) },
        ...(migrationTableSchema ? { migrationTableSchema } : {}),
      });
      const { error } = await migrator.migrateTo('0006_retention');
      if (error) throw error;
      const db = store.db as unknown as import('kysely').Kysely<any>;
      await db
        .insertInto('callback_notifications')
        .values([
          { callback_id: 'cb_1', account_id: 'acc_1', emails: '["a@example.com","b@example.com"]', telegram_chat_ids: '["111","@opschan"]', telegram_bot_token: '1234567890:tok', updated_at: 5_000 },
          { callback_id: 'cb_2', account_id: 'acc_1', emails: '[]', telegram_chat_ids: '[]', telegram_bot_token: null, updated_at: 6_000 },
        ])
        .execute();
      await db
        .insertInto('account_settings')
        .values({ account_id: 'acc_1', telegram_bot_token: '1234567890:acct', telegram_chat_ids: '["-100200300"]', report_frequency: 'daily', report_emails: '["r@example.com"]', report_next_at: null, updated_at: 7_000 })
        .execute();
      await db
        .insertInto('alert_rules')
        .values({
          id: 'alr_1',
          account_id: 'acc_1',
          kind: 'insufficient_balance',
          threshold: 5,
          window_ms: 0,
          min_sent: 10,
          cooldown_ms: 3_600_000,
          emails: '["alerts@example.com"]',
          telegram_chat_ids: '["999"]',
          emit_event: 1,
          enabled: 1,
          last_fired_at: null,
          created_at: 1_000,
          updated_at: 8_000,
        })
        .execute();
      await migrateToLatest(store);
    });

    const shown = async (owner: 'callback' | 'account' | 'alert_rule', id: string) =>
      (await listNoticeTargets(store.db, owner, id)).map((r) => ({ account: r.account_id, channel: r.channel, address: r.address, secret: r.secret }));

    it('moves every e-mail and Telegram target into rows, in order, for callbacks, the account and alert rules', async () => {
      expect(await shown('callback', 'cb_1')).toEqual([
        { account: 'acc_1', channel: 'email', address: 'a@example.com', secret: null },
        { account: 'acc_1', channel: 'email', address: 'b@example.com', secret: null },
        { account: 'acc_1', channel: 'telegram', address: '111', secret: null },
        { account: 'acc_1', channel: 'telegram', address: '@opschan', secret: null },
      ]);
      expect(await shown('callback', 'cb_2')).toEqual([]);
      expect(await shown('account', 'acc_1')).toEqual([{ account: 'acc_1', channel: 'telegram', address: '-100200300', secret: null }]);
      expect(await shown('alert_rule', 'alr_1')).toEqual([
        { account: 'acc_1', channel: 'email', address: 'alerts@example.com', secret: null },
        { account: 'acc_1', channel: 'telegram', address: '999', secret: null },
      ]);
      const total = await store.db.selectFrom('notice_targets').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      expect(Number(total.n)).toBe(7);
    });

    it('keeps what is not a target where it was: bot tokens, report e-mails, the rules themselves', async () => {
      const n = await store.db.selectFrom('callback_notifications').selectAll().orderBy('callback_id').execute();
      expect(n.map((r) => [r.callback_id, r.telegram_bot_token])).toEqual([
        ['cb_1', '1234567890:tok'],
        ['cb_2', null],
      ]);
      const a = await store.db.selectFrom('account_settings').selectAll().executeTakeFirstOrThrow();
      expect(a).toMatchObject({ telegram_bot_token: '1234567890:acct', report_emails: '["r@example.com"]', report_frequency: 'daily' });
      const rule = await store.db.selectFrom('alert_rules').selectAll().executeTakeFirstOrThrow();
      expect(rule).toMatchObject({ id: 'alr_1', kind: 'insufficient_balance', enabled: 1 });
    });

    it('drops the per-channel columns', async () => {
      const columns = async (table: string) => {
        if (backend.name === 'postgres') {
          const schema = await store.currentSchema();
          const res = await sql<{ name: string }>`select column_name as name from information_schema.columns where table_name = ${table} and table_schema = ${schema ?? 'public'}`.execute(store.db);
          return res.rows.map((r) => r.name);
        }
        const res = await sql<{ name: string }>`select name from pragma_table_info(${table})`.execute(store.db);
        return res.rows.map((r) => r.name);
      };
      for (const table of ['callback_notifications', 'account_settings', 'alert_rules']) {
        const cols = await columns(table);
        expect(cols.length).toBeGreaterThan(0);
        expect(cols).not.toContain('emails');
        expect(cols).not.toContain('telegram_chat_ids');
      }
    });
  });
}
