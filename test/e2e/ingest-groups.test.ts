import { afterAll, describe, expect, it, vi } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { createCallback } from '../helpers/e2e.js';
import { insertRowSetsIsAtomic } from '../../src/store/bulk.js';
import type { Backend } from '../helpers/backends.js';

/**
 * An api-only relay (no worker or scheduler writing meanwhile) on `backend`, with a callback for
 * sms.delivered; the sizes of the ingestor's groups as they are written, and the account's principal.
 */
async function groupedRelay(backend: Backend, title: string, keep: { relays: TestRelay[]; drops: (() => Promise<void>)[] }) {
  const db = await backend.create();
  keep.drops.push(db.drop);
  const t = await startTestRelay(db.url, { roles: ['api'] });
  keep.relays.push(t);
  await createCallback(t, { title, url: `http://127.0.0.1:9/${title}`, events: ['sms.delivered'] });
  const account = await t.api('GET', '/v1/account');
  const principal = { accountId: account.body.id as string, apiUser: null };
  const writer = t.relay.ingestor as unknown as { write: (group: unknown[]) => Promise<string[][]> };
  const write = writer.write.bind(t.relay.ingestor);
  const groups: number[] = [];
  writer.write = (group) => (groups.push(group.length), write(group));
  const event = (key: string) => [{ type: 'sms.delivered', data: { key }, id: key }];
  return { t, principal, groups, event };
}

/**
 * Group commit: concurrent requests share a commit. Where a group without idempotency keys is one
 * atomic statement (PostgreSQL), a few such groups commit at once; groups with keys (read, then
 * written, in one transaction) and every group on SQLite commit one at a time.
 */
for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`ingest groups on ${backend.name}`, { concurrent: true }, () => {
    const relays: TestRelay[] = [];
    const drops: (() => Promise<void>)[] = [];
    afterAll(async () => {
      for (const t of relays) await t.close().catch(() => {});
      for (const d of drops) await d();
    });

    /** A relay whose ingest groups each take at least 150 ms to write, and how many ran at once at most. */
    const slowRelay = async () => {
      const db = await backend.create();
      drops.push(db.drop);
      const t = await startTestRelay(db.url, { roles: ['api'] });
      relays.push(t);
      await createCallback(t, { title: 'groups', url: 'http://127.0.0.1:9/groups' });
      const seen = { now: 0, max: 0 };
      const ingestor = t.relay.ingestor as unknown as { write: (group: unknown[]) => Promise<string[][]> };
      const write = ingestor.write.bind(ingestor);
      ingestor.write = async (group) => {
        seen.now++;
        seen.max = Math.max(seen.max, seen.now);
        try {
          await new Promise((r) => setTimeout(r, 150));
          return await write(group);
        } finally {
          seen.now--;
        }
      };
      return { t, seen };
    };
    /** Three requests 30 ms apart: each arrives while the one before is still being written. */
    const staggered = async (t: TestRelay, body: (i: number) => object, headers: (i: number) => Record<string, string> = () => ({})) => {
      const calls: Promise<{ status: number; body: { id?: string } }>[] = [];
      for (let i = 0; i < 3; i++) {
        calls.push(t.api('POST', '/v1/events', body(i), { headers: headers(i) }));
        await new Promise((r) => setTimeout(r, 30));
      }
      return Promise.all(calls);
    };

    it('commits groups without idempotency keys alongside one another only where they are one statement', async ({ expect }) => {
      const { t, seen } = await slowRelay();
      const answers = await staggered(t, (i) => ({ type: 'sms.delivered', data: { i } }));
      expect(answers.map((a) => a.status)).toEqual([202, 202, 202]);
      expect(seen.max).toBe(insertRowSetsIsAtomic(t.relay.store.caps) ? 3 : 1);
      // Each event stored once, with its delivery.
      const events = await t.relay.store.db.selectFrom('events').select('id').execute();
      expect(events.map((e) => e.id).sort()).toEqual(answers.map((a) => a.body.id).sort());
      expect(await t.relay.store.db.selectFrom('deliveries').select('id').execute()).toHaveLength(3);
    });

    it('commits groups with idempotency keys one at a time, and a repeated key stores one event', async ({ expect }) => {
      const { t, seen } = await slowRelay();
      const answers = await staggered(
        t,
        // The same request each time: a key reused with another request is a conflict (events.test.ts).
        () => ({ type: 'sms.delivered', data: { i: 0 } }),
        () => ({ 'idempotency-key': 'same-key' }),
      );
      expect(answers.map((a) => a.status)).toEqual([202, 202, 202]);
      expect(seen.max).toBe(1);
      expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
      expect(await t.relay.store.db.selectFrom('events').select('id').execute()).toHaveLength(1);
    });

    it("commits a group without waiting for the disk (Store.relaxed) only when each of its calls asked for it, as the inbound gateway's mapping does", async ({ expect }) => {
      const { t, principal, groups, event } = await groupedRelay(backend, 'relaxed', { relays, drops });
      const store = t.relay.store;
      const relaxed = store.relaxed.bind(store);
      let relaxedCommits = 0;
      store.relaxed = (fn) => {
        relaxedCommits++;
        return relaxed(fn);
      };
      const ingestor = t.relay.ingestor;

      await ingestor.ingest(principal, event('relaxed-alone'), { relaxed: true });
      expect(relaxedCommits).toBe(1);
      await ingestor.ingest(principal, event('durable-alone'));
      expect(relaxedCommits).toBe(1);
      // Sent together, they share a group: it commits durably, for the call that needs it.
      await Promise.all([ingestor.ingest(principal, event('relaxed-mixed'), { relaxed: true }), ingestor.ingest(principal, event('durable-mixed'))]);
      expect(groups).toEqual([1, 1, 2]);
      expect(relaxedCommits).toBe(1);
      // Each stored once, with its delivery.
      const events = await store.db.selectFrom('events').select('idempotency_key').execute();
      expect(events.map((e) => e.idempotency_key).sort()).toEqual(['durable-alone', 'durable-mixed', 'relaxed-alone', 'relaxed-mixed']);
      expect(await store.db.selectFrom('deliveries').select('id').execute()).toHaveLength(4);
    });
  });
}

