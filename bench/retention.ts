/**
 * The retention purge under ingest: how long its batch transactions last, and what ingest sees
 * meanwhile. Seeds `--count` deliveries finished 40 days ago (each with its event and `--attempts`
 * attempts), measures ingest alone for `--seconds`, then the same ingest while the purge
 * (RetentionPurger, the scheduler's job, with no batch budget) removes them all.
 *
 * Ingest here is the store's: one event with one delivery per durable transaction
 * (insertEventsWithDeliveries; SQLite synchronous = FULL), paced at `--rate` a second, one at a time,
 * in the purge's process (on SQLite, the process that holds the connection and the event loop).
 *
 * @example
 *   npm run build && node dist/bench/retention.js --db sqlite --count 100000
 *   node dist/bench/retention.js --db postgres --count 100000 --batch 1000
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import pg from 'pg';
import pino from 'pino';
import { FakeClock } from '../src/lib/clock.js';
import { RetentionPurger } from '../src/retention.js';
import { insertRows } from '../src/store/bulk.js';
import { migrateToLatest, openStore, type Store } from '../src/store/db.js';
import { insertEventsWithDeliveries } from '../src/store/deliveries.js';
import type { NewAttempt, NewDelivery, NewEvent } from '../src/store/schema.js';

const { values } = parseArgs({
  options: {
    db: { type: 'string', default: 'sqlite' },
    'pg-url': { type: 'string', default: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    count: { type: 'string', default: '100000' },
    attempts: { type: 'string', default: '2' },
    batch: { type: 'string', default: '500' },
    rate: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '5' },
  },
});
const COUNT = Number(values.count);
const ATTEMPTS = Number(values.attempts);
const BATCH = Number(values.batch);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const DAY = 86_400_000;
const ACCOUNT = 'acc_bench';

const clock = new FakeClock(Date.now());
const now = clock.now();

async function createDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  if (values.db === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'relay-retention-'));
    return { url: `sqlite:${join(dir, 'relay.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const schema = `bench_retention_${process.pid}`;
  const base = values['pg-url']!;
  return {
    url: `${base}?schema=${schema}`,
    drop: async () => {
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      await client.query(`drop schema if exists ${schema} cascade`);
      await client.end();
    },
  };
}

const EVENT = { account_id: ACCOUNT, api_user: null, type: 'sms.delivered', data: '{"message_id":"m-1","to":"+33600000000","status":"delivered"}', resource_id: null, callback_profile_id: null, custom_args: null, idempotency_key: null };

async function seed(store: Store): Promise<void> {
  await store.db.insertInto('accounts').values({ id: ACCOUNT, name: ACCOUNT, admin_email: null, created_at: now - 400 * DAY }).execute();
  const CHUNK = 5_000;
  let nextDelivery = 1;
  for (let start = 0; start < COUNT; start += CHUNK) {
    const n = Math.min(CHUNK, COUNT - start);
    const created = now - 40 * DAY;
    const events: NewEvent[] = [];
    const deliveries: NewDelivery[] = [];
    const attempts: NewAttempt[] = [];
    for (let i = start; i < start + n; i++) {
      const id = `evt_old_${String(i).padStart(8, '0')}`;
      events.push({ ...EVENT, id, created_at: created + i });
      deliveries.push({ account_id: ACCOUNT, event_id: id, callback_id: 'cb_bench', state: 'delivered', attempts: ATTEMPTS, next_attempt_at: created + i, lease_owner: null, lease_until: null, ordering_key: null, last_status: 200, last_error: null, created_at: created + i, updated_at: created + i, completed_at: created + i + 1_000 });
      for (let a = 1; a <= ATTEMPTS; a++) {
        attempts.push({
          delivery_id: nextDelivery, account_id: ACCOUNT, callback_id: 'cb_bench', event_id: id, kind: 'delivery', attempt: a, started_at: created + i + a,
          duration_ms: 12, request_method: 'POST', request_url: 'https://example.com/hooks', request_headers: '{"content-type":"application/json","webhook-id":"x"}',
          request_body: EVENT.data, response_status: a === ATTEMPTS ? 200 : 503, response_headers: '{"content-type":"text/plain"}', response_body: 'ok', error_class: null, error_message: null, outcome: a === ATTEMPTS ? 'success' : 'retryable',
        });
      }
      nextDelivery += 1;
    }
    await store.db.transaction().execute(async (trx) => {
      await insertRows(trx, store.caps, 'events', { id: 'text', account_id: 'text', api_user: 'text', type: 'text', data: 'text', resource_id: 'text', callback_profile_id: 'text', custom_args: 'text', idempotency_key: 'text', created_at: 'bigint' }, events);
      await insertRows(trx, store.caps, 'deliveries', { account_id: 'text', event_id: 'text', callback_id: 'text', state: 'text', attempts: 'integer', next_attempt_at: 'bigint', lease_owner: 'text', lease_until: 'bigint', ordering_key: 'text', last_status: 'integer', last_error: 'text', created_at: 'bigint', updated_at: 'bigint', completed_at: 'bigint' }, deliveries);
      await insertRows(trx, store.caps, 'attempts', { delivery_id: 'bigint', account_id: 'text', callback_id: 'text', event_id: 'text', kind: 'text', attempt: 'integer', started_at: 'bigint', duration_ms: 'integer', request_method: 'text', request_url: 'text', request_headers: 'text', request_body: 'text', response_status: 'integer', response_headers: 'text', response_body: 'text', error_class: 'text', error_message: 'text', outcome: 'text' }, attempts);
    });
  }
}

let seq = 0;

/** Ingests one event with one delivery per durable transaction, `RATE` a second, until `stop()`; latencies in ms. */
function ingestLoop(store: Store): { stop: () => Promise<number[]> } {
  const latencies: number[] = [];
  let running = true;
  const done = (async () => {
    const gap = 1000 / RATE;
    let next = performance.now();
    while (running) {
      const id = `evt_new_${process.pid}_${seq++}`;
      const t0 = performance.now();
      await store.db.transaction().execute((trx) =>
        insertEventsWithDeliveries(trx, store.caps, {
          events: [{ ...EVENT, id, created_at: now }],
          queued: [{ account_id: ACCOUNT, event_id: id, callback_id: 'cb_live', state: 'pending', attempts: 0, next_attempt_at: now, lease_owner: null, lease_until: null, ordering_key: null, last_status: null, last_error: null, created_at: now, updated_at: now, completed_at: null }],
          leased: [],
        }),
      );
      latencies.push(performance.now() - t0);
      next += gap;
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait);
      else next = performance.now();
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
      return latencies;
    },
  };
}

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0;
  const r = (v: number) => Math.round(v * 100) / 100;
  return { n: s.length, p50: r(q(0.5)), p99: r(q(0.99)), max: r(s[s.length - 1] ?? 0) };
}

