import { afterAll, beforeAll, describe, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { TestReceiver } from '../helpers/receiver.js';
import { TestSmtpServer } from '../helpers/mail.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { createCallback, postEvent, waitForDelivery, waitUntil } from '../helpers/e2e.js';
import { FakeClock, systemClock } from '../../src/lib/clock.js';
import { disableCallback, enableCallback } from '../../src/routing/lifecycle.js';

const DAY = 86_400_000;

/**
 * Auto-disable (a callback failing without a success for 5 days, or exhausting too many deliveries)
 * with a notice, surviving a restart; and the operational events customers can subscribe to, without
 * an operational event ever being about the delivery of another one.
 */
for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`auto-disable and operational events on ${backend.name}`, { concurrent: true }, () => {
    let smtp: TestSmtpServer;
    const relays: TestRelay[] = [];
    const receivers: TestReceiver[] = [];
    const drops: (() => Promise<void>)[] = [];
    const freshDb = async () => {
      const db = await backend.create();
      drops.push(db.drop);
      return db.url;
    };
    const newReceiver = async (status = 200) => {
      const r = await new TestReceiver().start();
      r.behaviour = (_req, res) => {
        res.statusCode = status;
        res.end();
      };
      receivers.push(r);
      return r;
    };
    beforeAll(async () => {
      smtp = await new TestSmtpServer().start();
    });
    afterAll(async () => {
      for (const r of receivers) await r.close();
      for (const t of relays) await t.close().catch(() => {});
      await smtp.close();
      for (const d of drops) await d();
    });

    it('failing 5 days without a success disables the callback, also across a restart; enable resumes its held deliveries', async ({ expect }) => {
      const url = await freshDb();
      const clock = new FakeClock(Date.UTC(2026, 3, 1, 8));
      const started = clock.now();
      const env = { RELAY_SMTP_URL: smtp.url };
      const first = await startTestRelay(url, { retrySchedule: [0, 10 * DAY], circuitFailures: 0, env }, { clock });
      relays.push(first);
      const admin = `auto-${backend.name}@example.com`;
      expect((await first.api('PATCH', '/v1/account', { admin_email: admin })).status).toBe(200);
      const receiver = await newReceiver(500);
      const cb = await createCallback(first, { title: 'dead receiver', url: receiver.url });
      const ev = await postEvent(first, { type: 'sms.sent', data: {} });
      await waitForDelivery(first, ev, { pred: (d) => d.attempts === 1 && !d.in_flight });
      await waitUntil(() => smtp.to(admin).length === 1, { what: 'the failure notice' });
      await first.relay.notify.monitor.idle();
      await first.close();

      // A new process, five days and a minute later: it never saw a failure, the database did.
      clock.set(started + 5 * DAY + 60_000);
      const second = await startTestRelay(url, { retrySchedule: [0, 10 * DAY], circuitFailures: 0, env }, { clock });
      relays.push(second);
      // The scheduler's job, run directly, whenever the relay's own scheduler runs it too (the two
      // disable the callback once: see the raced-disables test).
      await second.relay.notify.monitor.disableLongFailing();
      const read = await waitUntil(
        async () => {
          const r = await second.api('GET', `/v1/callbacks/${cb.id}`);
          return r.body.enabled === false ? r.body : undefined;
        },
        { what: 'the callback to be disabled' },
      );
      expect(read.disabled_reason).toBe(`auto-disabled: failing without a success since ${new Date(started).toISOString()}`);
      await waitUntil(() => smtp.to(admin).length === 2, { what: 'the disabled notice' });
      const notice = smtp.to(admin)[1]!;
      expect(notice.subject).toContain('was disabled');
      expect(notice.text).toContain(`POST /v1/callbacks/${cb.id}/enable`);
      expect((await waitForDelivery(second, ev, { pred: (d) => d.state === 'held' })).state).toBe('held');

      receiver.behaviour = (_req, res) => res.end();
      expect((await second.api('POST', `/v1/callbacks/${cb.id}/enable`)).status).toBe(200);
      const d = await waitForDelivery(second, ev);
      expect(d).toMatchObject({ state: 'delivered', attempts: 2 });
      const health = await waitUntil(
        async () => {
          const h = (await second.api('GET', `/v1/callbacks/${cb.id}/notifications`)).body.health;
          return h.failing_since === null ? h : undefined;
        },
        { what: 'the episode to end' },
      );
      expect(health.exhausted_count).toBe(0);
    });

    it('disables raced from two places change the callback once: one callback.disabled, then one callback.enabled', async ({ expect }) => {
      // The scheduler's check and a direct call (or a worker's count, or the API) may both read the
      // callback enabled before either writes: each then announced it (two disabled notices).
      const t = await startTestRelay(await freshDb(), { circuitFailures: 0 });
      relays.push(t);
      const receiver = await newReceiver();
      const cb = await createCallback(t, { title: 'raced', url: receiver.url });
      const seen: string[] = [];
      t.relay.bus.on('callback.disabled', (e) => void seen.push(`disabled ${e.callbackId}`));
      t.relay.bus.on('callback.enabled', (e) => void seen.push(`enabled ${e.callbackId}`));
      const deps = { store: t.relay.store, registry: t.relay.registry, bus: t.relay.bus, clock: systemClock };
      const account = t.relay.registry.get(cb.id)!.accountId;
      expect(await Promise.all([disableCallback(deps, account, cb.id, 'auto-disabled: a'), disableCallback(deps, account, cb.id, 'auto-disabled: b')])).toEqual([true, true]);
      expect(await Promise.all([enableCallback(deps, account, cb.id), enableCallback(deps, account, cb.id)])).toEqual([true, true]);
      expect(seen).toEqual([`disabled ${cb.id}`, `enabled ${cb.id}`]);
      expect((await t.api('GET', `/v1/callbacks/${cb.id}`)).body.enabled).toBe(true);
    });

    it('a configured number of exhausted deliveries without a success disables the callback', async ({ expect }) => {
      const t = await startTestRelay(await freshDb(), { retrySchedule: [0], circuitFailures: 0, autoDisableExhausted: 2 });
      relays.push(t);
      const receiver = await newReceiver(500);
      const cb = await createCallback(t, { title: 'exhausting', url: receiver.url });
      const a = await postEvent(t, { type: 'sms.sent', data: {} });
      expect((await waitForDelivery(t, a)).state).toBe('failed');
      expect((await t.api('GET', `/v1/callbacks/${cb.id}`)).body.enabled).toBe(true);
      const b = await postEvent(t, { type: 'sms.sent', data: {} });
      expect((await waitForDelivery(t, b)).state).toBe('failed');
      const read = await waitUntil(
        async () => {
          const r = await t.api('GET', `/v1/callbacks/${cb.id}`);
          return r.body.enabled === false ? r.body : undefined;
        },
        { what: 'auto-disable' },
      );
      expect(read.disabled_reason).toBe('auto-disabled: 2 deliveries failed after every attempt without a success in between');
    });

    it('operational events reach the callbacks subscribed to them, and only those', async ({ expect }) => {
      const t = await startTestRelay(await freshDb(), { retrySchedule: [0], circuitFailures: 0 });
      relays.push(t);
      const ops = await newReceiver();
      const everything = await newReceiver();
      const flaky = await newReceiver(500);
      await createCallback(t, {
        title: 'ops',
        url: ops.url,
        events: ['delivery.failing', 'delivery.exhausted', 'delivery.recovered', 'callback.disabled', 'callback.enabled'],
      });
      await createCallback(t, { title: 'all events', url: everything.url });
      const cb = await createCallback(t, { title: 'flaky', url: flaky.url, events: ['sms.sent'] });
      const types = () => ops.received.map((r) => (JSON.parse(r.body) as { type: string }).type);

      const failed = await postEvent(t, { type: 'sms.sent', data: {} });
      await ops.waitForCount(2);
      expect(types().sort()).toEqual(['delivery.exhausted', 'delivery.failing']);
      const failing = JSON.parse(ops.received.find((r) => r.body.includes('delivery.failing'))!.body) as { data: Record<string, unknown> };
      expect(failing.data).toMatchObject({ callback_id: cb.id, callback_title: 'flaky', event_id: failed, event_type: 'sms.sent', reason: 'http_500', attempts: 1 });

      flaky.behaviour = (_req, res) => res.end();
      await postEvent(t, { type: 'sms.sent', data: {} });
      await ops.waitForCount(3);
      expect(types()[2]).toBe('delivery.recovered');

      await t.api('POST', `/v1/callbacks/${cb.id}/disable`);
      await ops.waitForCount(4);
      await t.api('POST', `/v1/callbacks/${cb.id}/enable`);
      await ops.waitForCount(5);
      expect(types().slice(3)).toEqual(['callback.disabled', 'callback.enabled']);
      // "Every event" means the business events: none of the relay's own went to it.
      expect(everything.received.map((r) => (JSON.parse(r.body) as { type: string }).type)).toEqual(['sms.sent', 'sms.sent']);
    });

    it('no loop: a failing callback subscribed to operational events gets none about its own operational deliveries', async ({ expect }) => {
      const t = await startTestRelay(await freshDb(), { retrySchedule: [0], circuitFailures: 0 });
      relays.push(t);
      const receiver = await newReceiver(500);
      const cb = await createCallback(t, { title: 'self', url: receiver.url, events: ['sms.sent', 'delivery.failing', 'delivery.exhausted', 'delivery.recovered'] });
      await postEvent(t, { type: 'sms.sent', data: {} });
      await receiver.waitForCount(3);
      // Quiet: every delivery of the callback has ended (its outcome went to the monitor when it was
      // recorded) and the monitor has nothing left to emit — an event about the operational
      // deliveries' own failures would be a pending delivery by then.
      const pending = async () => (await t.api('GET', `/v1/deliveries?callback_id=${cb.id}&state=pending`)).body.total as number;
      await waitUntil(
        async () => {
          if ((await pending()) > 0) return false;
          await t.relay.notify.monitor.idle();
          return (await pending()) === 0;
        },
        { what: 'no pending delivery with the monitor idle' },
      );
      expect((await t.api('GET', `/v1/deliveries?callback_id=${cb.id}`)).body.total).toBe(3);
      // The business event, then delivery.failing and delivery.exhausted about it; their own failures emit nothing.
      expect(receiver.received.map((r) => (JSON.parse(r.body) as { type: string }).type).sort()).toEqual(['delivery.exhausted', 'delivery.failing', 'sms.sent']);
    });
  });
}
