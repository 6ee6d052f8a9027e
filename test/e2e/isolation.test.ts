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
      await healthy.waitFor((r) => idsB.every((id) => receivedFor(r, id).length > 0), undefined, 'all of B');
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

  describe.skipIf(!backend.available)(`isolation at one host on ${backend.name}`, () => {
    // More in flight to one callback than the process once pooled per origin (64 connections).
    const CALLBACK_CAP = 80;
    let t: TestRelay;
    let drop: () => Promise<void>;
    let receiver: TestReceiver;
    const hangs = (r: { path: string }) => r.path.startsWith('/hang');

    beforeAll(async () => {
      const db = await backend.create();
      drop = db.drop;
      t = await startTestRelay(db.url, { callbackConcurrency: CALLBACK_CAP, shutdownTimeoutMs: 1000 });
      receiver = await new TestReceiver().start();
      receiver.behaviour = (req, res) => {
        if (!hangs(req)) res.end('ok');
      };
    });
    afterAll(async () => {
      await receiver?.close();
      await t?.close();
      await drop?.();
    });

    it("a callback whose requests hang at a host holds its own connections only: another callback at that host gets through, no attempt failed", async () => {
      const a = await t.newTenant(`x-${backend.name}`);
      const b = await t.newTenant(`y-${backend.name}`);
      // Same origin, two paths: X never answers (and waits the longest a callback may), Y answers 200.
      await createCallback(t, { title: 'X (hangs)', url: `${receiver.url}/hang`, timeout: 60 }, a.auth);
      const y = await createCallback(t, { title: 'Y (answers)', url: `${receiver.url}/ok`, timeout: 1 }, b.auth);

      const evX = await t.api('POST', '/v1/events/batch', { events: Array.from({ length: CALLBACK_CAP + 20 }, (_, i) => ({ type: 'sms.delivered', data: { x: i } })) }, { auth: a.auth });
      expect(evX.status).toBe(202);
      // X holds at least what a shared pool per origin had.
      await receiver.waitFor((r) => r.filter(hangs).length >= 64, 10_000, "X's requests");

      const evY = await t.api('POST', '/v1/events/batch', { events: Array.from({ length: 20 }, (_, i) => ({ type: 'sms.delivered', data: { y: i } })) }, { auth: b.auth });
      expect(evY.status).toBe(202);
      // Every Y delivery attempted (with a shared pool: failed "connection pool busy" after 5 s + 1 s).
      const listY = await waitUntil(
        async () => {
          const res = await t.api('GET', '/v1/deliveries?limit=100', undefined, { auth: b.auth });
          const data = res.body.data as { state: string; attempts: number; last_error: string | null }[];
          return data.length === 20 && data.every((d) => d.attempts > 0) ? data : undefined;
        },
        { timeoutMs: 15_000, what: "every Y delivery attempted" },
      );
      expect(listY.map((d) => [d.state, d.attempts, d.last_error])).toEqual(listY.map(() => ['delivered', 1, null]));
      const failedY = await t.relay.store.db.selectFrom('attempts').select('outcome').where('callback_id', '=', y.id).where('outcome', '!=', 'success').execute();
      expect(failedY).toEqual([]);
      expect(receiver.received.filter((r) => !hangs(r))).toHaveLength(20);

      // X meanwhile: its cap in flight, all of it still waiting.
      await receiver.waitFor((r) => r.filter(hangs).length >= CALLBACK_CAP, 10_000, "X's cap in flight");
      expect(receiver.received.filter(hangs)).toHaveLength(CALLBACK_CAP);
      const listX = await t.api('GET', '/v1/deliveries?limit=200', undefined, { auth: a.auth });
      expect(listX.body.data).toHaveLength(CALLBACK_CAP + 20);
      expect((listX.body.data as { state: string; attempts: number }[]).every((d) => d.state === 'pending' && d.attempts === 0)).toBe(true);
    });
  });
}