async function main(): Promise<void> {
  const created = await createDatabase();
  const store = await openStore(created.url);
  try {
    await migrateToLatest(store);
    const t0 = performance.now();
    await seed(store);
    const counts = await store.db.selectFrom('attempts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    // As autovacuum would have by the time rows are 30 days old: without statistics, PostgreSQL plans
    // a batch's deletes as scans of the whole tables (a fresh table's estimates are far off).
    await sql`analyze`.execute(store.db);
    console.error(`seeded ${COUNT} deliveries, ${Number(counts.n)} attempts, ${COUNT} events in ${Math.round(performance.now() - t0)} ms`);

    const baseline = ingestLoop(store);
    await sleep(SECONDS * 1000);
    const alone = await baseline.stop();

    // Every batch transaction timed from its first statement to its commit (and, apart, the wait for the connection).
    const batches: { wait: number; tx: number }[] = [];
    const timed: Store = {
      ...store,
      relaxed: async (fn) => {
        const asked = performance.now();
        let began = asked;
        const out = await store.relaxed(async (trx) => {
          began = performance.now();
          return fn(trx);
        });
        batches.push({ wait: began - asked, tx: performance.now() - began });
        return out;
      },
    };
    const purger = new RetentionPurger({ store: timed, clock, log: pino({ level: 'silent' }) }, { defaultMs: 30 * DAY, batchSize: BATCH, maxBatches: Number.MAX_SAFE_INTEGER });
    const during = ingestLoop(store);
    const p0 = performance.now();
    const purged = await purger.purge();
    const purgeMs = performance.now() - p0;
    const withPurge = await during.stop();
    const result = {
      db: values.db,
      count: COUNT,
      attemptsPerDelivery: ATTEMPTS,
      batchSize: BATCH,
      ingestRate: RATE,
      purged,
      purgeSeconds: Math.round(purgeMs) / 1000,
      purgedDeliveriesPerSecond: Math.round(purged.deliveries / (purgeMs / 1000)),
      batchTransactionMs: stats(batches.map((b) => b.tx)),
      batchWaitForConnectionMs: stats(batches.map((b) => b.wait)),
      ingestAloneMs: stats(alone),
      ingestDuringPurgeMs: stats(withPurge),
    };
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await store.close();
    await created.drop();
  }
}

await main();
