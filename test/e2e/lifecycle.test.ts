import { afterAll, describe, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { TestReceiver } from '../helpers/receiver.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { createCallback, deliveriesOf, postEvent, receivedFor, sleep, waitForDelivery, waitUntil } from '../helpers/e2e.js';
import { openStore } from '../../src/store/db.js';
import { FakeClock } from '../../src/lib/clock.js';

/** Disable/enable, graceful shutdown and lease expiry: what happens to deliveries around a worker. */
for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`delivery lifecycle on ${backend.name}`, { concurrent: true }, () => {
    const relays: TestRelay[] = [];
    const receivers: TestReceiver[] = [];
    const drops: (() => Promise<void>)[] = [];
    const freshDb = async () => {
      const db = await backend.create();
      drops.push(db.drop);
      return db.url;
    };
    const relayOn = async (url: string, overrides: Parameters<typeof startTestRelay>[1] = {}, opts: Parameters<typeof startTestRelay>[2] = {}) => {
      const t = await startTestRelay(url, overrides, opts);
      relays.push(t);
      return t;
    };
    const newReceiver = async () => {
      const r = await new TestReceiver().start();
      receivers.push(r);
      return r;
    };
    /**
     * Answers the requests a receiver holds once the relay's worker has begun to stop (so the worker
     * sends nothing more): right then, or a moment later (after the shutdown has had time to go on).
     */
    const answerWhenStopping = (t: TestRelay, unanswered: (() => void)[], when: 'at once' | 'later') => {
      const worker = t.relay.worker!;
      const stop = worker.stop.bind(worker);
      worker.stop = (deadlineMs) => {
        const stopping = stop(deadlineMs);
        const answerAll = () => {
          for (const answer of unanswered.splice(0)) answer();
        };
        if (when === 'at once') answerAll();
        else setTimeout(answerAll, 100);
        return stopping;
      };
    };
    afterAll(async () => {
      for (const r of receivers) await r.close();
      for (const t of relays) await t.close().catch(() => {});
      for (const d of drops) await d();
    });

    it('disable holds the pending deliveries; enable delivers them', async ({ expect }) => {
      // A retry an hour away: after the first failure the deliveries wait, not in flight.
      const t = await relayOn(await freshDb(), { retrySchedule: [0, 3_600_000] });
      const receiver = await newReceiver();
      receiver.behaviour = (_req, res) => {
        res.statusCode = 503;
        res.end();
      };
      const cb = await createCallback(t, { title: 'toggle', url: receiver.url });
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await postEvent(t, { type: 'sms.delivered', data: { i } }));
      await waitUntil(
        async () => {
          const all = await Promise.all(ids.map((id) => deliveriesOf(t, id)));
          return all.every((l) => l.length === 1 && l[0]!.state === 'pending' && l[0]!.attempts === 1 && !l[0]!.in_flight);
        },
        { what: 'five deliveries waiting for their retry' },
      );

      const disabled = await t.api('POST', `/v1/callbacks/${cb.id}/disable`);
      expect(disabled.status).toBe(200);
      expect(disabled.body.enabled).toBe(false);
      for (const id of ids) expect((await deliveriesOf(t, id))[0]!.state).toBe('held');
      const held = await t.api('GET', `/v1/deliveries?state=held&callback_id=${cb.id}`);
      expect(held.body.total).toBe(5);
      // A held delivery cannot be retried by hand either.
      expect((await t.api('POST', `/v1/deliveries/${held.body.data[0].id}/retry`)).status).toBe(409);

      receiver.behaviour = (_req, res) => res.end('ok');
      await sleep(400);
      expect(receiver.received).toHaveLength(5);

      const enabled = await t.api('POST', `/v1/callbacks/${cb.id}/enable`);
      expect(enabled.status).toBe(200);
      expect(enabled.body.enabled).toBe(true);
      for (const id of ids) {
        const d = await waitForDelivery(t, id, { timeoutMs: 5000 });
        expect(d.state).toBe('delivered');
        expect(d.attempts).toBe(2);
        expect(receivedFor(receiver.received, id)).toHaveLength(2);
      }
    });

    it('graceful shutdown: attempts in flight complete and are recorded; nothing is left leased', async ({ expect }) => {
      const url = await freshDb();
      const t = await relayOn(url, { callbackConcurrency: 4, shutdownTimeoutMs: 5000 });
      const receiver = await newReceiver();
      // The receiver answers only once the shutdown has begun, a moment after it.
      let answered = 0;
      const unanswered: (() => void)[] = [];
      receiver.behaviour = (_req, res) => {
        unanswered.push(() => {
          answered++;
          res.end('ok');
        });
      };
      await createCallback(t, { title: 'slow', url: receiver.url });
      const batch = await t.api('POST', '/v1/events/batch', { events: Array.from({ length: 10 }, (_, i) => ({ type: 'sms.delivered', data: { i } })) });
      expect(batch.status).toBe(202);
      const ids = batch.body.ids as string[];
      await receiver.waitForCount(4);
      answerWhenStopping(t, unanswered, 'later');

      await t.close();
      // It waited for the four answers instead of dropping them.
      expect(answered).toBe(4);
      expect(receiver.received).toHaveLength(4);

      const store = await openStore(url);
      try {
        const rows = await store.db.selectFrom('deliveries').select(['event_id', 'state', 'attempts', 'lease_owner', 'lease_until']).execute();
        expect(rows).toHaveLength(10);
        const sent = new Set(receiver.received.map((r) => String(r.headers['webhook-id'])));
        for (const row of rows) {
          if (sent.has(row.event_id)) expect(row).toMatchObject({ state: 'delivered', attempts: 1, lease_owner: null, lease_until: null });
          else expect(row).toMatchObject({ state: 'pending', attempts: 0, lease_owner: null, lease_until: null });
        }
        const leased = await store.db.selectFrom('deliveries').select('id').where('lease_owner', 'is not', null).execute();
        expect(leased).toEqual([]);
        const attempts = await store.db.selectFrom('attempts').select(['event_id', 'outcome', 'response_status']).execute();
        expect(attempts).toHaveLength(4);
        for (const a of attempts) {
          expect(sent.has(a.event_id!)).toBe(true);
          expect(a).toMatchObject({ outcome: 'success', response_status: 200 });
        }
      } finally {
        await store.close();
      }

      // The next start takes the handed-back deliveries at once.
      receiver.behaviour = (_req, res) => res.end('ok');
      const restarted = await relayOn(url);
      await receiver.waitFor((r) => ids.every((id) => receivedFor(r, id).length > 0), undefined, 'the other six');
      for (const id of ids) expect(receivedFor(receiver.received, id)).toHaveLength(1);
      for (const id of ids) expect((await waitForDelivery(restarted, id)).state).toBe('delivered');
    });

    it('graceful shutdown hands back the deliveries claimed ahead but not yet sent', async ({ expect }) => {
      const url = await freshDb();
      const t = await relayOn(url, { callbackConcurrency: 4, shutdownTimeoutMs: 5000 });
      const receiver = await newReceiver();
      await createCallback(t, { title: 'flowing, then slow', url: receiver.url });
      // A success first: a callback that delivers gets deliveries claimed ahead of its slots.
      const first = await postEvent(t, { type: 'sms.delivered', data: { first: true } });
      expect((await waitForDelivery(t, first)).state).toBe('delivered');
      // Requests are answered when the shutdown has begun, not before: the four in flight stay in flight.
      let answered = 0;
      const unanswered: (() => void)[] = [];
      receiver.behaviour = (_req, res) => {
        unanswered.push(() => {
          answered++;
          res.end('ok');
        });
      };
      const batch = await t.api('POST', '/v1/events/batch', { events: Array.from({ length: 30 }, (_, i) => ({ type: 'sms.delivered', data: { i } })) });
      expect(batch.status).toBe(202);
      await receiver.waitForCount(5);
      // More than the four in flight are leased to this worker: the read-ahead.
      const store = await openStore(url);
      try {
        await waitUntil(async () => (await store.db.selectFrom('deliveries').select('id').where('lease_owner', 'is not', null).execute()).length > 4, {
          what: 'deliveries claimed ahead of the four in flight',
        });
        answerWhenStopping(t, unanswered, 'at once');
        await t.close();
        expect(answered).toBe(4);
        expect(receiver.received).toHaveLength(5);
        expect(await store.db.selectFrom('deliveries').select('id').where('lease_owner', 'is not', null).execute()).toEqual([]);
        const rows = await store.db.selectFrom('deliveries').select(['state', 'attempts']).execute();
        expect(rows.filter((r) => r.state === 'delivered' && r.attempts === 1)).toHaveLength(5);
        expect(rows.filter((r) => r.state === 'pending' && r.attempts === 0)).toHaveLength(26);
      } finally {
        await store.close();
      }
    });

    it('callbacks that deliver are read ahead even when their caps together fill the worker', async ({ expect }) => {
      const url = await freshDb();
      // Two callbacks of cap 4 on a worker of concurrency 4: the slots alone leave nothing over.
      const t = await relayOn(url, { workerConcurrency: 4, callbackConcurrency: 4, shutdownTimeoutMs: 5000 });
      const receiver = await newReceiver();
      await createCallback(t, { title: 'a', url: receiver.url });
      await createCallback(t, { title: 'b', url: receiver.url });
      const first = await postEvent(t, { type: 'sms.delivered', data: { first: true } });
      await receiver.waitFor((r) => receivedFor(r, first).length === 2, undefined, 'the first event at both callbacks');
      // Held until the end: the four in flight stay in flight while the test looks at the claims.
      let active = 0;
      let most = 0;
      const unanswered: (() => void)[] = [];
      receiver.behaviour = (_req, res) => {
        active++;
        most = Math.max(most, active);
        unanswered.push(() => {
          active--;
          res.end('ok');
        });
      };
      const batch = await t.api('POST', '/v1/events/batch', { events: Array.from({ length: 30 }, (_, i) => ({ type: 'sms.delivered', data: { i } })) });
      expect(batch.status).toBe(202);
      await receiver.waitForCount(2 + 4);
      const store = await openStore(url);
      try {
        // Beyond the four in flight, both callbacks have deliveries claimed ahead.
        const leasedPending = () =>
          store.db.selectFrom('deliveries').select(['callback_id']).where('lease_owner', 'is not', null).where('state', '=', 'pending').execute();
        await waitUntil(async () => (await leasedPending()).length > 8, { what: 'more than the four in flight leased' });
        expect(new Set((await leasedPending()).map((l) => l.callback_id)).size).toBe(2);
        // The read-ahead never puts more in flight than the worker's concurrency.
        expect(most).toBe(4);
        expect(receiver.received).toHaveLength(2 + 4);
        for (const answer of unanswered.splice(0)) answer();
        await receiver.waitForCount(2 + 8);
        expect(most).toBeLessThanOrEqual(4);
      } finally {
        await store.close();
      }
    });

    it('an attempt that outlasts its lease keeps it: the heartbeat renews it, and the delivery is sent once', async ({ expect }) => {
      // A 1.2 s lease on the relay's fake clock, a receiver that answers only when told, and a sweep
      // every 200 ms that would find the delivery due again the moment its lease ran out. The clock
      // moves 1 s at a time, 3 s in all, each step waiting for the heartbeat to renew the lease.
      const clock = new FakeClock(Date.now());
      const t = await relayOn(await freshDb(), { leaseMs: 1200, sweepIntervalMs: 200, callbackConcurrency: 2 }, { clock });
      const receiver = await newReceiver();
      const unanswered: (() => void)[] = [];
      receiver.behaviour = (_req, res) => unanswered.push(() => res.end());
      await createCallback(t, { title: 'slow', url: receiver.url });
      const id = await postEvent(t, { type: 'sms.delivered', data: { slow: true } });
      await receiver.waitForCount(1);
      const leaseUntil = async () =>
        (await t.relay.store.db.selectFrom('deliveries').select('lease_until').where('event_id', '=', id).executeTakeFirstOrThrow()).lease_until ?? 0;
      for (let step = 0; step < 3; step++) {
        clock.advance(1000);
        await waitUntil(async () => (await leaseUntil()) >= clock.now() + 1000, { what: `the lease renewed at step ${step + 1}` });
      }
      // Sweeps ran all along (each step is five sweep intervals); none took the delivery back.
      expect(receivedFor(receiver.received, id)).toHaveLength(1);
      for (const answer of unanswered.splice(0)) answer();
      const d = await waitForDelivery(t, id);
      expect(d.state).toBe('delivered');
      expect(d.attempts).toBe(1);
      expect(receivedFor(receiver.received, id)).toHaveLength(1);
    });

    it('a delivery leased by a dead worker is delivered once its lease runs out, not before', async ({ expect }) => {
      // A dead worker announces nothing: its leases are found by the periodic sweep of the queue. The
      // relay's clock is a fake one, so a lease runs out when the test says, however slow the machine.
      const clock = new FakeClock(Date.now());
      const t = await relayOn(await freshDb(), { retrySchedule: [0, 3_600_000], sweepIntervalMs: 200 }, { clock });
      const receiver = await newReceiver();
      receiver.behaviour = (req, res, i) => {
        res.statusCode = i < 2 ? 500 : 200;
        res.end();
      };
      await createCallback(t, { title: 'lease', url: receiver.url });
      const expired = await postEvent(t, { type: 'sms.delivered', data: { lease: 'expired' } });
      const live = await postEvent(t, { type: 'sms.delivered', data: { lease: 'live' } });
      // Both failed once and now wait an hour for their retry.
      for (const id of [expired, live]) {
        await waitForDelivery(t, id, { pred: (d) => d.state === 'pending' && d.attempts === 1 && !d.in_flight });
      }
      receiver.behaviour = (_req, res) => res.end();

      // A worker that died holding them: one lease ran out a second ago, the other still runs 1.2 s.
      const db = t.relay.store.db;
      const now = clock.now();
      const dExpired = (await deliveriesOf(t, expired))[0]!;
      const dLive = (await deliveriesOf(t, live))[0]!;
      // (Claimed a minute ago, when they were due.)
      const claimedAt = now - 60_000;
      await db.updateTable('deliveries').set({ lease_owner: 'dead', lease_until: now - 1000, next_attempt_at: claimedAt }).where('id', '=', dExpired.id).execute();
      await db.updateTable('deliveries').set({ lease_owner: 'dead', lease_until: now + 1200, next_attempt_at: claimedAt }).where('id', '=', dLive.id).execute();

      // A sweep interval passes: the sweep finds the lease that ran out.
      clock.advance(200);
      const a = await waitForDelivery(t, expired);
      expect(a.state).toBe('delivered');
      expect(a.attempts).toBe(2);
      // The live lease is respected…
      expect((await deliveriesOf(t, live))[0]).toMatchObject({ state: 'pending', attempts: 1, in_flight: true });
      expect(receivedFor(receiver.received, live)).toHaveLength(1);
      // …until it runs out (the next sweep finds it).
      clock.advance(1000);
      const b = await waitForDelivery(t, live);
      expect(b.state).toBe('delivered');
      expect(b.attempts).toBe(2);
      const row = await db.selectFrom('deliveries').select('lease_owner').where('id', '=', dLive.id).executeTakeFirstOrThrow();
      expect(row.lease_owner).toBeNull();
    });
  });
}
