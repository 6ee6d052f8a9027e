/**
 * The dashboard's pages against a large database (`npm run bench:dashboard`): seeds an SQLite file
 * (or, with `--db postgres`, a schema of its own in PostgreSQL, dropped afterwards) with 10,000 callbacks, 1,000,000 events with one delivery each (30 days, skewed so the busiest
 * callback has ~5 %; 90 % delivered, 8 % failed, 0.5 % held, the newest 20,000 pending) and an
 * attempt per delivery finished in the last 7 days, then starts the relay (API role), rolls up the closed
 * hours as the scheduler would have (src/rollups.ts; its time is reported) and times every
 * list and statistics request the dashboard makes, over real HTTP on 127.0.0.1: p50 and p95 of
 * `--requests` sequential requests each, after 3 unmeasured ones.
 *
 * @example
 *   npm run bench:dashboard                           # 10k callbacks, 1M deliveries
 *   node dist/bench/dashboard.js --deliveries 100000 --json
 *   node dist/bench/dashboard.js --keep /tmp/dash.db  # keep (or reuse) the seeded file
 *   node dist/bench/dashboard.js --db postgres        # $BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432/test
 *   node dist/bench/dashboard.js --db postgres --keep relay_dash  # keep (or reuse) that schema
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { pino } from 'pino';
import { Pool } from 'undici';
import { loadConfig } from '../src/config.js';
import { startRelay, type Relay } from '../src/runtime.js';
import { DeliveryRollups } from '../src/rollups.js';
import { systemClock } from '../src/lib/clock.js';

const USER = 'bench-admin';
const KEY = 'bench-admin-key-0123456789';
const AUTH = `Basic ${Buffer.from(`${USER}:${KEY}`).toString('base64')}`;
const DAY = 86_400_000;
const TYPES = ['sms.delivered', 'sms.sent', 'sms.undelivered', 'sms.queued', 'email.delivered', 'email.open', 'email.click', 'otp.sent', 'otp.verified', 'sms.inbound'];

const { values: args } = parseArgs({
  options: {
    callbacks: { type: 'string', default: '10000' },
    deliveries: { type: 'string', default: '1000000' },
    requests: { type: 'string', default: '20' },
    keep: { type: 'string' },
    db: { type: 'string', default: 'sqlite' },
    json: { type: 'boolean', default: false },
  },
});
const CALLBACKS = Number(args.callbacks);
const DELIVERIES = Number(args.deliveries);
const REQUESTS = Number(args.requests);

if (args.db !== 'sqlite' && args.db !== 'postgres') throw new Error(`--db must be sqlite or postgres, got "${args.db}"`);
const PG_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

function relayConfig(databaseUrl: string) {
  return loadConfig({
    DATABASE_URL: databaseUrl,
    RELAY_ADMIN_USER: USER,
    RELAY_ADMIN_KEY: KEY,
    RELAY_ALLOW_PRIVATE_NETWORKS: '1',
    RELAY_ROLES: 'api',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
  });
}

async function start(databaseUrl: string): Promise<{ relay: Relay; pool: Pool }> {
  const relay = await startRelay(relayConfig(databaseUrl), { log: pino({ level: 'warn' }) });
  return { relay, pool: new Pool(relay.url!, { connections: 4 }) };
}

async function call(pool: Pool, method: 'GET' | 'POST', p: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await pool.request({
    method,
    path: p,
    headers: { authorization: AUTH, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.body.text();
  return { status: res.statusCode, json: text ? JSON.parse(text) : undefined };
}

/** One callback through the API (so its row is what the code writes), then the rest copied from it in SQL. */
async function seed(databaseUrl: string): Promise<void> {
  const t0 = Date.now();
  const { relay, pool } = await start(databaseUrl);
  const first = await call(pool, 'POST', '/v1/callbacks', { title: 'Callback 0', url: 'http://127.0.0.1:9/hook/0' });
  if (first.status !== 201) throw new Error(`creating the first callback: ${first.status} ${JSON.stringify(first.json)}`);
  await pool.close();
  await relay.close();
  if (databaseUrl.startsWith('sqlite:')) seedSqlite(databaseUrl.slice('sqlite:'.length), first.json.id as string);
  else await seedPostgres(databaseUrl, first.json.id as string);
  if (!args.json) process.stderr.write(`\nseeded in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
}

function seedSqlite(file: string, firstId: string): void {
  const db = new SqliteDatabase(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const now = Date.now();
  const template = db.prepare('select * from callbacks where id = ?').get(firstId) as Record<string, unknown>;
  const columns = Object.keys(template);
  const insertCallback = db.prepare(`insert into callbacks (${columns.join(', ')}) values (${columns.map((c) => `@${c}`).join(', ')})`);
  const ids: string[] = [String(template.id)];
  db.transaction(() => {
    for (let i = 1; i < CALLBACKS; i++) {
      const id = `cb_bench${String(i).padStart(8, '0')}`;
      ids.push(id);
      const created = now - 30 * DAY + Math.floor((i / CALLBACKS) * 29 * DAY);
      insertCallback.run({
        ...template,
        id,
        title: `Callback ${i}`,
        url: `http://127.0.0.1:9/hook/${i}`,
        method: i % 3 === 0 ? 'GET' : 'POST',
        enabled: i % 50 === 0 ? 0 : 1,
        created_at: created,
        updated_at: created,
      });
    }
  })();

  const accountId = String(template.account_id);
  const insertEvent = db.prepare(
    'insert into events (id, account_id, api_user, type, data, resource_id, callback_profile_id, custom_args, idempotency_key, idempotency_digest, created_at) values (?, ?, ?, ?, ?, ?, null, null, null, null, ?)',
  );
  const insertDelivery = db.prepare(
    'insert into deliveries (account_id, event_id, callback_id, state, attempts, next_attempt_at, lease_owner, lease_until, ordering_key, last_status, last_error, created_at, updated_at, completed_at) values (?, ?, ?, ?, ?, ?, null, null, null, ?, ?, ?, ?, ?)',
  );
  const insertAttempt = db.prepare(
    `insert into attempts (delivery_id, account_id, callback_id, event_id, kind, attempt, started_at, duration_ms, request_method, request_url, request_headers, request_body, response_status, response_headers, response_body, error_class, error_message, outcome)
     values (?, ?, ?, ?, 'delivery', 1, ?, ?, 'POST', ?, '{"content-type":"application/json"}', ?, ?, '{}', 'ok', null, null, ?)`,
  );
  // A fixed pseudo-random sequence: the same database every run.
  let s = 42;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const span = 30 * DAY;
  const batch = 50_000;
  for (let from = 0; from < DELIVERIES; from += batch) {
    db.transaction(() => {
      for (let i = from; i < Math.min(DELIVERIES, from + batch); i++) {
        const created = now - span + Math.floor((i / DELIVERIES) * span);
        const cb = ids[Math.floor(CALLBACKS * rand() ** 3)]!;
        const type = TYPES[i % TYPES.length]!;
        const eventId = `evt_bench${String(i).padStart(10, '0')}`;
        const data = JSON.stringify({ to: `+3360000${String(i % 10000).padStart(4, '0')}`, message_id: `msg-${i}` });
        insertEvent.run(eventId, accountId, USER, type, data, `msg-${i}`, created);
        const r = rand();
        const state = i >= DELIVERIES - 20_000 ? 'pending' : r < 0.08 ? 'failed' : r < 0.085 ? 'held' : 'delivered';
        const done = state === 'delivered' || state === 'failed';
        const completed = done ? created + 50 + Math.floor(rand() * 2000) : null;
        const status = state === 'delivered' ? 200 : state === 'failed' ? 500 : null;
        const res = insertDelivery.run(accountId, eventId, cb, state, done ? 1 : 0, state === 'pending' ? created + 5000 : created, status, state === 'failed' ? 'HTTP 500' : null, created, completed ?? created, completed);
        if (done && created > now - 7 * DAY) {
          const ms = 20 + Math.floor(rand() * rand() * 1500);
          insertAttempt.run(res.lastInsertRowid, accountId, cb, eventId, completed! - ms, ms, `http://127.0.0.1:9/hook`, data, status, state === 'delivered' ? 'success' : 'retryable');
        }
      }
    })();
    if (!args.json) process.stderr.write(`\rseeding: ${Math.min(DELIVERIES, from + batch)} of ${DELIVERIES} deliveries`);
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.exec('analyze');
  db.close();
}

