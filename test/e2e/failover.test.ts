import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { BACKENDS, PG_URL, type Backend } from '../helpers/backends.js';
import { TestReceiver } from '../helpers/receiver.js';
import { waitUntil, webhookId } from '../helpers/e2e.js';
import { RelayProcesses, exited, isRunning, type RelayProcess } from '../helpers/processes.js';

/**
 * Fleet failover on PostgreSQL: one api process and three worker processes share a database; one
 * worker is killed with SIGKILL under load. Every acknowledged event must still reach the receiver,
 * and the deliveries the killed worker held leases on must be sent by the others once those leases
 * end. The takeover time is measured from the kill to the first (and to the last) attempt started by
 * a survivor on a delivery leased by the killed worker (attempts.started_at: an attempt started after
 * the kill cannot be the dead worker's; the receiver's arrival times cannot tell, since requests the
 * victim sent just before dying are read after it). It is bounded by what remained of the lease
 * (RELAY_LEASE, renewed every third of it) plus the survivors' sweep (RELAY_SWEEP_INTERVAL).
 */
const postgres = BACKENDS.find((b) => b.name === 'postgres') as Backend;
const TOTAL = 1500;
/**
 * Ingest in batches, ahead of the workers by up to BACKLOG events: each worker then holds claims it
 * has not sent yet (its read-ahead), and ingest goes on across the kill.
 */
const BATCH = 50;
const BACKLOG = 300;
const LEASE = '2s';
const SWEEP = '500ms';

describe.skipIf(!postgres.available)('fleet failover (3 workers, one killed with SIGKILL) on postgres', () => {
  let databaseUrl: string;
  let schema: string;
  let drop: (() => Promise<void>) | undefined;
  let receiver: TestReceiver;
  let db: pg.Client;
  const processes = new RelayProcesses(4);

  beforeAll(async () => {
    const created = await postgres.create();
    databaseUrl = created.url;
    drop = created.drop;
    schema = new URL(databaseUrl).searchParams.get('schema')!;
    receiver = await new TestReceiver().start();
    db = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${schema}` });
    await db.connect();
  });
  afterAll(async () => {
    await processes.close();
    await receiver?.close();
    await db?.end();
    await drop?.();
  });

  const env = {
    RELAY_LEASE: LEASE,
    RELAY_SWEEP_INTERVAL: SWEEP,
    RELAY_RETRY_SCHEDULE: '0s,100ms,200ms,500ms,1s,1s,1s,1s,1s,1s',
    RELAY_CALLBACK_CONCURRENCY: '4',
    // The start-up line names the worker's lease owner.
    LOG_LEVEL: 'info',
  };

  /** The lease_owner of a worker process's claims, from its start-up log line. */
  function leaseOwnerOf(worker: RelayProcess): string {
    for (const line of worker.output().split('\n')) {
      if (!line.includes('callback-relay started')) continue;
      const owner = (JSON.parse(line) as { leaseOwner?: string }).leaseOwner;
      if (owner) return owner;
    }
    throw new Error(`no lease owner in the worker's output:\n${worker.output()}`);
  }

  async function leasedTo(owner: string): Promise<number[]> {
    const res = await db.query<{ id: number }>(`select id from deliveries where lease_owner = $1 and state = 'pending'`, [owner]);
    return res.rows.map((r) => Number(r.id));
  }

  /** Per delivery of `ids`, when its first attempt at or after `since` started. */
  async function firstAttemptsSince(ids: number[], since: number): Promise<Map<number, number>> {
    const res = await db.query<{ id: string; first: string }>(
      `select delivery_id as id, min(started_at) as first from attempts where delivery_id = any($1) and started_at >= $2 group by delivery_id`,
      [ids, since],
    );
    return new Map(res.rows.map((r) => [Number(r.id), Number(r.first)]));
  }

  it('every acknowledged event is delivered, and the killed worker’s deliveries are taken over when their leases end', async () => {
    receiver.behaviour = (_req, res) => {
      setTimeout(() => res.end(), 2 + Math.floor(Math.random() * 6));
    };
    const api = await processes.start(databaseUrl, env, 'api');
    // Before the workers start: a worker learns of another process's new callback by polling.
    const cb = await processes.post(api, '/v1/callbacks', { title: 'failover', url: `${receiver.url}/hook` });
    expect(cb.status, JSON.stringify(cb.body)).toBe(201);
    const workers = await Promise.all([1, 2, 3].map(() => processes.start(databaseUrl, env, 'worker')));
    const victim = workers[1]!;
    const victimOwner = leaseOwnerOf(victim);

    const acked = new Set<string>();
    let index = 0;
    const ingesting = (async () => {
      let failures = 0;
      while (index < TOTAL) {
        await receiver.waitFor((r) => acked.size - r.length < BACKLOG, 30_000, 'the backlog to shrink');
        const events = Array.from({ length: Math.min(BATCH, TOTAL - index) }, () => ({ type: 'sms.delivered', data: { i: index++ } }));
        const res = await processes.post(api, '/v1/events/batch', { events });
        if (res.status === 202) for (const id of res.body.ids as string[]) acked.add(id);
        else failures += events.length;
      }
      return failures;
    })();

    // Kill under load: the receiver has seen a good part, and the victim holds leases.
    await receiver.waitFor((r) => r.length >= 400, 30_000, 'the first deliveries');
    await waitUntil(async () => (await leasedTo(victimOwner)).length > 0, { timeoutMs: 15_000, what: 'the victim to hold leases' });
    victim.child.kill('SIGKILL');
    const killedAt = Date.now();
    await exited(victim.child);
    expect(victim.child.signalCode).toBe('SIGKILL');
    // Its leases stay in the table until they end (at least two thirds of a lease after the kill).
    const orphaned = await leasedTo(victimOwner);
    const seenAtKill = receiver.received.length;
    expect(orphaned.length).toBeGreaterThan(0);
    expect(index, 'still streaming when killed').toBeLessThan(TOTAL);

    const failures = await ingesting;
    expect(index).toBe(TOTAL);
    const missing = () => {
      const seen = new Set(receiver.received.map(webhookId));
      return [...acked].filter((id) => !seen.has(id));
    };
    try {
      await receiver.waitFor(() => missing().length === 0, 30_000, 'every acknowledged event');
    } catch (err) {
      throw new Error(`${missing().length} of ${acked.size} acknowledged events never reached the receiver: ${(err as Error).message}`);
    }

    // Every delivery the victim held was attempted again, by a survivor, after the kill.
    const taken = await waitUntil(
      async () => {
        const m = await firstAttemptsSince(orphaned, killedAt);
        return m.size === orphaned.length ? m : undefined;
      },
      { what: "survivors' attempts on every delivery the victim held" },
    );
    const takeover = Math.min(...taken.values()) - killedAt;
    const complete = Math.max(...taken.values()) - killedAt;
    const requests = receiver.received.length;
    const distinct = new Set(receiver.received.map(webhookId)).size;
    // The survivors carried on, and nothing acknowledged was refused for the kill (ingest is the api's).
    for (const w of workers) if (w !== victim) expect(isRunning(w.child), w.output()).toBe(true);
    expect(failures).toBe(0);
    console.log(
      `failover: ${acked.size} events acknowledged, 3 workers (lease ${LEASE}, sweep ${SWEEP}), one killed after ${seenAtKill} requests ` +
        `holding ${orphaned.length} leases; a survivor took the first of them over ${takeover} ms after the kill, the last ${complete} ms after; ` +
        `${requests} requests for ${distinct} events (${requests - distinct} repeats)`,
    );
  }, 120_000);
});
