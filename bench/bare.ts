/**
 * The bench's reference points: the least a relay could do on this machine, measured in the same run
 * as the relay, so that the relay's figures can be read against them whatever the machine's speed.
 * Run as a child process of bench.ts (IPC), one mode per process:
 *
 *   node dist/bench/bare.js --mode ingest --db URL
 *     A bare Fastify handler for POST /v1/events: parses the JSON, checks `type`, stores the event
 *     as one row and answers 202 once it is durable, concurrent requests sharing one commit (group
 *     commit; SQLite synchronous = FULL, PostgreSQL synchronous_commit on). No authentication,
 *     schema validation, routing to callbacks or delivery rows: what the relay adds to that is its
 *     cost per event.
 *   node dist/bench/bare.js --mode drain --db URL --target URL --count N
 *     A bare queue loop: stores N payloads, then on `go` claims them in batches (SQLite: an UPDATE …
 *     RETURNING; PostgreSQL: FOR UPDATE SKIP LOCKED), POSTs each with undici (64 connections, as the
 *     relay's per-callback cap) and marks the answered ones done in one batched, relaxed commit per
 *     turn. No signing, rendering, attempt records, retries or leases.
 *
 * The child says {type:'ready', port?} when it can be measured; SIGTERM ends it.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import Fastify from 'fastify';
import pg from 'pg';
import { Pool } from 'undici';

const { values } = parseArgs({
  options: {
    mode: { type: 'string' },
    db: { type: 'string' },
    target: { type: 'string' },
    count: { type: 'string', default: '0' },
  },
});

const IN_FLIGHT = 64;
const CLAIM = 256;

/**
 * What both backends offer the two loops. Every commit is durable (ingest: SQLite synchronous = FULL,
 * PostgreSQL synchronous_commit on) or, with `relaxed`, waits for no flush (the drain, like the
 * relay's worker: a commit lost in a crash only means a delivery is sent again).
 */
interface Backend {
  setUp(sql: string[]): Promise<void>;
  /** Inserts rows of [text, text] in one transaction. */
  insertPairs(table: 'events' | 'queue', rows: [string, string][]): Promise<void>;
  claim(limit: number): Promise<{ id: number; body: string }[]>;
  markDone(ids: number[]): Promise<void>;
}

function sqliteBackend(file: string, relaxed: boolean): Backend {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(relaxed ? 'synchronous = NORMAL' : 'synchronous = FULL');
  let claim: Database.Statement | undefined;
  let done: Database.Statement | undefined;
  const inserts = new Map<string, Database.Statement>();
  return {
    setUp: async (statements) => {
      for (const s of statements) db.exec(s);
    },
    insertPairs: async (table, rows) => {
      let stmt = inserts.get(table);
      if (!stmt) inserts.set(table, (stmt = db.prepare(`insert into ${table} (${table === 'events' ? 'id, data' : 'id, body'}) values (?, ?)`)));
      db.transaction(() => {
        for (const [a, b] of rows) stmt.run(table === 'queue' ? Number(a) : a, b);
      })();
    },
    claim: async (limit) => {
      claim ??= db.prepare('update queue set state = 1 where id in (select id from queue where state = 0 order by id limit ?) returning id, body');
      return claim.all(limit) as { id: number; body: string }[];
    },
    markDone: async (ids) => {
      const stmt = (done ??= db.prepare('update queue set state = 2 where id = ?'));
      db.transaction(() => {
        for (const id of ids) stmt.run(id);
      })();
    },
  };
}

function postgresBackend(url: string, relaxed: boolean): Backend {
  const u = new URL(url);
  const schema = u.searchParams.get('schema');
  u.searchParams.delete('schema');
  const settings = [...(schema ? [`-c search_path=${schema}`] : []), ...(relaxed ? ['-c synchronous_commit=off'] : [])];
  const pool = new pg.Pool({ connectionString: u.toString(), max: 4, options: settings.join(' ') || undefined });
  return {
    setUp: async (statements) => {
      if (schema) await pool.query(`create schema if not exists "${schema}"`);
      for (const s of statements) await pool.query(s);
    },
    insertPairs: async (table, rows) => {
      const cols = table === 'events' ? 'id, data' : 'id, body';
      const first = table === 'events' ? 'text' : 'bigint';
      await pool.query(`insert into ${table} (${cols}) select * from unnest($1::${first}[], $2::text[])`, [rows.map((r) => r[0]), rows.map((r) => r[1])]);
    },
    claim: async (limit) =>
      (
        await pool.query<{ id: string; body: string }>(
          'update queue set state = 1 where id = any(array(select id from queue where state = 0 order by id limit $1 for update skip locked)) returning id, body',
          [limit],
        )
      ).rows.map((r) => ({ id: Number(r.id), body: r.body })),
    markDone: async (ids) => {
      await pool.query('update queue set state = 2 where id = any($1)', [ids]);
    },
  };
}