/**
 * The same database as seedSqlite, generated by the server (generate_series): the same counts,
 * spans, skew and shares, from a hash of the row number instead of the SQLite seeder's sequence.
 */
async function seedPostgres(databaseUrl: string, firstId: string): Promise<void> {
  const url = new URL(databaseUrl);
  const schema = url.searchParams.get('schema')!;
  url.searchParams.delete('schema');
  await withPg(url.toString(), async (client) => {
    await client.query(`set search_path = ${schema}`);
    const now = Date.now();
    const template = (await client.query('select * from callbacks where id = $1', [firstId])).rows[0] as Record<string, unknown>;
    const created = `($2::bigint - 30 * $3::bigint + floor(i::float8 / $4 * 29 * $3)::bigint)`;
    const over: Record<string, string> = {
      id: `'cb_bench' || lpad(i::text, 8, '0')`,
      title: `'Callback ' || i`,
      url: `'http://127.0.0.1:9/hook/' || i`,
      method: `case when i % 3 = 0 then 'GET' else 'POST' end`,
      enabled: `case when i % 50 = 0 then 0 else 1 end`,
      created_at: created,
      updated_at: created,
    };
    const columns = Object.keys(template);
    await client.query(
      `insert into callbacks (${columns.map((c) => `"${c}"`).join(', ')})
       select ${columns.map((c) => over[c] ?? `t."${c}"`).join(', ')} from callbacks t, generate_series(1, $4 - 1) i where t.id = $1`,
      [firstId, now, DAY, CALLBACKS],
    );
    const accountId = String(template.account_id);
    const span = 30 * DAY;
    const batch = 100_000;
    for (let from = 0; from < DELIVERIES; from += batch) {
      const to = Math.min(DELIVERIES, from + batch) - 1;
      // $1 account, $2 now, $3 span, $4 total, $5..$6 the rows of this batch.
      const params = [accountId, now, span, DELIVERIES, from, to];
      await client.query(
        `insert into events (id, account_id, api_user, type, data, resource_id, callback_profile_id, custom_args, idempotency_key, idempotency_digest, created_at)
         select 'evt_bench' || lpad(i::text, 10, '0'), $1, '${USER}', ($7::text[])[i % ${TYPES.length} + 1],
                json_build_object('to', '+3360000' || lpad((i % 10000)::text, 4, '0'), 'message_id', 'msg-' || i)::text,
                'msg-' || i, null, null, null, null, $2::bigint - $3::bigint + floor(i::float8 / $4 * $3)::bigint
         from generate_series($5::int, $6::int) i`,
        [...params, TYPES],
      );
      await client.query(
        `insert into deliveries (account_id, event_id, callback_id, state, attempts, next_attempt_at, lease_owner, lease_until, ordering_key, last_status, last_error, created_at, updated_at, completed_at)
         select $1, 'evt_bench' || lpad(i::text, 10, '0'),
                case when k = 0 then '${firstId}' else 'cb_bench' || lpad(k::text, 8, '0') end,
                st, case when done then 1 else 0 end, case when st = 'pending' then c + 5000 else c end, null, null, null,
                case st when 'delivered' then 200 when 'failed' then 500 end, case when st = 'failed' then 'HTTP 500' end,
                c, case when done then c + 50 + floor(r3 * 2000)::bigint else c end, case when done then c + 50 + floor(r3 * 2000)::bigint end
         from (
           select i, c, r3, floor(${CALLBACKS} * power(r1, 3))::int as k, st, st in ('delivered', 'failed') as done
           from (
             select i, c, r1, r3,
                    case when i >= $4 - 20000 then 'pending' when r2 < 0.08 then 'failed' when r2 < 0.085 then 'held' else 'delivered' end as st
             from (
               select i, $2::bigint - $3::bigint + floor(i::float8 / $4 * $3)::bigint as c,
                      ((i::bigint * 1103515245 + 12345) % 2147483648)::float8 / 2147483648 as r1,
                      ((i::bigint * 22695477 + 1) % 2147483648)::float8 / 2147483648 as r2,
                      ((i::bigint * 134775813 + 1) % 2147483648)::float8 / 2147483648 as r3
               from generate_series($5::int, $6::int) i
             ) a
           ) b
         ) d`,
        params,
      );
      if (!args.json) process.stderr.write(`\rseeding: ${to + 1} of ${DELIVERIES} deliveries`);
    }
    await client.query(
      `insert into attempts (delivery_id, account_id, callback_id, event_id, kind, attempt, started_at, duration_ms, request_method, request_url, request_headers, request_body, response_status, response_headers, response_body, error_class, error_message, outcome)
       select d.id, d.account_id, d.callback_id, d.event_id, 'delivery', 1, d.completed_at - m.ms, m.ms, 'POST', 'http://127.0.0.1:9/hook',
              '{"content-type":"application/json"}', e.data, d.last_status, '{}', 'ok', null, null,
              case d.state when 'delivered' then 'success' else 'retryable' end
       from deliveries d
       join events e on e.id = d.event_id
       cross join lateral (select 20 + floor(((d.id * 48271) % 2147483647)::float8 / 2147483647 * 1500)::int as ms) m
       where d.state in ('delivered', 'failed') and d.created_at > $1::bigint - 7 * $2::bigint`,
      [now, DAY],
    );
    // As autovacuum would have by then on a database that grew to this size: statistics, and the
    // visibility map that lets index-only scans skip the table (a bulk load leaves it unset).
    await client.query('vacuum analyze');
  });
}

