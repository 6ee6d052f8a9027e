import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { BACKENDS, type Backend } from '../helpers/backends.js';
import { TestReceiver } from '../helpers/receiver.js';
import { waitUntil, webhookId } from '../helpers/e2e.js';
import { RelayProcesses, isRunning, type RelayProcess } from '../helpers/processes.js';
import { PgProxy, advisoryLocksOf, backendsOf, relayAppName, terminateBackends, terminateLockHolders } from '../helpers/pg.js';
import { migrateToLatest, openStore, type Store } from '../../src/store/db.js';
import { SCHEDULER_LOCK_KEY, Scheduler } from '../../src/scheduler.js';
import { FakeClock } from '../../src/lib/clock.js';

/**
 * Every PostgreSQL connection a relay holds survives the database going away: the pool, the LISTEN
 * connection and the scheduler's advisory-lock session. Terminating a relay's backends (only its own,
 * by application_name: the server is shared) stands in for a server restart; a TCP proxy the test
 * cuts stands in for a server that stays down a while. The sweep is set to 60 s, so only a restored
 * LISTEN (or the sweep after it comes back) explains a delivery within the waits below.
 */
const postgres = BACKENDS.find((b) => b.name === 'postgres') as Backend;
const SLOW_SWEEP = { RELAY_SWEEP_INTERVAL: '60s' };
/** Each wait; well under the sweep interval. */
const WAIT_MS = 20_000;

describe.skipIf(!postgres.available)('PostgreSQL connection faults', () => {
  let receiver: TestReceiver;
  const processes = new RelayProcesses(4);
  const drops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    receiver = await new TestReceiver().start();
  });
  afterEach(async () => {
    await processes.killAll();
  });
  afterAll(async () => {
    await processes.close();
    await receiver?.close();
    for (const d of drops) await d();
  });

  /** A schema of the test's own, so that no other test's process delivers its events. */
  async function freshDatabase(): Promise<string> {
    const db = await postgres.create();
    drops.push(db.drop);
    return db.url;
  }

  /** POSTs an event, again while the API answers 503 (its pool reconnecting); returns its id. */
  async function postEvent(api: RelayProcess, tag: string): Promise<string> {
    const res = await waitUntil(
      async () => {
        const r = await processes.post(api, '/v1/events', { type: 'sms.delivered', data: { tag } });
        if (r.status !== 202 && r.status !== 503) throw new Error(`POST /v1/events: ${r.status} ${JSON.stringify(r.body)}`);
        return r.status === 202 ? r : undefined;
      },
      { timeoutMs: WAIT_MS, what: `event ${tag} accepted` },
    );
    return res.body.id as string;
  }

  /**
   * Before the worker process starts: a worker learns of another process's new callback by polling
   * (every 2 s), and one that claims a delivery of a callback it does not know yet fails it.
   */
  async function createCallback(api: RelayProcess): Promise<void> {
    const cb = await processes.post(api, '/v1/callbacks', { title: 'faults', url: `${receiver.url}/hook` });
    expect(cb.status, JSON.stringify(cb.body)).toBe(201);
  }

  const delivered = (id: string) => receiver.waitFor((r) => r.some((x) => webhookId(x) === id), WAIT_MS, `delivery of ${id}`);

  /** Waits until the relay `pid` has a LISTEN connection other than those in `old`. */
  async function listeningAgain(pid: number, old: Set<number>): Promise<void> {
    await waitUntil(async () => (await backendsOf(relayAppName(pid))).some((b) => b.name.endsWith('(listen)') && !old.has(b.pid)), {
      timeoutMs: WAIT_MS,
      what: `the LISTEN connection of process ${pid} to come back`,
    });
  }

  /** Waits until a connection of the relay `pid` holds an advisory lock (its scheduler's). */
  async function holdsSchedulerLock(pid: number): Promise<void> {
    await waitUntil(async () => (await advisoryLocksOf(relayAppName(pid))) > 0, { timeoutMs: WAIT_MS, what: `process ${pid} to hold the scheduler lock` });
  }

  it('serve (all roles) survives its connections being terminated, twice, takes its scheduler lock again and goes on delivering', async () => {
    const relay = await processes.start(await freshDatabase(), SLOW_SWEEP);
    const pid = relay.child.pid!;
    await createCallback(relay);
    await delivered(await postEvent(relay, 'before'));
    for (const round of [1, 2]) {
      await holdsSchedulerLock(pid);
      const old = new Set((await backendsOf(relayAppName(pid))).map((b) => b.pid));
      // The pool's connections, LISTEN's and the scheduler's lock session (on its own or from the pool).
      expect(await terminateBackends(relayAppName(pid))).toBeGreaterThanOrEqual(2);
      await delivered(await postEvent(relay, `after termination ${round}`));
      expect(isRunning(relay.child), relay.output()).toBe(true);
      await listeningAgain(pid, old);
      // The scheduler asks for its lock again (every 5 s) and gets it: no other process wants it.
      await holdsSchedulerLock(pid);
    }
    expect(isRunning(relay.child), relay.output()).toBe(true);
  }, 90_000);

  it('api and worker processes: after their connections are terminated, the worker listens again and new events come at once', async () => {
    const url = await freshDatabase();
    const api = await processes.start(url, SLOW_SWEEP, 'api');
    await createCallback(api);
    const worker = await processes.start(url, SLOW_SWEEP, 'worker');
    await delivered(await postEvent(api, 'before'));
    const old = new Set((await backendsOf(relayAppName(worker.child.pid!))).map((b) => b.pid));
    expect(await terminateBackends(relayAppName(worker.child.pid!))).toBeGreaterThanOrEqual(2);
    await terminateBackends(relayAppName(api.child.pid!));
    await listeningAgain(worker.child.pid!, old);
    // The first may be found by the sweep that follows the reconnection; the second only by LISTEN.
    await delivered(await postEvent(api, 'first after'));
    await delivered(await postEvent(api, 'second after'));
    expect(isRunning(api.child) && isRunning(worker.child)).toBe(true);
  }, 90_000);

  it('an event notified while the worker could not reach the database is delivered when it is back (a sweep, not the 60 s one)', async () => {
    const url = await freshDatabase();
    const proxy = await new PgProxy().start();
    try {
      const api = await processes.start(url, SLOW_SWEEP, 'api');
      await createCallback(api);
      const worker = await processes.start(proxy.via(url), SLOW_SWEEP, 'worker');
      await delivered(await postEvent(api, 'before the outage'));
      // The worker's database goes away; the api's does not. Its NOTIFY reaches no one.
      proxy.down();
      const missed = await postEvent(api, 'during the outage');
      await waitUntil(async () => !(await backendsOf(relayAppName(worker.child.pid!))).some((b) => b.name.endsWith('(listen)')), {
        timeoutMs: WAIT_MS,
        what: "the worker's LISTEN session to end",
      });
      expect(receiver.received.some((r) => webhookId(r) === missed)).toBe(false);
      proxy.up();
      await delivered(missed);
      expect(isRunning(worker.child), worker.output()).toBe(true);
    } finally {
      await proxy.close();
    }
  }, 90_000);
});

