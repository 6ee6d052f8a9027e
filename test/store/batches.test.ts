import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { migrateToLatest, openStore, type Store } from '../../src/store/db.js';
import { findEventsByIds, insertEvents } from '../../src/store/events.js';
import type { NewEvent } from '../../src/store/schema.js';

// Bulk inserts (power-of-two statements on SQLite, one array per column on PostgreSQL): every batch size must write and find
// exactly its rows, on both backends.
for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`batched statements on ${backend.name}`, () => {
    let store: Store;
    let drop: () => Promise<void>;

    beforeAll(async () => {
      const created = await backend.create();
      drop = created.drop;
      store = await openStore(created.url);
      await migrateToLatest(store);
    });

    afterAll(async () => {
      await store.close();
      await drop();
    });

    const event = (id: string): NewEvent => ({
      id,
      account_id: 'acc_batches',
      api_user: null,
      type: 'message.delivered',
      data: JSON.stringify({ n: id }),
      resource_id: null,
      callback_profile_id: null,
      custom_args: null,
      idempotency_key: null,
      created_at: 1,
    });

    it('inserts every row of batches of any size, and finds them again by id', async () => {
      let written = 0;
      for (const size of [1, 2, 3, 7, 64, 165, 255, 256, 257, 600]) {
        const ids = Array.from({ length: size }, (_, i) => `evt_b${size}_${i}`);
        await insertEvents(store.db, store.caps, ids.map(event));
        written += size;
        const found = await findEventsByIds(store.db, store.caps, [...ids, ids[0]!]);
        expect(found.map((e) => e.id).sort()).toEqual([...ids].sort());
        expect(found.find((e) => e.id === ids[size - 1])?.data).toBe(JSON.stringify({ n: ids[size - 1] }));
      }
      const count = await store.db.selectFrom('events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      expect(Number(count.n)).toBe(written);
    });

    it('keeps every value exactly as given, however awkward for an array literal or a statement', async () => {
      const awkward = ['', 'NULL', 'null', '"quoted"', "it's", 'back\\slash\\', '{braces}', 'a,b', '\t tab\nnew line', 'ünïcødé ✓ 𝄞', ' spaced '];
      const rows = awkward.map((text, i): NewEvent => ({
        ...event(`evt_awkward_${i}`),
        data: JSON.stringify({ text }),
        resource_id: text,
        api_user: i % 2 === 0 ? null : text,
        // Epoch milliseconds and beyond 2^32: int8 columns.
        created_at: 1_795_000_000_000 + i,
      }));
      await insertEvents(store.db, store.caps, rows);
      const found = await findEventsByIds(store.db, store.caps, rows.map((r) => r.id));
      const byId = new Map(found.map((e) => [e.id, e]));
      for (const r of rows) {
        const got = byId.get(r.id)!;
        expect({ data: got.data, resource_id: got.resource_id, api_user: got.api_user, created_at: Number(got.created_at) }).toEqual({
          data: r.data,
          resource_id: r.resource_id,
          api_user: r.api_user,
          created_at: r.created_at,
        });
      }
    });
  });
}
