/**
 * What the retention indexes (migration 0006: events_account_created, deliveries_finished) cost
 * ingest at the store: batches of events with their deliveries (insertEventsWithDeliveries) into two
 * fresh databases, one with the indexes and one without, in interleaved rounds.
 *
 * @example
 *   npm run build && node dist/bench/index-cost.js sqlite && node dist/bench/index-cost.js postgres
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import pg from 'pg';
import { migrateToLatest, openStore, type Store } from '../src/store/db.js';
import { insertEventsWithDeliveries } from '../src/store/deliveries.js';
const kind = process.argv[2] ?? 'sqlite';
const PG = 'postgres://postgres@127.0.0.1:5432/test';
async function make(tag: string) {
  if (kind === 'sqlite') { const d = mkdtempSync(join(tmpdir(), 'idx-')); return { url: `sqlite:${join(d, 'r.db')}`, drop: async () => rmSync(d, { recursive: true, force: true }) }; }
  const s = `bench_idx_${tag}_${process.pid}`;
  return { url: `${PG}?schema=${s}`, drop: async () => { const c = new pg.Client({ connectionString: PG }); await c.connect(); await c.query(`drop schema if exists ${s} cascade`); await c.end(); } };
}
const EV = { account_id: 'acc', api_user: null, type: 'sms.delivered', data: '{"message_id":"m-1","to":"+33600000000","status":"delivered"}', resource_id: null, callback_profile_id: null, custom_args: null, idempotency_key: null };
let seq = 0;
async function round(store: Store, n: number, per: number) {
  const t0 = performance.now();
  for (let b = 0; b < n; b++) {
    const events: any[] = []; const queued: any[] = [];
    const now = Date.now();
    for (let i = 0; i < per; i++) { const id = `evt_${String(seq++).padStart(10, '0')}`; events.push({ ...EV, id, created_at: now }); queued.push({ account_id: 'acc', event_id: id, callback_id: 'cb', state: 'pending' as const, attempts: 0, next_attempt_at: now, lease_owner: null, lease_until: null, ordering_key: null, last_status: null, last_error: null, created_at: now, updated_at: now, completed_at: null }); }
    if (store.caps.arrayParameters) await insertEventsWithDeliveries(store.db, store.caps, { events, queued, leased: [] });
    else await store.db.transaction().execute((trx) => insertEventsWithDeliveries(trx, store.caps, { events, queued, leased: [] }));
  }
  return (n * per) / ((performance.now() - t0) / 1000);
}
const a = await make('with'); const b = await make('without');
const withIdx = await openStore(a.url); const without = await openStore(b.url);
await migrateToLatest(withIdx); await migrateToLatest(without);
await sql`drop index events_account_created`.execute(without.db); await sql`drop index deliveries_finished`.execute(without.db);
const res: Record<string, number[]> = { with: [], without: [] };
for (let r = 0; r < 6; r++) {
  for (const [k, s] of (r % 2 ? [['with', withIdx], ['without', without]] : [['without', without], ['with', withIdx]]) as [string, Store][]) res[k]!.push(await round(s, 100, 100));
}
const mean = (xs: number[]) => Math.round(xs.reduce((x, y) => x + y, 0) / xs.length);
console.log(kind, 'events/s (100 transactions of 100 events + 100 deliveries, 6 interleaved rounds):', JSON.stringify({ with: res.with!.map(Math.round), without: res.without!.map(Math.round), meanWith: mean(res.with!), meanWithout: mean(res.without!) }));
await withIdx.close(); await without.close(); await a.drop(); await b.drop();
