import { afterAll, describe, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { TestReceiver } from '../helpers/receiver.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { createCallback, postEvent, waitForDelivery, webhookId } from '../helpers/e2e.js';
import type { HandOff } from '../../src/ingest/ingest.js';
import type { ClaimedDelivery } from '../../src/store/deliveries.js';
import type { EventRow } from '../../src/store/schema.js';

/** A stand-in for the local worker that grants what it is told to and records what it is given. */
class RecordingHandOff implements HandOff {
  readonly owner = 'wrk_handoff_test';
  readonly leaseMs = 30_000;
  adopted: { claim: ClaimedDelivery; event: EventRow }[] = [];
  released: [string, number][] = [];
  constructor(private readonly grant: (callbackId: string, wanted: number) => number) {}
  reserve(callbackId: string, wanted: number): number {
    return this.grant(callbackId, wanted);
  }
  release(callbackId: string, n: number): void {
    this.released.push([callbackId, n]);
  }
  adopt(jobs: readonly { claim: ClaimedDelivery; event: EventRow }[]): void {
    this.adopted.push(...jobs);
  }
}

/** Ingest hands new deliveries to the worker of its process when it has free slots for them. */
for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`hand-off from ingest to the worker on ${backend.name}`, { concurrent: true }, () => {
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
    afterAll(async () => {
      for (const r of receivers) await r.close();
      for (const t of relays) await t.close().catch(() => {});
      for (const d of drops) await d();
    });

    it('stores the granted deliveries leased to the worker and gives them over, with their events, after the commit', async ({ expect }) => {
      // No worker in this process: the stand-in takes its place.
      const t = await relayOn({ roles: ['api'] });
      const a = await createCallback(t, { title: 'a', url: 'http://127.0.0.1:9/a' });
      const b = await createCallback(t, { title: 'b', url: 'http://127.0.0.1:9/b' });
      const handOff = new RecordingHandOff((callbackId, wanted) => (callbackId === a.id ? Math.min(2, wanted) : 0));
      t.relay.ingestor.handOffTo(handOff);
      const before = Date.now();
      const res = await t.api('POST', '/v1/events/batch', { events: [0, 1, 2].map((i) => ({ type: 'sms.delivered', data: { i } })) });
      expect(res.status).toBe(202);
      const eventIds: string[] = res.body.ids;

      const rows = await t.relay.store.db.selectFrom('deliveries').selectAll().orderBy('id').execute();
      expect(rows).toHaveLength(6);
      const leased = rows.filter((r) => r.lease_owner !== null);
      // Two of a's three, none of b's; leased until a lease from now, like a claim.
      expect(leased.map((r) => r.callback_id)).toEqual([a.id, a.id]);
      for (const r of leased) {
        expect(r.lease_owner).toBe(handOff.owner);
        expect(r.state).toBe('pending');
        expect(Number(r.lease_until)).toBeGreaterThanOrEqual(before + handOff.leaseMs);
        // Due when stored, as a claimed delivery was due when claimed.
        expect(Number(r.next_attempt_at)).toBeGreaterThanOrEqual(before);
        expect(Number(r.next_attempt_at)).toBeLessThanOrEqual(Date.now());
      }
      expect(rows.filter((r) => r.callback_id === b.id && r.lease_owner === null)).toHaveLength(3);

      // Given over once committed: the stored ids, and the events as stored.
      expect(handOff.adopted.map((j) => j.claim.id).sort()).toEqual(leased.map((r) => Number(r.id)).sort());
      for (const job of handOff.adopted) {
        expect(job.claim).toMatchObject({ callback_id: a.id, attempts: 0 });
        const row = leased.find((r) => Number(r.id) === job.claim.id)!;
        expect(job.claim.event_id).toBe(row.event_id);
        expect(job.event.id).toBe(row.event_id);
        expect(eventIds).toContain(job.event.id);
        const stored = await t.relay.store.db.selectFrom('events').selectAll().where('id', '=', job.event.id).executeTakeFirstOrThrow();
        expect(job.event).toEqual(stored);
      }
      expect(handOff.released).toEqual([]);
    });

    it('a transaction that fails after slots were granted gives them back and hands nothing over', async ({ expect }) => {
      const t = await relayOn({ roles: ['api'] });
      const a = await createCallback(t, { title: 'a', url: 'http://127.0.0.1:9/a' });
      await createCallback(t, { title: 'b', url: 'http://127.0.0.1:9/b' });
      // Grants a's slot, then fails inside the transaction (as a failing insert would).
      const handOff = new RecordingHandOff((callbackId) => {
        if (callbackId === a.id) return 1;
        throw new Error('storage failed');
      });
      t.relay.ingestor.handOffTo(handOff);
      const res = await t.api('POST', '/v1/events', { type: 'sms.delivered', data: { fails: true } });
      expect(res.status).toBeGreaterThanOrEqual(500);
      expect(handOff.released).toEqual([[a.id, 1]]);
      expect(handOff.adopted).toEqual([]);
      expect(await t.relay.store.db.selectFrom('deliveries').selectAll().execute()).toEqual([]);
      expect(await t.relay.store.db.selectFrom('events').selectAll().execute()).toEqual([]);
    });

    it('with the real worker, events go out in the order they came even when some wait for a slot', async ({ expect }) => {
      // One slot: an event arriving while older ones wait must queue behind them, not take the slot
      // the moment it frees.
      const t = await relayOn({ callbackConcurrency: 1 });
      const receiver = await new TestReceiver().start();
      receivers.push(receiver);
      receiver.behaviour = (_req, res) => setTimeout(() => res.end('ok'), 30);
      await createCallback(t, { title: 'one at a time', url: receiver.url });
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) {
        ids.push(await postEvent(t, { type: 'sms.delivered', data: { i } }));
        await new Promise((r) => setTimeout(r, 7));
      }
      for (const id of ids) expect((await waitForDelivery(t, id)).state).toBe('delivered');
      expect(receiver.received.map(webhookId)).toEqual(ids);
      // Each exactly once, and recorded as one successful attempt.
      const attempts = await t.relay.store.db.selectFrom('attempts').select(['event_id', 'outcome']).execute();
      expect(attempts).toHaveLength(12);
      expect(new Set(attempts.map((x) => x.event_id)).size).toBe(12);
    });
  });
}
