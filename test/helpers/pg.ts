import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { PG_URL } from './backends.js';

/**
 * PostgreSQL faults for the suites that cause them. The server is shared with other people's tests:
 * only backends whose application_name starts with a prefix of the test's own are ever touched (a
 * relay process names its connections `callback-relay <pid> <roles>`, see src/runtime.ts).
 */

/** The application_name prefix of every connection of the relay process `pid`. */
export function relayAppName(pid: number): string {
  return `callback-relay ${pid} `;
}

async function withClient<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** The backends whose application_name starts with `prefix`: pid, name and latest statement. */
export function backendsOf(prefix: string): Promise<{ pid: number; name: string; query: string }[]> {
  return withClient(async (c) => {
    const res = await c.query<{ pid: number; name: string; query: string }>(
      `select pid, application_name as name, query from pg_stat_activity where left(application_name, length($1)) = $1`,
      [prefix],
    );
    return res.rows;
  });
}

/**
 * Terminates the backends whose application_name starts with `prefix` (what a server restart does
 * to them); returns how many were signalled.
 */
export function terminateBackends(prefix: string): Promise<number> {
  return withClient(async (c) => {
    const res = await c.query<{ ok: boolean }>(
      `select pg_terminate_backend(pid) as ok from pg_stat_activity where left(application_name, length($1)) = $1 and pid <> pg_backend_pid()`,
      [prefix],
    );
    return res.rows.filter((r) => r.ok).length;
  });
}

/** How many advisory locks the backends whose application_name starts with `prefix` hold. */
export function advisoryLocksOf(prefix: string): Promise<number> {
  return withClient(async (c) => {
    const res = await c.query<{ n: number }>(
      `select count(*)::int as n from pg_locks l join pg_stat_activity a on a.pid = l.pid
        where l.locktype = 'advisory' and l.granted and left(a.application_name, length($1)) = $1`,
      [prefix],
    );
    return res.rows[0]?.n ?? 0;
  });
}

/**
 * Terminates the backends whose application_name starts with `prefix` and which hold an advisory
 * lock (a scheduler's lock session); returns how many were signalled.
 */
export function terminateLockHolders(prefix: string): Promise<number> {
  return withClient(async (c) => {
    const res = await c.query<{ ok: boolean }>(
      `select pg_terminate_backend(a.pid) as ok from pg_stat_activity a
        where left(a.application_name, length($1)) = $1
          and exists (select 1 from pg_locks l where l.pid = a.pid and l.locktype = 'advisory' and l.granted)`,
      [prefix],
    );
    return res.rows.filter((r) => r.ok).length;
  });
}

/**
 * A TCP proxy on 127.0.0.1 in front of the test server: `down()` cuts every connection through it and
 * refuses new ones (the server is down, as in a restart), `up()` lets them through again.
 */
export class PgProxy {
  private server: Server;
  private pairs = new Set<Socket>();
  private refusing = false;

  constructor() {
    const upstream = new URL(PG_URL);
    this.server = createServer((client) => {
      if (this.refusing) return void client.destroy();
      const server = connect(Number(upstream.port || 5432), upstream.hostname);
      for (const [a, b] of [
        [client, server],
        [server, client],
      ] as const) {
        this.pairs.add(a);
        a.on('error', () => b.destroy());
        a.on('close', () => {
          this.pairs.delete(a);
          b.destroy();
        });
        a.pipe(b);
      }
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  /** `url` (a database URL of the test server) going through this proxy. */
  via(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String((this.server.address() as AddressInfo).port);
    return u.toString();
  }

  down(): void {
    this.refusing = true;
    for (const s of this.pairs) s.destroy();
  }

  up(): void {
    this.refusing = false;
  }

  async close(): Promise<void> {
    this.down();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
