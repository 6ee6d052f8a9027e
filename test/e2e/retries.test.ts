import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import type { TestRelay } from '../helpers/relay.js';
import { useRelaySuite } from '../helpers/suite.js';
import { createCallback, deliveriesOf, freePort, postEvent, receivedFor, sleep, waitForDelivery, waitUntil } from '../helpers/e2e.js';

/**
 * How receiver answers become outcomes: retries on the schedule (0s,200ms,200ms: three attempts),
 * Retry-After, 410 disabling the callback, redirects not followed, timeouts and refused connections.
 */
for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`retries and outcomes on ${backend.name}`, { concurrent: true }, () => {
    let t!: TestRelay;
    const { newReceiver, tenant } = useRelaySuite(backend, { shutdownTimeoutMs: 2000 }, (relay) => {
      t = relay;
      expect(t.relay.config.retrySchedule).toEqual([0, 200, 200]);
    });

    it("a callback's own retry_schedule replaces the relay's: two attempts, then failed", async ({ expect }) => {
      const auth = await tenant('own-schedule');
      const receiver = await newReceiver();
      receiver.behaviour = (_req, res) => {
        res.statusCode = 500;
        res.end();
      };
      await createCallback(t, { title: 'own', url: receiver.url, retry_schedule: ['0s', '100ms'] }, auth);
      const id = await postEvent(t, { type: 'sms.delivered', data: {} }, auth);
      const d = await waitForDelivery(t, id, { auth, pred: (x) => x.state === 'failed' });
      expect(d.attempts).toBe(2);
      await sleep(500);
      expect(receivedFor(receiver.received, id)).toHaveLength(2);
    });

    it('500, 500, then 200: delivered at attempt 3 with 3 attempts recorded', async ({ expect }) => {
      const auth = await tenant('flaky');
      const receiver = await newReceiver();
      receiver.behaviour = (_req, res, i) => {
        res.statusCode = i < 2 ? 500 : 200;
        res.end(i < 2 ? 'try later' : 'ok');
      };
      await createCallback(t, { title: 'flaky', url: receiver.url }, auth);
      const id = await postEvent(t, { type: 'sms.delivered', data: { n: 1 } }, auth);
      const d = await waitForDelivery(t, id, { auth });
      expect(d.state).toBe('delivered');
      expect(d.attempts).toBe(3);
      expect(d.last_status).toBe(200);
      expect(d.last_error).toBeNull();
      expect(d.attempts_list.map((a) => a.attempt).sort()).toEqual([1, 2, 3]);
      const byNo = [...d.attempts_list].sort((a, b) => a.attempt - b.attempt);
      expect(byNo.map((a) => a.outcome)).toEqual(['retryable', 'retryable', 'success']);
      expect(byNo.map((a) => a.response?.status)).toEqual([500, 500, 200]);
      expect(byNo[0]!.response?.body).toBe('try later');
      expect(receivedFor(receiver.received, id)).toHaveLength(3);
      // The list view agrees.
      const [listed] = await deliveriesOf(t, id, auth);
      expect(listed).toMatchObject({ state: 'delivered', attempts: 3, in_flight: false });
    });

    it('always 500: failed after exactly the schedule length (3) attempts, and stays queryable', async ({ expect }) => {
      const auth = await tenant('broken');
      const receiver = await newReceiver();
      receiver.behaviour = (_req, res) => {
        res.statusCode = 500;
        res.end();
      };
      const cb = await createCallback(t, { title: 'broken', url: receiver.url }, auth);
      const id = await postEvent(t, { type: 'sms.delivered', data: { n: 2 } }, auth);
      const d = await waitForDelivery(t, id, { auth });
      expect(d.state).toBe('failed');
      expect(d.attempts).toBe(3);
      expect(d.last_status).toBe(500);
      expect(d.last_error).toBe('http_500');
      expect(d.attempts_list.every((a) => a.outcome === 'retryable' && a.response?.status === 500)).toBe(true);
      // No fourth attempt comes later.
      await sleep(700);
      expect(receivedFor(receiver.received, id)).toHaveLength(3);
      const again = await t.api('GET', `/v1/deliveries/${d.id}`, undefined, { auth });
      expect(again.status).toBe(200);
      expect(again.body.state).toBe('failed');
      expect(again.body.attempt_log).toHaveLength(3);
      const failed = await t.api('GET', `/v1/deliveries?state=failed&callback_id=${cb.id}`, undefined, { auth });
      expect(failed.status).toBe(200);
      expect(failed.body.data.map((x: { id: number }) => x.id)).toEqual([d.id]);
    });

    it('honours Retry-After: 1 on 429 and on 503 (next attempt not before ~1 s)', async ({ expect }) => {
      const auth = await tenant('throttled');
      const r429 = await newReceiver();
      const r503 = await newReceiver();
      const throttleOnce = (status: number) => (_req: unknown, res: import('node:http').ServerResponse, i: number) => {
        if (i === 0) {
          res.statusCode = status;
          res.setHeader('Retry-After', '1');
        }
        res.end();
      };
      r429.behaviour = throttleOnce(429);
      r503.behaviour = throttleOnce(503);
      await createCallback(t, { title: '429', url: r429.url }, auth);
      await createCallback(t, { title: '503', url: r503.url }, auth);
      const id = await postEvent(t, { type: 'sms.delivered', data: { n: 3 } }, auth);
      await Promise.all([r429.waitForCount(2), r503.waitForCount(2)]);
      for (const [status, r] of [
        [429, r429],
        [503, r503],
      ] as const) {
        const got = receivedFor(r.received, id);
        expect(got).toHaveLength(2);
        const gap = got[1]!.at - got[0]!.at;
        // The schedule alone would retry after ~200 ms; Retry-After asks for 1 s (the lower bound too).
        // (How much later is the machine's business; the bounds of Retry-After are unit-tested in backoff.)
        expect(gap, `retry after a ${status}`).toBeGreaterThanOrEqual(980);
      }
      const ds = await waitUntil(
        async () => {
          const list = await deliveriesOf(t, id, auth);
          return list.length === 2 && list.every((x) => x.state === 'delivered') ? list : undefined;
        },
        { what: 'both deliveries recorded as delivered' },
      );
      for (const d0 of ds) {
        const full = await t.api('GET', `/v1/deliveries/${d0.id}`, undefined, { auth });
        expect(full.body.state).toBe('delivered');
        expect(full.body.attempt_log).toHaveLength(2);
        const first = (full.body.attempt_log as { attempt: number; response: { status: number; headers: Record<string, string> } }[]).find((a) => a.attempt === 1)!;
        expect([429, 503]).toContain(first.response.status);
        expect(first.response.headers['retry-after']).toBe('1');
      }
    });

    it('410 Gone: the delivery fails at once and the callback is disabled; later events are not delivered', async ({ expect }) => {
      const auth = await tenant('gone');
      const receiver = await newReceiver();
      receiver.behaviour = (_req, res) => {
        res.statusCode = 410;
        res.end('gone');
      };
      const cb = await createCallback(t, { title: 'gone', url: receiver.url }, auth);
      const id = await postEvent(t, { type: 'sms.delivered', data: { n: 4 } }, auth);
      const d = await waitForDelivery(t, id, { auth });
      expect(d.state).toBe('failed');
      expect(d.attempts).toBe(1);
      expect(d.last_status).toBe(410);
      expect(d.attempts_list[0]!.outcome).toBe('permanent');

      // Disabling is a consumer of the outcome: it follows shortly after the attempt is recorded.
      let read = await t.api('GET', `/v1/callbacks/${cb.id}`, undefined, { auth });
      for (let i = 0; i < 200 && read.body.enabled !== false; i++) {
        await sleep(25);
        read = await t.api('GET', `/v1/callbacks/${cb.id}`, undefined, { auth });
      }
      expect(read.status).toBe(200);
      expect(read.body.enabled).toBe(false);
      expect(read.body.disabled_reason).toMatch(/410/);

      receiver.behaviour = (_req, res) => res.end();
      const later = await postEvent(t, { type: 'sms.delivered', data: { n: 5 } }, auth);
      await sleep(600);
      expect(receiver.received).toHaveLength(1);
      expect(receivedFor(receiver.received, later)).toHaveLength(0);
      const laterDeliveries = await deliveriesOf(t, later, auth);
      expect(laterDeliveries.filter((x) => x.state === 'delivered' || x.in_flight)).toEqual([]);
    });

    it('does not follow redirects: the Location target gets nothing; retried, then failed with redirect_not_followed', async ({ expect }) => {
      const auth = await tenant('redirect');
      const target = await newReceiver();
      const receiver = await newReceiver();
      const statuses = [301, 302, 307];
      receiver.behaviour = (_req, res, i) => {
        res.statusCode = statuses[i] ?? 308;
        res.setHeader('Location', `${target.url}/moved`);
        res.end();
      };
      await createCallback(t, { title: 'redirect', url: receiver.url }, auth);
      const id = await postEvent(t, { type: 'sms.delivered', data: { n: 6 } }, auth);
      const d = await waitForDelivery(t, id, { auth });
      expect(d.state).toBe('failed');
      expect(d.attempts).toBe(3);
      expect(d.last_error).toBe('redirect_not_followed');
      expect(d.last_status).toBe(307);
      const byNo = [...d.attempts_list].sort((a, b) => a.attempt - b.attempt);
      expect(byNo.map((a) => a.response?.status)).toEqual([301, 302, 307]);
      expect(byNo.every((a) => a.outcome === 'retryable')).toBe(true);
      expect(receivedFor(receiver.received, id)).toHaveLength(3);
      expect(target.received).toHaveLength(0);
    });

    it('a receiver that hangs past the callback timeout: attempt error class response_timeout', async ({ expect }) => {
      const auth = await tenant('hang');
      const receiver = await newReceiver();
      receiver.behaviour = () => {
        // Never answers; the socket is destroyed when the receiver closes.
      };
      await createCallback(t, { title: 'hang', url: receiver.url, timeout: 0.5 }, auth);
      const id = await postEvent(t, { type: 'sms.delivered', data: { n: 7 } }, auth);
      const d = await waitForDelivery(t, id, { auth, pred: (x) => x.attempts >= 1 });
      const first = d.attempts_list.find((a) => a.attempt === 1)!;
      expect(first.error?.class).toBe('response_timeout');
      expect(first.response).toBeNull();
      expect(first.outcome).toBe('retryable');
      expect(first.duration_ms).toBeGreaterThanOrEqual(450);
      const final = await waitForDelivery(t, id, { auth });
      expect(final.state).toBe('failed');
      expect(final.last_error).toBe('response_timeout');
      expect(final.last_status).toBeNull();
      expect(final.attempts_list.every((a) => a.error?.class === 'response_timeout')).toBe(true);
    });

    it('connection refused: attempt error class refused', async ({ expect }) => {
      const auth = await tenant('refused');
      const port = await freePort();
      await createCallback(t, { title: 'refused', url: `http://127.0.0.1:${port}/hook` }, auth);
      const id = await postEvent(t, { type: 'sms.delivered', data: { n: 8 } }, auth);
      const d = await waitForDelivery(t, id, { auth });
      expect(d.state).toBe('failed');
      expect(d.attempts).toBe(3);
      expect(d.last_error).toBe('refused');
      expect(d.attempts_list.map((a) => a.error?.class)).toEqual(['refused', 'refused', 'refused']);
      expect(d.attempts_list.every((a) => a.response === null && a.outcome === 'retryable')).toBe(true);
    });
  });
}
