import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { TestReceiver } from '../helpers/receiver.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { createCallback, deliveriesOf, postEvent, receivedFor, waitForDelivery, waitUntil, type DeliveryJson } from '../helpers/e2e.js';
import { deleteCallback } from '../../src/store/callbacks.js';
import { CallbackRegistry } from '../../src/routing/registry.js';

/**
 * A fleet: one process with the api and scheduler roles, another with the worker alone, on one
 * PostgreSQL schema. The worker's callback registry learns of the API's edits only at its next poll
 * (every 2 s), while new deliveries wake it at once.
 */
const postgres = BACKENDS.find((b) => b.name === 'postgres')!;
describe.skipIf(!postgres.available)('an api process and a worker process on postgres', () => {
  let api: TestRelay;
  let worker: TestRelay;
  /** A second api process behind the same load balancer, its registry poll stopped. */
  let api2: TestRelay;
  let drop: () => Promise<void>;
  const receivers: TestReceiver[] = [];
  const newReceiver = async () => {
    const r = await new TestReceiver().start();
    receivers.push(r);
    return r;
  };

  beforeAll(async () => {
    const db = await postgres.create();
    drop = db.drop;
    api = await startTestRelay(db.url, { roles: ['api', 'scheduler'] });
    // No periodic sweep either (a sweep catches the registry up): only wakes move it.
    worker = await startTestRelay(db.url, { roles: ['worker'], shutdownTimeoutMs: 1000, sweepIntervalMs: 600_000 });
    // Its poll stopped, the worker's registry keeps the view it had: where a fleet is for up to 2 s
    // after each edit, so no test depends on when the poll runs.
    worker.relay.registry.stop();
    api2 = await startTestRelay(db.url, { roles: ['api'] });
    api2.relay.registry.stop();
  });
  afterAll(async () => {
    for (const r of receivers) await r.close();
    await worker?.close();
    await api2?.close();
    await api?.close();
    await drop?.();
  });

  const settled = async (tenant: string, ids: string[]): Promise<DeliveryJson[]> =>
    waitUntil(
      async () => {
        const all = (await Promise.all(ids.map((id) => deliveriesOf(api, id, tenant)))).flat();
        return all.length === ids.length && all.every((d) => d.state !== 'pending') ? all : undefined;
      },
      { timeoutMs: 15_000, what: 'every delivery delivered, failed or held' },
    );

  it("delivers a new callback's first events, posted the moment it is created", async () => {
    const tenant = (await api.newTenant('fresh')).auth;
    const receiver = await newReceiver();
    await createCallback(api, { title: 'just created', url: receiver.url }, tenant);
    const ids: string[] = [];
    const batch = await api.api('POST', '/v1/events/batch', { events: Array.from({ length: 20 }, (_, i) => ({ type: 'sms.delivered', data: { i } })) }, { auth: tenant });
    expect(batch.status).toBe(202);
    ids.push(...(batch.body.ids as string[]));
    for (let i = 0; i < 5; i++) ids.push(await postEvent(api, { type: 'sms.delivered', data: { single: i } }, tenant));

    const deliveries = await settled(tenant, ids);
    expect(deliveries.filter((d) => d.state !== 'delivered').map((d) => d.last_error)).toEqual([]);
    for (const id of ids) expect(receivedFor(receiver.received, id)).toHaveLength(1);
  });

  it('routes to a callback created by another api process, the moment its create is answered', async () => {
    const tenant = (await api.newTenant('elsewhere')).auth;
    const receiver = await newReceiver();
    // api2 has served this tenant before: its registry is loaded and its poll stopped.
    expect((await api2.api('GET', '/v1/callbacks', undefined, { auth: tenant })).status).toBe(200);
    const cb = await createCallback(api, { title: 'created on api', url: receiver.url }, tenant);
    const ids = [await postEvent(api2, { type: 'sms.delivered', data: { n: 1 } }, tenant)];
    // Named by id, too: a 422 "no callback" before.
    ids.push(await postEvent(api2, { type: 'sms.delivered', data: { n: 2 }, callback_profile_id: cb.id }, tenant));
    const batch = await api2.api('POST', '/v1/events/batch', { events: [{ type: 'sms.delivered', data: { n: 3 } }] }, { auth: tenant });
    expect(batch.status).toBe(202);
    ids.push(...(batch.body.ids as string[]));

    const deliveries = await settled(tenant, ids);
    expect(deliveries.map((d) => [d.callback_id, d.state])).toEqual(ids.map(() => [cb.id, 'delivered']));
    for (const id of ids) expect(receivedFor(receiver.received, id)).toHaveLength(1);

    // Disabled on api: api2 stops routing to it at once.
    expect((await api.api('POST', `/v1/callbacks/${cb.id}/disable`, undefined, { auth: tenant })).status).toBe(200);
    const after = await postEvent(api2, { type: 'sms.delivered', data: { n: 4 } }, tenant);
    expect(await deliveriesOf(api2, after, tenant)).toEqual([]);
  });

  it('sends, rather than holds, the deliveries of a callback enabled since the worker last looked', async () => {
    const tenant = (await api.newTenant('enabled')).auth;
    const receiver = await newReceiver();
    const cb = await createCallback(api, { title: 'off, then on', url: receiver.url, enabled: false }, tenant);
    // The worker has seen it disabled.
    expect((await worker.relay.registry.refresh(cb.id))?.enabled).toBe(false);
    expect((await api.api('POST', `/v1/callbacks/${cb.id}/enable`, undefined, { auth: tenant })).status).toBe(200);
    const ids = [await postEvent(api, { type: 'sms.delivered', data: { n: 1 } }, tenant), await postEvent(api, { type: 'sms.delivered', data: { n: 2 } }, tenant)];

    const deliveries = await settled(tenant, ids);
    expect(deliveries.map((d) => [d.state, d.last_error])).toEqual([
      ['delivered', null],
      ['delivered', null],
    ]);
    for (const id of ids) expect(receivedFor(receiver.received, id)).toHaveLength(1);
  });

  it('a worker woken without callback ids (a NOTIFY payload too long to carry them) finds a new callback in the queue', async () => {
    const tenant = (await api.newTenant('swept')).auth;
    const receiver = await newReceiver();
    const notify = api.relay.store.notify;
    // As when the ids pass 8,000 bytes: the wake carries none, and the worker sweeps the queue.
    api.relay.store.notify = (channel) => notify.call(api.relay.store, channel, '');
    try {
      await createCallback(api, { title: 'found by a sweep', url: receiver.url }, tenant);
      const ids = [await postEvent(api, { type: 'sms.delivered', data: { n: 1 } }, tenant)];
      const deliveries = await settled(tenant, ids);
      expect(deliveries.map((d) => [d.state, d.last_error])).toEqual([['delivered', null]]);
      expect(receivedFor(receiver.received, ids[0]!)).toHaveLength(1);
    } finally {
      api.relay.store.notify = notify;
    }
  });

  it("fails with callback_deleted only the deliveries of a callback that is really gone", async () => {
    const tenant = (await api.newTenant('deleted')).auth;
    const receiver = await newReceiver();
    const cb = await createCallback(api, { title: 'deleted elsewhere', url: receiver.url }, tenant);
    // Another api process deletes it just after this one routed an event to it: as if this one had
    // not looked yet (its poll stopped, and its look before routing skipped).
    api.relay.registry.stop();
    api.relay.registry.current = () => Promise.resolve();
    const { account_id: accountId } = await api.relay.store.db.selectFrom('callbacks').select('account_id').where('id', '=', cb.id).executeTakeFirstOrThrow();
    expect(await deleteCallback(api.relay.store.db, accountId, cb.id)).toBe(true);
    const id = await postEvent(api, { type: 'sms.delivered', data: { to: 'nowhere' } }, tenant);

    const d = await waitForDelivery(api, id, { auth: tenant, timeoutMs: 15_000 });
    expect(d).toMatchObject({ state: 'failed', last_error: 'callback_deleted', attempts: 0 });
    expect(receiver.received).toHaveLength(0);
  });
});

