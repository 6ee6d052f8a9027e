import { describe, expect, it } from 'vitest';
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import { BACKENDS } from '../helpers/backends.js';
import { migrateToLatest, openStore, type Store } from '../../src/store/db.js';
import { insertNotices, listNotices } from '../../src/store/notices.js';
import type { NewNotice } from '../../src/store/schema.js';

/** Runs `between` once, right after the first statement through it has its result. */
class AfterFirstStatement implements KyselyPlugin {
  private fired = false;
  constructor(private readonly between: () => Promise<void>) {}
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return args.node;
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    if (!this.fired) {
      this.fired = true;
      await this.between();
    }
    return args.result;
  }
}

// A list's page and its total must describe one moment: a row committed by another connection
// between the two reads showed in the total and not in the page (seen as a flaky notices test).
for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`lists on ${backend.name}`, () => {
    it("a page and its total agree when another connection commits between the list's reads", async () => {
      const { url, drop } = await backend.create();
      let store: Store | undefined;
      let other: Store | undefined;
      try {
        store = await openStore(url);
        await migrateToLatest(store);
        other = await openStore(url);
        const notice = (n: number): NewNotice => ({
          account_id: 'acc_lists',
          callback_id: 'cb_lists',
          kind: 'failure',
          channel: 'email',
          recipient: `ops${n}@example.com`,
          subject: `notice ${n}`,
          body: '',
          delivered: 1,
          error: null,
          created_at: n,
        });
        await insertNotices(store.db, [notice(1), notice(2), notice(3)]);
        const otherDb = other.db;
        const db = store.db.withPlugin(new AfterFirstStatement(() => insertNotices(otherDb, [notice(4)])));

        const page = await listNotices(db, 'acc_lists', {}, 0, 100);
        expect(page.rows).toHaveLength(3);
        expect(page.total).toBe(3);
        // The row was committed meanwhile, and the next list sees it.
        const next = await listNotices(store.db, 'acc_lists', {}, 0, 100);
        expect([next.rows.length, next.total]).toEqual([4, 4]);
      } finally {
        await other?.close();
        await store?.close();
        await drop();
      }
    });
  });
}
