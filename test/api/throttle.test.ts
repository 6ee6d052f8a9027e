import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';

const sqlite = BACKENDS[0]!;

describe('RELAY_RATE_LIMIT', () => {
  let t: TestRelay;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const db = await sqlite.create();
    drop = db.drop;
    t = await startTestRelay(db.url, { rateLimit: 5 });
  });
  afterAll(async () => {
    await t?.close();
    await drop?.();
  });

  it('answers 429 with Retry-After past the rate, per api user, and stores nothing for refused requests', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await t.api('POST', '/v1/events', { type: 'sms.sent', data: { i } });
      statuses.push(res.status);
      if (res.status === 429) {
        expect(res.body.code).toBe('throttled');
        expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      }
    }
    expect(statuses.filter((s) => s === 202).length).toBe(5);
    expect(statuses.filter((s) => s === 429).length).toBe(3);
    const other = await t.newTenant('other-tenant');
    expect((await t.api('GET', '/v1/callbacks', undefined, { auth: other.auth })).status).toBe(200);
    const events = await t.relay.store.db.selectFrom('events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(events.n)).toBe(5);
  });
});