/** A connection to `url` for `fn`, closed after it. */
async function withPg<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Whether the PostgreSQL schema already holds a seeded database (--keep). */
function schemaSeeded(schema: string): Promise<boolean> {
  return withPg(PG_URL, async (client) => {
    const r = await client.query(`select count(*)::int as n from information_schema.tables where table_schema = $1 and table_name = 'deliveries'`, [schema]);
    if (r.rows[0].n === 0) return false;
    return (await client.query(`select exists (select 1 from ${schema}.deliveries) as e`)).rows[0].e as boolean;
  });
}

function dropSchema(schema: string): Promise<void> {
  return withPg(PG_URL, async (client) => {
    await client.query(`drop schema if exists ${schema} cascade`);
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

async function main(): Promise<void> {
  const postgres = args.db === 'postgres';
  const dir = args.keep || postgres ? undefined : mkdtempSync(path.join(os.tmpdir(), 'relay-dash-'));
  const schema = postgres ? (args.keep ?? `relay_dash_${process.pid}`) : undefined;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`--keep with --db postgres names a schema (lower-case identifier), got "${schema}"`);
  const file = postgres ? '' : (args.keep ?? path.join(dir!, 'relay.db'));
  const databaseUrl = postgres ? `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}schema=${schema}` : `sqlite:${file}`;
  try {
    if (postgres ? !(await schemaSeeded(schema!)) : !existsSync(file)) await seed(databaseUrl);
    const { relay, pool } = await start(databaseUrl);
    try {
      // As a running relay's scheduler would have: every closed hour of the last 8 days rolled up.
      const r0 = Date.now();
      const rolled = await new DeliveryRollups({ store: relay.store, clock: systemClock, log: pino({ level: 'warn' }) }, { maxHours: 10_000 }).run();
      const rollup = { hours: rolled.hours, rows: rolled.rows, ms: Date.now() - r0 };
      if (!args.json) process.stderr.write(`rolled up ${rollup.hours} hours (${rollup.rows} rows) in ${rollup.ms} ms\n`);
      const busy = (await call(pool, 'GET', '/v1/stats')).json.callbacks[0].callback_id as string;
      const since = (days: number) => new Date(Date.now() - days * DAY).toISOString();
      const pages: [string, string][] = [
        ['callbacks, first page', '/v1/callbacks?limit=50'],
        ['callbacks, last page', `/v1/callbacks?limit=50&offset=${CALLBACKS - 50}`],
        ['callbacks, title search', '/v1/callbacks?title=callback%2012&limit=50'],
        ['callbacks, method + created range + enabled', `/v1/callbacks?method=GET&enabled=true&created_after=${since(20)}&created_before=${since(10)}&limit=50`],
        ['callbacks, format + channel', '/v1/callbacks?format=standard&limit=50'],
        ['deliveries, first page', '/v1/deliveries?limit=50'],
        ['deliveries, state=failed', '/v1/deliveries?state=failed&limit=50'],
        ['deliveries, busiest callback', `/v1/deliveries?callback_id=${busy}&limit=50`],
        ['deliveries, event type + last day', `/v1/deliveries?event_type=sms.delivered&created_after=${since(1)}&limit=50`],
        ['deliveries, page 100', '/v1/deliveries?limit=50&offset=5000'],
        ['events, first page', '/v1/events?limit=50'],
        ['events, type', '/v1/events?type=email.open&limit=50'],
        ['events, resource id', '/v1/events?resource_id=msg-123456'],
        ['events, last day', `/v1/events?created_after=${since(1)}&limit=50`],
        ['stats (overview)', '/v1/stats'],
        ['callback stats 24h, busiest', `/v1/callbacks/${busy}/stats?window=24h`],
        ['callback stats 7d, busiest', `/v1/callbacks/${busy}/stats?window=7d`],
        ['callback stats 7d, a quiet one', `/v1/callbacks/cb_bench${String(CALLBACKS - 1).padStart(8, '0')}/stats?window=7d`],
        ['notices', '/v1/notices?limit=50'],
        ['api users', '/v1/api-users'],
      ];
      const results: { page: string; path: string; p50_ms: number; p95_ms: number }[] = [];
      for (const [page, p] of pages) {
        const times: number[] = [];
        for (let i = 0; i < REQUESTS + 3; i++) {
          const t0 = process.hrtime.bigint();
          const r = await call(pool, 'GET', p);
          const ms = Number(process.hrtime.bigint() - t0) / 1e6;
          if (r.status !== 200) throw new Error(`${p}: ${r.status} ${JSON.stringify(r.json)}`);
          if (i >= 3) times.push(ms);
        }
        times.sort((a, b) => a - b);
        results.push({ page, path: p, p50_ms: +percentile(times, 0.5).toFixed(1), p95_ms: +percentile(times, 0.95).toFixed(1) });
        if (!args.json) process.stderr.write(`${page.padEnd(46)} p50 ${percentile(times, 0.5).toFixed(1).padStart(7)} ms   p95 ${percentile(times, 0.95).toFixed(1).padStart(7)} ms\n`);
      }
      const summary = { db: args.db, callbacks: CALLBACKS, deliveries: DELIVERIES, requests: REQUESTS, cpus: os.cpus().length, node: process.version, rollup, results };
      if (args.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
      else {
        const slow = results.filter((r) => r.p95_ms > 100);
        process.stderr.write(slow.length ? `over 100 ms (p95): ${slow.map((r) => r.page).join('; ')}\n` : 'every page under 100 ms (p95)\n');
      }
    } finally {
      await pool.close();
      await relay.close();
    }
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (postgres && !args.keep) await dropSchema(schema!);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