// Fake timers are the process's: this suite runs alone (not concurrently), on SQLite (pg's client has timers of its own).
const sqlite = BACKENDS.find((b) => b.name === 'sqlite')!;
describe.skipIf(!sqlite.available)('ingest groups in the background', () => {
  const relays: TestRelay[] = [];
  const drops: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const t of relays) await t.close().catch(() => {});
    for (const d of drops) await d();
  });

  it('a background call (the inbound mapping) is written in the next timers phase; a call someone waits on brings its group forward', async () => {
    const { t, principal, groups, event } = await groupedRelay(sqlite, 'background', { relays, drops });
    const ingestor = t.relay.ingestor;
    const turn = () => new Promise((r) => setImmediate(r));

    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const first = ingestor.ingest(principal, event('bg-1'), { background: true });
      const second = ingestor.ingest(principal, event('bg-2'), { background: true });
      for (let i = 0; i < 5; i++) await turn();
      // Waiting for the timers phase: no check-phase turn writes it.
      expect(groups).toEqual([]);
      await vi.advanceTimersByTimeAsync(0);
      await Promise.all([first, second]);
      expect(groups).toEqual([2]);

      const third = ingestor.ingest(principal, event('bg-3'), { background: true });
      for (let i = 0; i < 5; i++) await turn();
      expect(groups).toEqual([2]);
      // Someone waits on this one: the waiting group goes with it, without a timer firing.
      const both = Promise.all([third, ingestor.ingest(principal, event('fg-1'))]);
      for (let i = 0; i < 10; i++) await turn();
      expect(groups).toEqual([2, 2]);
      await both;
    } finally {
      vi.useRealTimers();
    }
    const events = await t.relay.store.db.selectFrom('events').select('idempotency_key').execute();
    expect(events.map((e) => e.idempotency_key).sort()).toEqual(['bg-1', 'bg-2', 'bg-3', 'fg-1']);
  });
});
