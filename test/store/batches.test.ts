import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { useStore } from '../helpers/suite.js';
import type { Db, Store } from '../../src/store/db.js';
import { findEventsByIds } from '../../src/store/events.js';
import { completeAttempts, insertEventsWithDeliveries } from '../../src/store/deliveries.js';
import { insertRowSetsIsAtomic } from '../../src/store/bulk.js';
import type { NewAttempt, NewDelivery, NewEvent } from '../../src/store/schema.js';

// Bulk inserts (power-of-two statements on SQLite, one JSON parameter on PostgreSQL): every batch size must write and find
// exactly its rows, on both backends.
for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`batched statements on ${backend.name}`, () => {
    let store: Store;
    useStore(backend, (s) => (store = s));

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
        await insertEventsWithDeliveries(store.db, store.caps, { events: ids.map(event), queued: [], leased: [] });
        written += size;
        const found = await findEventsByIds(store.db, store.caps, [...ids, ids[0]!]);
        expect(found.map((e) => e.id).sort()).toEqual([...ids].sort());
        expect(found.find((e) => e.id === ids[size - 1])?.data).toBe(JSON.stringify({ n: ids[size - 1] }));
      }
      const count = await store.db.selectFrom('events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      expect(Number(count.n)).toBe(written);
    });

    it('keeps every value exactly as given, however awkward for an array literal or a statement', async () => {
      const awkward = ['', 'NULL', 'null', '"quoted"', "it's", 'back\\slash\\', '{braces}', 'a,b', '\t tab\nnew line', 'ünïcødé ✓ 𝄞', ' spaced ', '\\ud800 as text', '\\\\ud800 \\"u'];
      const rows = awkward.map((text, i): NewEvent => ({
        ...event(`evt_awkward_${i}`),
        data: JSON.stringify({ text }),
        resource_id: text,
        api_user: i % 2 === 0 ? null : text,
        // Epoch milliseconds and beyond 2^32: int8 columns.
        created_at: 1_795_000_000_000 + i,
      }));
      await insertEventsWithDeliveries(store.db, store.caps, { events: rows, queued: [], leased: [] });
      const found = await findEventsByIds(store.db, store.caps, rows.map((r) => r.id));
      const byId = new Map(found.map((e) => [e.id, e]));
      for (const r of rows) {
        const got = byId.get(r.id)!;
        expect(got, r.id).toBeDefined();
        expect({ data: got.data, resource_id: got.resource_id, api_user: got.api_user, created_at: Number(got.created_at) }).toEqual({
          data: r.data,
          resource_id: r.resource_id,
          api_user: r.api_user,
          created_at: r.created_at,
        });
      }
    });

    // PostgreSQL refuses a lone surrogate's JSON escape as text; SQLite (better-sqlite3) stores its
    // three WTF-8 bytes, read back as three U+FFFD, as it always did.
    it.runIf(backend.name === 'postgres')('stores a lone UTF-16 surrogate (valid in a JSON string the API parses) as U+FFFD, next to rows that keep theirs', async () => {
      const rows: NewEvent[] = [
        { ...event('evt_lone_1'), resource_id: 'a\ud800b', api_user: 'x\udc00' },
        { ...event('evt_lone_2'), resource_id: 'pair 😀 \\ud800' },
      ];
      await insertEventsWithDeliveries(store.db, store.caps, { events: rows, queued: [], leased: [] });
      const found = await findEventsByIds(store.db, store.caps, ['evt_lone_1', 'evt_lone_2']);
      const byId = new Map(found.map((e) => [e.id, e]));
      expect(byId.get('evt_lone_1')).toMatchObject({ resource_id: 'a\ufffdb', api_user: 'x\ufffd' });
      expect(byId.get('evt_lone_2')).toMatchObject({ resource_id: 'pair 😀 \\ud800' });
    });

    const delivery = (eventId: string, callbackId: string, leaseOwner: string | null = null): NewDelivery => ({
      account_id: 'acc_batches',
      event_id: eventId,
      callback_id: callbackId,
      state: 'pending',
      attempts: 0,
      next_attempt_at: 1,
      lease_owner: leaseOwner,
      lease_until: leaseOwner === null ? null : 2,
      ordering_key: null,
      last_status: null,
      last_error: null,
      created_at: 1,
      updated_at: 1,
      completed_at: null,
    });
    const countFor = async (eventId: string) => ({
      events: (await store.db.selectFrom('events').select('id').where('id', '=', eventId).execute()).length,
      deliveries: (await store.db.selectFrom('deliveries').select('id').where('event_id', '=', eventId).execute()).length,
    });

    it('stores events with queued and leased deliveries, returning the leased ones', async () => {
      const got = await insertEventsWithDeliveries(store.db, store.caps, {
        events: [event('evt_sets_ok')],
        queued: [delivery('evt_sets_ok', 'cb_queued'), delivery('evt_sets_ok', 'cb_queued2')],
        leased: [delivery('evt_sets_ok', 'cb_leased', 'wrk_1')],
      });
      expect(got).toEqual([{ id: expect.any(Number), event_id: 'evt_sets_ok', callback_id: 'cb_leased' }]);
      const row = await store.db.selectFrom('deliveries').selectAll().where('id', '=', got[0]!.id).executeTakeFirstOrThrow();
      expect(row).toMatchObject({ lease_owner: 'wrk_1', lease_until: 2 });
      expect(await countFor('evt_sets_ok')).toEqual({ events: 1, deliveries: 3 });
    });

    it('stores all of the rows or none: a failing last insert leaves no event and no delivery', async () => {
      // NOT NULL broken by the leased delivery, the last of the three inserts.
      const broken = { ...delivery('evt_sets_bad', 'cb_leased', 'wrk_1'), callback_id: null as unknown as string };
      const write = (db: Db) =>
        insertEventsWithDeliveries(db, store.caps, { events: [event('evt_sets_bad')], queued: [delivery('evt_sets_bad', 'cb_queued')], leased: [broken] });
      // Where the rows go in as one statement (PostgreSQL), ingest runs it with no transaction around it.
      if (insertRowSetsIsAtomic(store.caps)) await expect(write(store.db)).rejects.toThrow(/null/i);
      else await expect(store.db.transaction().execute(write)).rejects.toThrow(/null/i);
      expect(await countFor('evt_sets_bad')).toEqual({ events: 0, deliveries: 0 });
    });

    it('records every attempt of a batch and moves on only the deliveries still leased here, in groups of the same outcome', async () => {
      const got = await insertEventsWithDeliveries(store.db, store.caps, {
        events: [],
        queued: [],
        leased: [
          delivery('evt_done_ok', 'cb_done', 'wrk_done'),
          delivery('evt_done_retry', 'cb_done', 'wrk_done'),
          delivery('evt_done_lost', 'cb_done', 'wrk_other'),
        ],
      });
      const id = (eventId: string) => got.find((r) => r.event_id === eventId)!.id;
      const attempt = (eventId: string, status: number): NewAttempt => ({
        delivery_id: id(eventId),
        account_id: 'acc_batches',
        callback_id: 'cb_done',
        event_id: eventId,
        kind: 'delivery',
        attempt: 1,
        started_at: 10,
        duration_ms: 1,
        request_method: 'POST',
        request_url: 'http://127.0.0.1:9/done',
        request_headers: '{"content-type":"application/json"}',
        request_body: '{"n":"\\"quoted\\""}',
        response_status: status,
        response_headers: '{}',
        response_body: '',
        error_class: null,
        error_message: null,
        outcome: status === 200 ? 'success' : 'failure',
      });
      const changed = await store.db.transaction().execute((trx) =>
        completeAttempts(trx, {
          owner: 'wrk_done',
          now: 20,
          caps: store.caps,
          attempts: [attempt('evt_done_ok', 200), attempt('evt_done_retry', 500), attempt('evt_done_lost', 200)],
          transitions: [
            { id: id('evt_done_ok'), state: 'delivered', attempts: 1, nextAttemptAt: 20, lastStatus: 200, lastError: null },
            { id: id('evt_done_retry'), state: 'pending', attempts: 1, nextAttemptAt: 5_000, lastStatus: 500, lastError: 'http_500' },
            { id: id('evt_done_lost'), state: 'delivered', attempts: 1, nextAttemptAt: 20, lastStatus: 200, lastError: null },
          ],
        }),
      );
      expect([...changed].sort()).toEqual([id('evt_done_ok'), id('evt_done_retry')].sort());
      const rows = await store.db
        .selectFrom('deliveries')
        .select(['event_id', 'state', 'lease_owner', 'lease_until', 'next_attempt_at'])
        .where('callback_id', '=', 'cb_done')
        .orderBy('event_id')
        .execute();
      expect(rows.map((r) => ({ ...r, lease_until: r.lease_until === null ? null : Number(r.lease_until), next_attempt_at: Number(r.next_attempt_at) }))).toEqual([
        // Leased by another worker: its state stays that worker's.
        { event_id: 'evt_done_lost', state: 'pending', lease_owner: 'wrk_other', lease_until: 2, next_attempt_at: 1 },
        { event_id: 'evt_done_ok', state: 'delivered', lease_owner: null, lease_until: null, next_attempt_at: 20 },
        { event_id: 'evt_done_retry', state: 'pending', lease_owner: null, lease_until: null, next_attempt_at: 5_000 },
      ]);
      // All three requests were sent: all three are recorded, the lost one too.
      const recorded = await store.db.selectFrom('attempts').select(['event_id', 'response_status', 'request_body']).where('callback_id', '=', 'cb_done').orderBy('event_id').execute();
      expect(recorded).toEqual([
        { event_id: 'evt_done_lost', response_status: 200, request_body: '{"n":"\\"quoted\\""}' },
        { event_id: 'evt_done_ok', response_status: 200, request_body: '{"n":"\\"quoted\\""}' },
        { event_id: 'evt_done_retry', response_status: 500, request_body: '{"n":"\\"quoted\\""}' },
      ]);
    });
  });
}
