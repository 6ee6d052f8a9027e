import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { TestReceiver } from '../helpers/receiver.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { createCallback, postEvent, waitForDelivery, waitUntil } from '../helpers/e2e.js';
import { expectError } from '../api/support.js';
import { FakeClock } from '../../src/lib/clock.js';

const DAY = 86_400_000;

/** Retention through the running relay: the account's setting in the API, the scheduler's purge. */
for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`retention on ${backend.name}`, () => {
    const clock = new FakeClock();
    let t: TestRelay;
    let receiver: TestReceiver;
    let drop: () => Promise<void>;
    beforeAll(async () => {
      const db = await backend.create();
      drop = db.drop;
      t = await startTestRelay(db.url, {}, { clock });
      receiver = await new TestReceiver().start();
    });
    afterAll(async () => {
      await receiver?.close();
      await t?.close();
      await drop?.();
    });

    it('GET/PATCH /v1/account: retention_days, null for the relay’s default; bad values refused, nothing changed', async () => {
      expect((await t.api('GET', '/v1/account')).body.retention_days).toBeNull();
      const set = await t.api('PATCH', '/v1/account', { retention_days: 7 });
      expect(set.status).toBe(200);
      expect(set.body.retention_days).toBe(7);
      for (const bad of [-1, 1.5, '7d', 36_501, true]) {
        expectError(await t.api('PATCH', '/v1/account', { retention_days: bad }), 422, 'invalid', /retention_days/);
      }
      expect((await t.api('GET', '/v1/account')).body.retention_days).toBe(7);
      expect((await t.api('PATCH', '/v1/account', { retention_days: 0 })).body.retention_days).toBe(0);
      expect((await t.api('PATCH', '/v1/account', { retention_days: null })).body.retention_days).toBeNull();
      expect((await t.api('GET', '/v1/account')).body).toMatchObject({ retention_days: null, telegram_chat_ids: [] });
    });

    it('the scheduler purges delivered history past the account’s retention, and the default’s', async () => {
      const week = await t.newTenant(`retention-week-${backend.name}`);
      expect((await t.api('PATCH', '/v1/account', { retention_days: 7 }, { auth: week.auth })).status).toBe(200);
      await createCallback(t, { title: 'default', url: receiver.url, events: ['sms.delivered'] });
      await createCallback(t, { title: 'week', url: receiver.url, events: ['sms.delivered'] }, week.auth);
      const kept = await postEvent(t, { type: 'sms.delivered', data: { n: 1 } });
      const purged = await postEvent(t, { type: 'sms.delivered', data: { n: 2 } }, week.auth);
      await waitForDelivery(t, kept);
      await waitForDelivery(t, purged, { auth: week.auth });

      const eventStatus = async (id: string, auth?: string) => (await t.api('GET', `/v1/events/${id}`, undefined, auth ? { auth } : {})).status;
      // A tick may be under way already (then this one returns at once): ask again until it is done.
      const purgedBy = async (id: string, auth?: string) =>
        waitUntil(async () => {
          await t.relay.scheduler!.tick();
          return (await eventStatus(id, auth)) === 404;
        }, { what: `the purge of ${id}` });

      clock.advance(8 * DAY);
      await purgedBy(purged, week.auth);
      expect((await t.api('GET', '/v1/deliveries', undefined, { auth: week.auth })).body.total).toBe(0);
      expect(await eventStatus(kept)).toBe(200);

      clock.advance(23 * DAY);
      await purgedBy(kept);
      expect((await t.api('GET', '/v1/deliveries')).body.total).toBe(0);
    });
  });
}