describe.skipIf(!postgres.available)('the scheduler lock on PostgreSQL', () => {
  const stores: Store[] = [];
  const drops: (() => Promise<void>)[] = [];
  const urls: string[] = [];
  const tag = `pgfaults-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) {
      const db = await postgres.create();
      urls.push(db.url);
      drops.push(db.drop);
    }
  });
  afterAll(async () => {
    for (const s of stores) await s.close();
    for (const d of drops) await d();
  });

  async function open(url: string, name: string): Promise<Store> {
    const store = await openStore(url, { applicationName: `${tag}-${name}` });
    stores.push(store);
    return store;
  }

  it('is per schema: of two stores on one schema only one holds it, a store on another schema holds its own', async () => {
    const a1 = await open(urls[0]!, 'a1');
    const a2 = await open(urls[0]!, 'a2');
    const b1 = await open(urls[1]!, 'b1');
    try {
      expect(await a1.tryLock(SCHEDULER_LOCK_KEY)).toBe(true);
      expect(await a2.tryLock(SCHEDULER_LOCK_KEY)).toBe(false);
      expect(await b1.tryLock(SCHEDULER_LOCK_KEY)).toBe(true);
      // Asking again while holding it: still held, and still by one store only.
      expect(await a1.tryLock(SCHEDULER_LOCK_KEY)).toBe(true);
      expect(await a2.tryLock(SCHEDULER_LOCK_KEY)).toBe(false);
    } finally {
      // Their locks go with their sessions, whatever the key.
      for (const s of stores.splice(0)) await s.close();
    }
  });

  it("passes to another process when the holder's session ends, and the old holder stops running jobs", async () => {
    const first = await open(urls[2]!, 'first');
    const second = await open(urls[2]!, 'second');
    await migrateToLatest(first);
    const clock = new FakeClock();
    const runs = { first: 0, second: 0 };
    const log = pino({ level: 'silent' });
    const scheduler = (store: Store, name: 'first' | 'second') =>
      new Scheduler({ store, clock, log, jobs: [{ name: 'count', everyMs: 1000, run: async () => void runs[name]++ }] });
    const s1 = scheduler(first, 'first');
    const s2 = scheduler(second, 'second');
    const tickBoth = async () => {
      clock.advance(1000);
      await s1.tick();
      await s2.tick();
    };
    await tickBoth();
    expect(runs).toEqual({ first: 1, second: 0 });

    // The holder's session ends, as in a database restart.
    expect(await terminateLockHolders(`${tag}-first`)).toBe(1);
    // Whoever asks first gets the freed lock: here the second (the first, asking first, would take it back).
    await waitUntil(
      async () => {
        clock.advance(1000);
        await s2.tick();
        return runs.second > 0;
      },
      { what: 'the second scheduler to take over' },
    );
    // The first lost its lock with its session: it must not run jobs beside the second, however often it asks.
    const ranFirst = runs.first;
    const ranSecond = runs.second;
    for (let i = 0; i < 5; i++) await tickBoth();
    expect(runs.first).toBe(ranFirst);
    expect(runs.second).toBe(ranSecond + 5);
    await s1.stop();
    await s2.stop();
  });
});