const ready = (port?: number): void => {
  process.send?.({ type: 'ready', port });
};

async function ingest(store: Backend): Promise<void> {
  await store.setUp(['create table events (id text primary key, data text not null)']);
  let waiting: { row: [string, string]; done: (err?: unknown) => void }[] = [];
  let running = false;
  // Group commit: what arrived while the previous commit ran goes into the next one.
  const flush = async (): Promise<void> => {
    if (running || waiting.length === 0) return;
    running = true;
    const batch = waiting;
    waiting = [];
    try {
      await store.insertPairs(
        'events',
        batch.map((w) => w.row),
      );
      for (const w of batch) w.done();
    } catch (err) {
      for (const w of batch) w.done(err);
    } finally {
      running = false;
      if (waiting.length > 0) setImmediate(() => void flush());
    }
  };
  const app = Fastify({ logger: false });
  app.post('/v1/events', async (req, reply) => {
    const body = req.body as { type?: unknown; data?: unknown } | null;
    if (typeof body?.type !== 'string') return reply.code(400).send({ error: 'type is required' });
    const id = randomUUID();
    await new Promise<void>((resolve, reject) => {
      waiting.push({ row: [id, JSON.stringify(body)], done: (err) => (err ? reject(err) : resolve()) });
      if (waiting.length === 1) setImmediate(() => void flush());
    });
    return reply.code(202).send({ id });
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  ready(typeof address === 'object' && address ? address.port : undefined);
}

async function drain(store: Backend, target: string, count: number): Promise<void> {
  await store.setUp([
    'create table queue (id bigint primary key, body text not null, state integer not null default 0)',
    'create index queue_owed on queue (id) where state = 0',
  ]);
  const rows: [string, string][] = [];
  const at = new Date().toISOString();
  for (let i = 1; i <= count; i++) {
    rows.push([String(i), JSON.stringify({ type: 'sms.delivered', timestamp: at, data: { message_id: `msg_${i.toString(36)}`, status: 'delivered', n: i } })]);
    if (rows.length === 5_000 || i === count) await store.insertPairs('queue', rows.splice(0));
  }
  const url = new URL(target);
  const http = new Pool(url.origin, { connections: IN_FLIGHT, pipelining: 1 });
  const queued: { id: number; body: string }[] = [];
  let inFlight = 0;
  let answered: number[] = [];
  let busy = false;
  let exhausted = false;
  // One turn: record what was answered, claim more when the read-ahead runs low, start sends.
  const turn = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      if (answered.length > 0) {
        const ids = answered;
        answered = [];
        await store.markDone(ids);
      }
      if (!exhausted && queued.length < CLAIM / 2) {
        const got = await store.claim(CLAIM);
        if (got.length === 0) exhausted = true;
        for (const r of got) queued.push(r);
      }
      while (inFlight < IN_FLIGHT && queued.length > 0) send(queued.shift()!);
    } finally {
      busy = false;
    }
    if (answered.length > 0 || (inFlight < IN_FLIGHT && queued.length === 0 && !exhausted)) setImmediate(() => void turn());
  };
  const send = (job: { id: number; body: string }): void => {
    inFlight++;
    http
      .request({
        method: 'POST',
        path: url.pathname,
        headers: { 'content-type': 'application/json', 'webhook-id': `msg_${job.id}` },
        body: job.body,
      })
      .then((res) => res.body.dump())
      .then(
        () => answered.push(job.id),
        () => queued.push(job),
      )
      .finally(() => {
        inFlight--;
        if (answered.length === 1 || inFlight === 0) setImmediate(() => void turn());
      });
  };
  process.on('message', (msg: { cmd?: string }) => {
    if (msg.cmd === 'go') void turn();
  });
  ready();
}

async function main(): Promise<void> {
  const dbUrl = values.db ?? '';
  const relaxed = values.mode === 'drain';
  const store = dbUrl.startsWith('sqlite:') ? sqliteBackend(dbUrl.slice('sqlite:'.length), relaxed) : postgresBackend(dbUrl, relaxed);
  if (values.mode === 'ingest') await ingest(store);
  else if (values.mode === 'drain') await drain(store, values.target ?? '', Number(values.count));
  else throw new Error(`--mode must be ingest or drain, got "${values.mode}"`);
  // Gone with the bench: the IPC channel closing ends this process too.
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
}

main().catch((err: unknown) => {
  process.stderr.write(`bare ${values.mode}: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
