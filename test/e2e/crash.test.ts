import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { TestReceiver } from '../helpers/receiver.js';
import { ADMIN, basic } from '../helpers/relay.js';
import { webhookId } from '../helpers/e2e.js';
import { killAll, startCliServer, type CliServer } from '../helpers/cli.js';
import { BACKENDS } from '../helpers/backends.js';

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
const AUTH = basic(ADMIN.user, ADMIN.key);

for (const backend of BACKENDS) {
describe.skipIf(!backend.available)(`crash safety (kill -9) on ${backend.name}`, () => {
  const children: ChildProcess[] = [];
  let databaseUrl: string;
  let drop: (() => Promise<void>) | undefined;
  let receiver: TestReceiver;
  const agent = new Agent({ connections: CONCURRENCY, keepAliveTimeout: 10_000, pipelining: 1 });

  beforeAll(async () => {
    const db = await backend.create();
    databaseUrl = db.url;
    drop = db.drop;
    receiver = await new TestReceiver().start();
  });
  afterAll(async () => {
    await killAll(children);
    await agent.close().catch(() => {});
    await receiver?.close();
    await drop?.();
  });

  function startServer(): Promise<CliServer> {
    return startCliServer(
      {
        DATABASE_URL: databaseUrl,
        // SQLite keeps the default 30 s: the restart must take the leases back at once, not when they end.
        ...(backend.name === 'postgres' ? { RELAY_LEASE: '2s' } : {}),
        RELAY_SWEEP_INTERVAL: '250ms',
        RELAY_RETRY_SCHEDULE: '0s,100ms,200ms,500ms,1s,1s,1s,1s,1s,1s',
        // A small cap keeps a backlog, so the killed process holds claimed deliveries it never sent
        // (its read-ahead), whose leases the restarted one must take over.
        RELAY_CALLBACK_CONCURRENCY: '4',
      },
      children,
      agent,
    );
  }

  async function post(server: CliServer, path: string, body: unknown): Promise<{ status: number; body: any }> {
    const res = await request(`${server.url}${path}`, {
      dispatcher: agent,
      method: 'POST',
      headers: { authorization: AUTH, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.body.text();
    return { status: res.statusCode, body: text ? JSON.parse(text) : undefined };
  }

  /** Posts events `next()` hands out, CONCURRENCY at a time, until it runs out or `stop()` says so. */
  async function stream(server: CliServer, next: () => number | undefined, acked: Set<string>, stop: () => boolean): Promise<number> {
    let failures = 0;
    const worker = async () => {
      for (;;) {
        if (stop()) return;
        const i = next();
        if (i === undefined) return;
        try {
          const res = await post(server, '/v1/events', { type: 'sms.delivered', data: { i, to: '+33600000000' } });
          if (res.status === 202) acked.add(res.body.id as string);
          else failures++;
        } catch {
          // The server died under this request: it was never acknowledged.
          failures++;
          if (stop()) return;
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    return failures;
  }

  it('every event acknowledged with 202 reaches the receiver after a kill -9 and a restart', async () => {
    receiver.behaviour = (_req, res) => {
      setTimeout(() => res.end(), 2 + Math.floor(Math.random() * 6));
    };
    const first = await startServer();
    const cb = await post(first, '/v1/callbacks', { title: 'crash', url: `${receiver.url}/hook` });
    expect(cb.status, JSON.stringify(cb.body)).toBe(201);

    const acked = new Set<string>();
    let index = 0;
    const next = () => (index < TOTAL ? index++ : undefined);
    let killed = false;
    let seenAtKill = 0;
    let ackedAtKill = 0;
    const streaming = stream(first, next, acked, () => killed);
    // Kill while the receiver has seen some of the events, with deliveries (and ingest) in flight.
    await receiver.waitFor((r) => r.length >= 300 && acked.size > new Set(r.map(webhookId)).size + 10, 15_000, 'the first deliveries');
    seenAtKill = new Set(receiver.received.map(webhookId)).size;
    ackedAtKill = acked.size;
    killed = true;
    first.child.kill('SIGKILL');
    await new Promise((r) => (first.child.exitCode !== null || first.child.signalCode !== null ? r(null) : first.child.once('exit', r)));
    await streaming;
    expect(first.child.signalCode).toBe('SIGKILL');
    const ackedBeforeCrash = acked.size;
    expect(ackedAtKill, 'the receiver had seen some but not all').toBeGreaterThan(seenAtKill);
    expect(index, 'still streaming when killed').toBeLessThan(TOTAL);

    // Restart on the same database, and send the rest of the events to it.
    const restartedAt = Date.now();
    const second = await startServer();
    await stream(second, next, acked, () => false);
    expect(index).toBe(TOTAL);
    expect(acked.size).toBeGreaterThan(ackedBeforeCrash);

    const missing = () => {
      const seen = new Set(receiver.received.map(webhookId));
      return [...acked].filter((id) => !seen.has(id));
    };
    try {
      await receiver.waitFor(() => missing().length === 0, 20_000, 'every acknowledged event');
    } catch (err) {
      throw new Error(
        `${missing().length} of ${acked.size} acknowledged events never reached the receiver ` +
          `(${ackedBeforeCrash} acknowledged before the kill, ${seenAtKill} seen at the kill): ${(err as Error).message}\n${second.output()}`,
      );
    }
    // Leases held by the killed process were taken back at once (SQLite) or when their 2 s ended
    // (PostgreSQL), not after the default 30 s lease.
    expect(Date.now() - restartedAt).toBeLessThan(15_000);
    const seenIds = new Set(receiver.received.map(webhookId));
    for (const id of acked) expect(seenIds.has(id)).toBe(true);
  });
});
}
