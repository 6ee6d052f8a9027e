import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { TestReceiver } from '../helpers/receiver.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { createCallback, deliveriesOf, receivedFor, sleep, waitUntil } from '../helpers/e2e.js';

/** One dead receiver cannot take the worker's capacity from the others (per-callback in-flight cap). */
for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`isolation on ${backend.name}`, () => {
    let t: TestRelay;
    let drop: () => Promise<void>;
    let dead: TestReceiver;
    let healthy: TestReceiver;
    const CALLBACK_CAP = 4;

    beforeAll(async () => {
      const db = await backend.create();
      drop = db.drop;
      t = await startTestRelay(db.url, { workerConcurrency: 16, callbackConcurrency: CALLBACK_CAP, shutdownTimeoutMs: 1000 });
      dead = await new TestReceiver().start();
      healthy = await new TestReceiver().start();
    });
    afterAll(async () => {
      // The dead receiver holds requests open: close it (dropping them) before the relay waits for them.
      await dead?.close();
      await healthy?.close();
      await t?.close();
      await drop?.();
    });

    it("a receiver that never answers holds only its own share; another callback's events arrive promptly", async () => {
      dead.behaviour = () => {
        // never answers
      };
      const a = await t.newTenant(`dead-${backend.name}`);
      const b = await t.newTenant(`healthy-${backend.name}`);
      // A's attempts cannot time out during the test: B is prompt if it is served while all of them still wait.
      await createCallback(t, { title: 'A (dead)', url: dead.url, timeout: 60 }, a.auth);
      await createCallback(t, { title: 'B (healthy)', url: healthy.url }, b.auth);

      const evA = await t.api('POST', '/v1/events/batch', { events: Array.from({ length: 60 }, (_, i) => ({ type: 'sms.delivered', data: { a: i } })) }, { auth: a.auth });
      expect(evA.status).toBe(202);
      // A's receiver now holds its share of the worker: exactly the per-callback cap.
      await dead.waitForCount(CALLBACK_CAP);

      const idsB: string[] = [];
      // Several requests (not one batch), so B's deliveries come due while A's are still waiting.
      for (let round = 0; round < 4; round++) {
        const evB = await t.api('POST', '/v1/events/batch', { events: Array.from({ length: 10 }, (_, i) => ({ type: 'sms.delivered', data: { b: round * 10 + i } })) }, { auth: b.auth });
        expect(evB.status).toBe(202);
        idsB.push(...(evB.body.ids as string[]));
      }
      await healthy.waitFor((r) => idsB.every((id) => receivedFor(r, id).length > 0), 10_000, 'all of B');
      expect(healthy.received).toHaveLength(idsB.length);

      // A never had more than its cap in flight, and none of its attempts has ended yet.
      expect(dead.received).toHaveLength(CALLBACK_CAP);
      const firstA = await deliveriesOf(t, (evA.body.ids as string[])[0]!, a.auth);
      expect(firstA[0]?.state).toBe('pending');
      const listA = await t.api('GET', '/v1/deliveries?limit=100', undefined, { auth: a.auth });
      expect(listA.body.total).toBe(60);
      expect((listA.body.data as { state: string; attempts: number }[]).every((d) => d.state === 'pending' && d.attempts === 0)).toBe(true);
      // B's attempts are recorded as delivered (moments after the receiver saw them).
      await waitUntil(async () => (await t.api('GET', '/v1/deliveries?state=delivered&limit=1', undefined, { auth: b.auth })).body.total === idsB.length, {
        what: "B's deliveries recorded as delivered",
      });
      // Stays capped for a while longer.
      await sleep(300);
      expect(dead.received).toHaveLength(CALLBACK_CAP);
    });
  });
}
