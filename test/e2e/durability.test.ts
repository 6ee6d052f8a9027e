import { afterAll, describe, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { TestReceiver } from '../helpers/receiver.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { createCallback, postEvent, sleep, waitForDelivery, webhookId } from '../helpers/e2e.js';
import type { Store } from '../../src/store/db.js';

/**
 * Makes the store's commits reach "the disk" only when the test says so: `durable` of every commit
 * waits for the next `release()` (or, with `everyMs`, the next tick of a timer that releases all of
 * them at once, in commit order, like one fdatasync shared by the commits made meanwhile).
 */
function holdDurability(store: Store, opts: { everyMs?: number } = {}) {
  const real = store.committed.bind(store);
  let waiting: { resolve: () => void; reject: (err: Error) => void }[] = [];
  let failNext: Error | undefined;
  store.committed = async (fn) => {
    const { result, durable } = await real(fn);
    const held = new Promise<void>((resolve, reject) => waiting.push({ resolve, reject }));
    // Handled through the chain below; it may be rejected before the real sync has finished.
    held.catch(() => {});
    return { result, durable: durable.then(() => held) };
  };
  const release = () => {
    const batch = waiting;
    waiting = [];
    const err = failNext;
    failNext = undefined;
    for (const w of batch) (err ? w.reject(err) : w.resolve());
  };
  const timer = opts.everyMs ? setInterval(release, opts.everyMs) : undefined;
  return {
    release,
    /** The next release fails every commit it covers, as a failing fdatasync would. */
    failWith(err: Error) {
      failNext = err;
    },
    get held() {
      return waiting.length;
    },
    restore() {
      if (timer) clearInterval(timer);
      release();
      store.committed = real;
    },
  };
}

/** Ingest answers only once a commit is durable, and lets nothing out before. */
for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`acknowledgement after durability on ${backend.name}`, { concurrent: true }, () => {
    const relays: TestRelay[] = [];
    const receivers: TestReceiver[] = [];
    const drops: (() => Promise<void>)[] = [];
    const relayOn = async (overrides: Parameters<typeof startTestRelay>[1] = {}) => {
      const db = await backend.create();
      drops.push(db.drop);
      const t = await startTestRelay(db.url, overrides);
      relays.push(t);
      return t;
    };
    const receiver = async () => {
      const r = await new TestReceiver().start();
      receivers.push(r);
      return r;
    };
    afterAll(async () => {
      for (const r of receivers) await r.close();
      for (const t of relays) await t.close().catch(() => {});
      for (const d of drops) await d();
    });

    it('answers 202 only once the commit is durable, and delivers nothing before', async ({ expect }) => {
      const t = await relayOn();
      const rx = await receiver();
      await createCallback(t, { title: 'held', url: rx.url });
      const disk = holdDurability(t.relay.store);
      try {
        let answered = false;
        const posting = postEvent(t, { type: 'sms.delivered', data: { held: true } }).then((id) => {
          answered = true;
          return id;
        });
        // Committed (the rows are there) but not yet durable: no answer, nothing sent.
        for (let i = 0; i < 50 && disk.held === 0; i++) await sleep(10);
        expect(disk.held).toBe(1);
        expect(await t.relay.store.db.selectFrom('events').selectAll().execute()).toHaveLength(1);
        await sleep(150);
        expect(answered).toBe(false);
        expect(rx.received).toHaveLength(0);

        disk.release();
        const id = await posting;
        expect((await waitForDelivery(t, id)).state).toBe('delivered');
        expect(rx.received.map(webhookId)).toEqual([id]);
      } finally {
        disk.restore();
      }
    });

    it('a commit that cannot be made durable fails each of its requests once, and none is stored twice', async ({ expect }) => {
      const t = await relayOn({ roles: ['api'] });
      await createCallback(t, { title: 'x', url: 'http://127.0.0.1:9/x' });
      const disk = holdDurability(t.relay.store);
      try {
        const posts = Array.from({ length: 8 }, (_, i) => t.api('POST', '/v1/events', { type: 'sms.delivered', data: { i } }));
        for (let i = 0; i < 100 && (await t.relay.store.db.selectFrom('events').select('id').execute()).length < 8; i++) await sleep(10);
        disk.failWith(new Error('EIO: fdatasync failed'));
        disk.release();
        const answers = await Promise.all(posts);
        for (const res of answers) {
          expect(res.status).toBe(503);
          expect(res.body.code).toBe('storage_unavailable');
        }
        // Each request's event was written once: a group whose commit failed to reach the disk is
        // not written again request by request.
        const events = await t.relay.store.db.selectFrom('events').select('data').execute();
        expect(events.map((e) => JSON.parse(e.data).i).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
        expect(await t.relay.store.db.selectFrom('deliveries').select('id').execute()).toHaveLength(8);
      } finally {
        disk.restore();
      }
    });

    it('keeps arrival order when later commits become durable together with earlier ones', async ({ expect }) => {
      // One slot, a fast receiver, and commits reaching the disk in batches: an event whose commit is
      // durable in the same batch as an older queued one must not be handed to the worker ahead of it.
      const t = await relayOn({ callbackConcurrency: 1 });
      const rx = await receiver();
      rx.behaviour = (_req, res) => res.end('ok');
      await createCallback(t, { title: 'in order', url: rx.url });
      const disk = holdDurability(t.relay.store, { everyMs: 40 });
      try {
        const ids: Promise<string>[] = [];
        for (let i = 0; i < 40; i++) {
          ids.push(postEvent(t, { type: 'sms.delivered', data: { i } }));
          await sleep(3);
        }
        const sent = await Promise.all(ids);
        for (const id of sent) expect((await waitForDelivery(t, id)).state).toBe('delivered');
        expect(rx.received.map(webhookId)).toEqual(sent);
      } finally {
        disk.restore();
      }
    });
  });
}
