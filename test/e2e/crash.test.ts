import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestReceiver } from '../helpers/receiver.js';
import { webhookId } from '../helpers/e2e.js';
import { BACKENDS } from '../helpers/backends.js';
import { RelayProcesses, exited, type RelayProcess } from '../helpers/processes.js';

/**
 * The invariant "an event acknowledged with 2xx is never lost, even on kill -9": the built server
 * runs as a child process on a database, is killed with SIGKILL while ingesting and delivering, and
 * restarted on the same database; every acknowledged event id must reach the receiver.
 * On SQLite the restarted process takes the killed one's leases back at once; on PostgreSQL (where
 * other processes may be alive) they come back when they end, so the lease is 2 s here instead of
 * the default 30 s.
 */
const TOTAL = 3000;
const CONCURRENCY = 16;

for (const backend of BACKENDS) {
// Two server starts and 3,000 events: on a busy machine this takes well over vitest's default 30 s.
describe.skipIf(!backend.available)(`crash safety (kill -9) on ${backend.name}`, { timeout: 180_000 }, () => {
  let databaseUrl: string;
  let drop: (() => Promise<void>) | undefined;
  let receiver: TestReceiver;
  const processes = new RelayProcesses(CONCURRENCY);

  beforeAll(async () => {
    const db = await backend.create();
    databaseUrl = db.url;
    drop = db.drop;
    receiver = await new TestReceiver().start();
  });
  afterAll(async () => {
    await processes.close();
    await receiver?.close();
    await drop?.();
  });

  function startServer(): Promise<RelayProcess> {
    return processes.start(databaseUrl, {
      // SQLite: an hour, so only the restart taking the leases back at once delivers them in time.
      // PostgreSQL: 2 s, taken over when they end.
      RELAY_LEASE: backend.name === 'postgres' ? '2s' : '1h',
      RELAY_SWEEP_INTERVAL: '250ms',
      RELAY_RETRY_SCHEDULE: '0s,100ms,200ms,500ms,1s,1s,1s,1s,1s,1s',
      // A small cap keeps a backlog, so the killed process holds claimed deliveries it never sent
      // (its read-ahead), whose leases the restarted one must take over.
      RELAY_CALLBACK_CONCURRENCY: '4',
    });
  }

  it('every event acknowledged with 202 reaches the receiver after a kill -9 and a restart', async () => {
    receiver.behaviour = (_req, res) => {
      setTimeout(() => res.end(), 2 + Math.floor(Math.random() * 6));
    };
    const first = await startServer();
    const cb = await processes.post(first, '/v1/callbacks', { title: 'crash', url: `${receiver.url}/hook` });
    expect(cb.status, JSON.stringify(cb.body)).toBe(201);

    const acked = new Set<string>();
    let index = 0;
    const next = () => (index < TOTAL ? index++ : undefined);
    let killed = false;
    let seenAtKill = 0;
    let ackedAtKill = 0;
    const streaming = processes.stream(first, next, acked, () => killed, CONCURRENCY);
    // Kill while the receiver has seen some of the events, with deliveries (and ingest) in flight.
    await receiver.waitFor((r) => r.length >= 300 && acked.size > new Set(r.map(webhookId)).size + 10, 60_000, 'the first deliveries');
    seenAtKill = new Set(receiver.received.map(webhookId)).size;
    ackedAtKill = acked.size;
    killed = true;
    first.child.kill('SIGKILL');
    await exited(first.child);
    await streaming;
    expect(first.child.signalCode).toBe('SIGKILL');
    const ackedBeforeCrash = acked.size;
    expect(ackedAtKill, 'the receiver had seen some but not all').toBeGreaterThan(seenAtKill);
    expect(index, 'still streaming when killed').toBeLessThan(TOTAL);

    // Restart on the same database, and send the rest of the events to it.
    const second = await startServer();
    await processes.stream(second, next, acked, () => false, CONCURRENCY);
    expect(index).toBe(TOTAL);
    expect(acked.size).toBeGreaterThan(ackedBeforeCrash);

    const missing = () => {
      const seen = new Set(receiver.received.map(webhookId));
      return [...acked].filter((id) => !seen.has(id));
    };
    try {
      await receiver.waitFor(() => missing().length === 0, 60_000, 'every acknowledged event');
    } catch (err) {
      throw new Error(
        `${missing().length} of ${acked.size} acknowledged events never reached the receiver ` +
          `(${ackedBeforeCrash} acknowledged before the kill, ${seenAtKill} seen at the kill): ${(err as Error).message}\n${second.output()}`,
      );
    }
    const seenIds = new Set(receiver.received.map(webhookId));
    for (const id of acked) expect(seenIds.has(id)).toBe(true);
  });
});
}