/** The registry's look-up of one callback, on every backend. */
for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`the callback registry on ${backend.name}`, () => {
    let t: TestRelay;
    let drop: () => Promise<void>;
    beforeAll(async () => {
      const db = await backend.create();
      drop = db.drop;
      t = await startTestRelay(db.url, { roles: ['api'] });
    });
    afterAll(async () => {
      await t?.close();
      await drop?.();
    });

    it('refresh reads a callback it has not loaded, and forgets one that is gone', async () => {
      const cb = await createCallback(t, { title: 'elsewhere', url: 'http://127.0.0.1:9/x' });
      // A registry that loaded before the callback existed (another process's).
      const other = new CallbackRegistry(t.relay.store);
      expect(other.get(cb.id)).toBeUndefined();
      const [a, b] = await Promise.all([other.refresh(cb.id), other.refresh(cb.id)]);
      expect(a?.id).toBe(cb.id);
      expect(b).toBe(a);
      expect(other.get(cb.id)).toBe(a);
      expect(other.route(a!.accountId, null, 'sms.delivered', null).map((c) => c.id)).toEqual([cb.id]);

      expect((await t.api('DELETE', `/v1/callbacks/${cb.id}`)).status).toBe(204);
      expect(await other.refresh(cb.id)).toBeUndefined();
      expect(other.get(cb.id)).toBeUndefined();
      expect(other.route(a!.accountId, null, 'sms.delivered', null)).toEqual([]);
      expect(await other.refresh('cb_does_not_exist')).toBeUndefined();
    });
  });
}
