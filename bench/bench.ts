/**
 * callback-relay benchmark (`npm run bench`). Starts the relay on a fresh database, a receiver in its
 * own process on 127.0.0.1, and measures: the raw HTTP ceiling, bare reference loops (bare.ts), backlog
 * drain, ingest (single and
 * batch), ingest→delivered latency at a fixed rate, the inbound gateway's answer latency at a fixed
 * rate of Octopush DLRs, isolation from a dead receiver, and peak RSS with a large backlog. Prints a table; `--json` prints one JSON object on stdout (table goes to stderr).
 *
 * @example
 *   npm run bench -- --quick                       # < 1 min, smaller counts
 *   npm run bench -- --db postgres --json          # PostgreSQL, machine-readable
 *   node dist/bench/bench.js --only raw,drain      # just some phases (after `npm run build`)
 *   BENCH_RELAY_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" node dist/bench/bench.js --only drain
 *                                                  # profile the relay processes
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { Pool } from 'undici';
import { api, closedLoop, createCallback, eventData, loadBacklog, openLoop } from './load.js';
import type { BenchEvent } from './load.js';
import { Bare, Receiver, Relay, killAllSync, sleep, stopAll } from './procs.js';
import type { ReceiverStats } from './protocol.js';

const PHASES = ['raw', 'reference', 'drain', 'ingest', 'latency', 'inbound', 'isolation', 'memory'] as const;
type Phase = (typeof PHASES)[number];
const ALL_ROLES = 'api,worker,scheduler';
const EVENT_TYPE = 'sms.delivered';

interface Options {
  db: 'sqlite' | 'postgres';
  quick: boolean;
  json: boolean;
  only: Set<Phase>;
  keepTmp: boolean;
  pgUrl: string;
  /** Relay processes that deliver in the drain phase (PostgreSQL only: SQLite has one process). */
  workers: number;
  /** Events per second of the latency phase; by default the sizes' own. */
  rate: number | undefined;
  /** Requests per second of the inbound phase; by default the sizes' own. */
  inboundRate: number | undefined;
}

/** Counts and time limits; every loop of the bench is bounded by one of these. */
interface Sizes {
  rawMs: number;
  rawMaxRequests: number;
  drainDeliveries: number;
  ingestMs: number;
  ingestBatchSize: number;
  latencyRate: number;
  /** Unmeasured open-loop traffic at the same rate first, so the measured run sees optimised code. */
  latencyWarmupMs: number;
  latencyMs: number;
  /** Octopush DLRs per second posted to /inbound/{token}, and for how long (measured after a warm-up). */
  inboundRate: number;
  inboundWarmupMs: number;
  inboundMs: number;
  isolationDeliveries: number;
  /** Healthy and with-blackhole drains alternate this many times. */
  isolationRounds: number;
  backlog: number;
  memorySampleMs: number;
  loadDeadlineMs: number;
  drainDeadlineMs: number;
  totalDeadlineMs: number;
}

const FULL: Sizes = {
  rawMs: 5_000,
  rawMaxRequests: 5_000_000,
  drainDeliveries: 100_000,
  ingestMs: 8_000,
  ingestBatchSize: 500,
  latencyRate: 1_000,
  latencyWarmupMs: 3_000,
  latencyMs: 5_000,
  inboundRate: 1_000,
  inboundWarmupMs: 3_000,
  inboundMs: 10_000,
  isolationDeliveries: 100_000,
  isolationRounds: 2,
  backlog: 1_000_000,
  memorySampleMs: 15_000,
  loadDeadlineMs: 1_200_000,
  drainDeadlineMs: 600_000,
  totalDeadlineMs: 3_600_000,
};

const QUICK: Sizes = {
  rawMs: 2_000,
  rawMaxRequests: 1_000_000,
  drainDeliveries: 10_000,
  ingestMs: 2_500,
  ingestBatchSize: 500,
  latencyRate: 1_000,
  latencyWarmupMs: 1_500,
  latencyMs: 3_000,
  inboundRate: 1_000,
  inboundWarmupMs: 1_500,
  inboundMs: 3_000,
  isolationDeliveries: 20_000,
  isolationRounds: 1,
  backlog: 100_000,
  memorySampleMs: 3_000,
  loadDeadlineMs: 120_000,
  drainDeadlineMs: 60_000,
  totalDeadlineMs: 300_000,
};

const started = performance.now();
const log = (msg: string): void => {
  process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s] ${msg}\n`);
};
const now = (): number => performance.timeOrigin + performance.now();
const round = (n: number, digits = 0): number => Number(n.toFixed(digits));

class UsageError extends Error {}

function parseOptions(argv: string[]): Options {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        db: { type: 'string', default: 'sqlite' },
        quick: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        only: { type: 'string' },
        'keep-tmp': { type: 'boolean', default: false },
        workers: { type: 'string', default: '1' },
        rate: { type: 'string' },
        'inbound-rate': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(
      `usage: node dist/bench/bench.js [--db sqlite|postgres] [--quick] [--json] [--only ${PHASES.join(',')}] [--keep-tmp] [--workers N] [--rate N] [--inbound-rate N]\n` +
        `  --db postgres uses $BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/test), one fresh schema per phase\n` +
        `  --workers N: the drain phase runs N relay processes against one PostgreSQL database (default 1)\n` +
        `  --rate N: events/s of the latency phase (default ${FULL.latencyRate})\n` +
        `  --inbound-rate N: Octopush DLRs/s of the inbound phase (default ${FULL.inboundRate})\n`,
    );
    process.exit(0);
  }
  if (values.db !== 'sqlite' && values.db !== 'postgres') throw new UsageError(`--db must be sqlite or postgres, got "${values.db}"`);
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1 || workers > 8) throw new UsageError(`--workers must be an integer from 1 to 8, got "${values.workers}"`);
  if (workers > 1 && values.db !== 'postgres') throw new UsageError('--workers above 1 needs --db postgres: one process owns an SQLite database');
  const rate = values.rate === undefined ? undefined : Number(values.rate);
  if (rate !== undefined && (!Number.isInteger(rate) || rate < 1 || rate > 100_000)) {
    throw new UsageError(`--rate must be an integer from 1 to 100000, got "${values.rate}"`);
  }
  const inboundRate = values['inbound-rate'] === undefined ? undefined : Number(values['inbound-rate']);
  if (inboundRate !== undefined && (!Number.isInteger(inboundRate) || inboundRate < 1 || inboundRate > 100_000)) {
    throw new UsageError(`--inbound-rate must be an integer from 1 to 100000, got "${values['inbound-rate']}"`);
  }
  let only = new Set<Phase>(PHASES);
  if (values.only) {
    const asked = values.only.split(',').map((s) => s.trim()).filter(Boolean);
    const bad = asked.filter((p) => !(PHASES as readonly string[]).includes(p));
    if (bad.length > 0) throw new UsageError(`--only: unknown phase ${bad.join(', ')}; phases: ${PHASES.join(', ')}`);
    only = new Set(asked as Phase[]);
  }
  return {
    db: values.db,
    quick: values.quick,
    json: values.json,
    only,
    keepTmp: values['keep-tmp'],
    pgUrl: process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    workers,
    rate,
    inboundRate,
  };
}

interface Database {
  url: string;
  dispose(): Promise<void>;
}

/** Shared state of one bench run: temp dir, receivers, databases, relay processes. */
class Bench {
  readonly user = 'bench';
  readonly key = randomBytes(24).toString('hex');
  readonly cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));
  readonly tag = `bench_${Date.now().toString(36)}_${process.pid}`;
  private readonly schemas = new Set<string>();
  private relays = 0;
  private blackhole: Receiver | null = null;

  private constructor(
    readonly opts: Options,
    readonly sizes: Sizes,
    readonly tmp: string,
    readonly ok: Receiver,
  ) {}

  static async create(opts: Options): Promise<Bench> {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'callback-relay-bench-'));
    try {
      // Ten ports, so that the isolation phase's ten callbacks look like ten receivers.
      const ok = await Receiver.start('ok', 10);
      const sizes = opts.quick ? QUICK : FULL;
      const rates = { ...sizes, ...(opts.rate !== undefined ? { latencyRate: opts.rate } : {}), ...(opts.inboundRate !== undefined ? { inboundRate: opts.inboundRate } : {}) };
      return new Bench(opts, rates, tmp, ok);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  async blackholeReceiver(): Promise<Receiver> {
    this.blackhole ??= await Receiver.start('blackhole', 1);
    return this.blackhole;
  }

  /** A fresh database for one phase: its own SQLite file, or its own PostgreSQL schema. */
  async database(label: string): Promise<Database> {
    if (this.opts.db === 'sqlite') {
      const dir = path.join(this.tmp, label);
      await mkdir(dir, { recursive: true });
      return { url: `sqlite:${path.join(dir, 'relay.db')}`, dispose: () => rm(dir, { recursive: true, force: true }) };
    }
    const schema = `${this.tag}_${label}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
    this.schemas.add(schema);
    const sep = this.opts.pgUrl.includes('?') ? '&' : '?';
    return {
      url: `${this.opts.pgUrl}${sep}schema=${schema}`,
      dispose: async () => {
        await this.dropSchemas([schema]);
        this.schemas.delete(schema);
      },
    };
  }

  async relay(db: Database, roles: string, label: string): Promise<Relay> {
    if (!existsSync(this.cli)) throw new Error(`${this.cli} does not exist: build the relay first (npm run build)`);
    const n = ++this.relays;
    return Relay.start({
      cli: this.cli,
      databaseUrl: db.url,
      roles,
      user: this.user,
      key: this.key,
      logFile: path.join(this.tmp, `relay-${n}-${label}.log`),
      readyTimeoutMs: 60_000,
    });
  }

  async checkPostgres(): Promise<void> {
    const client = new pg.Client({ connectionString: this.opts.pgUrl, connectionTimeoutMillis: 5_000 });
    try {
      await client.connect();
      await client.query('select 1');
    } catch (err) {
      throw new Error(`PostgreSQL at ${this.opts.pgUrl} is not reachable: ${(err as Error).message}`);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  async dropSchemas(schemas: string[] = [...this.schemas]): Promise<void> {
    if (schemas.length === 0) return;
    const client = new pg.Client({ connectionString: this.opts.pgUrl, connectionTimeoutMillis: 5_000 });
    try {
      await client.connect();
      for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    } catch (err) {
      log(`could not drop schema(s) ${schemas.join(', ')}: ${(err as Error).message}`);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  private cleaning: Promise<void> | null = null;
  /** Stops every child, drops PostgreSQL schemas, removes the temp dir. Safe to call twice. */
  cleanup(): Promise<void> {
    this.cleaning ??= (async () => {
      await stopAll(5_000);
      await this.dropSchemas();
      if (this.opts.keepTmp) log(`kept ${this.tmp}`);
      else await rm(this.tmp, { recursive: true, force: true });
    })();
    return this.cleaning;
  }
}

const sms = (i: number): BenchEvent => ({ type: EVENT_TYPE, data: eventData(i) });

/**
 * Polls the receiver until it has counted `target` distinct deliveries, the deadline passes, or no
 * progress was seen for `stallMs`. Fails at once if the relay dies.
 */
async function waitDelivered(
  rx: Receiver,
  target: number,
  relay: Pick<Relay, 'running' | 'logTail'>,
  deadlineMs: number,
  stallMs = 30_000,
): Promise<{ stats: ReceiverStats; complete: boolean }> {
  const deadline = performance.now() + deadlineMs;
  let last = -1;
  let lastChange = performance.now();
  let lastLog = performance.now();
  for (;;) {
    const stats = await rx.stats();
    if (stats.distinct >= target) return { stats, complete: true };
    if (!relay.running) throw new Error(`relay exited while delivering (${stats.distinct}/${target}); log:\n${await relay.logTail()}`);
    if (stats.distinct !== last) {
      last = stats.distinct;
      lastChange = performance.now();
    }
    if (performance.now() > deadline || performance.now() - lastChange > stallMs) {
      log(`  stopped waiting at ${stats.distinct}/${target} deliveries (${performance.now() > deadline ? 'deadline' : 'no progress'})`);
      return { stats, complete: false };
    }
    if (performance.now() - lastLog > 10_000) {
      lastLog = performance.now();
      log(`  … ${stats.distinct}/${target} delivered`);
    }
    await sleep(50);
  }
}

const spanRate = (s: ReceiverStats): number =>
  s.firstAt !== null && s.lastAt !== null && s.lastAt > s.firstAt ? s.distinct / ((s.lastAt - s.firstAt) / 1000) : 0;

/**
 * Deliveries/s once the relay is warm: from the end of the first tenth of the deliveries to the last
 * one. A freshly started process runs its first second or so in unoptimised code (the first tenth of
 * a 100,000 drain goes at about half the rate of the rest); the raw limit excludes its warm-up too.
 */
function steadyRate(s: ReceiverStats): number {
  const skip = Math.floor(s.marks.length / 10);
  if (skip === 0 || s.lastAt === null) return spanRate(s);
  const from = s.marks[skip - 1]!;
  return s.lastAt > from ? (s.distinct - skip * s.markEvery) / ((s.lastAt - from) / 1000) : 0;
}

/** Deliveries/s over each tenth of the distinct deliveries, from the receiver's marks (the rate over time). */
function rateByTenth(s: ReceiverStats): number[] {
  if (s.firstAt === null || s.marks.length < 10) return [];
  const times = [s.firstAt, ...s.marks];
  const out: number[] = [];
  for (let k = 0; k < 10; k++) {
    const a = Math.floor((k * s.marks.length) / 10);
    const z = Math.floor(((k + 1) * s.marks.length) / 10);
    const ms = times[z]! - times[a]!;
    out.push(ms > 0 ? round(((z - a) * s.markEvery * 1000) / ms) : 0);
  }
  return out;
}

/** CPU µs per unit between two readings of a process's CPU ms (ticks of 10 ms: coarse, fine over seconds). */
function cpuPer(fromMs: number | null, toMs: number | null, units: number): number | null {
  return fromMs === null || toMs === null || units === 0 ? null : round(((toMs - fromMs) * 1000) / units, 1);
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? NaN;
}

// ---------------------------------------------------------------------------------------------------
// Phases. Each returns its figures and a detail object; each cleans up its own relays and database.

async function rawLimit(b: Bench): Promise<{ perS: number; detail: Record<string, unknown> }> {
  await b.ok.reset({ distinct: false });
  const pool = new Pool(`http://127.0.0.1:${b.ok.ports[0]}`, { connections: 128, pipelining: 1, keepAliveTimeout: 30_000 });
  try {
    const body = JSON.stringify({ type: EVENT_TYPE, timestamp: new Date().toISOString(), data: eventData(1) });
    const base = {
      'content-type': 'application/json',
      'user-agent': 'callback-relay-bench',
      'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
      'webhook-signature': `v1,${randomBytes(32).toString('base64')}`,
    };
    const fn = async (i: number): Promise<number | string> => {
      const res = await pool.request({ path: '/hook', method: 'POST', headers: { ...base, 'webhook-id': `msg_${i}` }, body });
      await res.body.dump();
      return res.statusCode === 200 ? 1 : `HTTP ${res.statusCode}`;
    };
    await closedLoop({ concurrency: 128, durationMs: 500, maxCalls: 20_000, unitsPerCall: 1, fn }); // warm-up
    const r = await closedLoop({ concurrency: 128, durationMs: b.sizes.rawMs, maxCalls: b.sizes.rawMaxRequests, unitsPerCall: 1, fn });
    if (r.ok === 0) throw new Error(`no request succeeded: ${JSON.stringify(r.failures)}`);
    return { perS: r.ok / r.seconds, detail: { requests: r.ok, failed: r.failed, seconds: round(r.seconds, 2), in_flight: 128 } };
  } finally {
    await pool.destroy();
  }
}

/** Loads `events` events with the relay in `--roles api`, restarts it with all roles, times the drain. */
async function drainOnce(
  b: Bench,
  label: string,
  urls: string[],
  events: number,
  expectHealthy: number,
  workers = 1,
): Promise<{ perS: number; detail: Record<string, unknown> }> {
  const db = await b.database(label);
  try {
    const loader = await b.relay(db, 'api', `${label}-load`);
    let load;
    try {
      for (const [k, url] of urls.entries()) await createCallback(loader, url, `bench-${k}`);
      load = await loadBacklog(loader, events, sms, { deadlineMs: b.sizes.loadDeadlineMs });
    } finally {
      await loader.stop();
    }
    log(`  ${label}: stored ${load.accepted} events for ${urls.length} callback(s) in ${load.seconds.toFixed(1)} s; starting all roles`);
    await b.ok.reset({ distinct: true });
    const t0 = now();
    // The first process has every role; more (PostgreSQL) only deliver.
    const relays = [await b.relay(db, ALL_ROLES, label)];
    let result;
    let stopped;
    let readyAt = now();
    let cpuUsed: number | null = null;
    try {
      for (let k = 1; k < workers; k++) relays.push(await b.relay(db, 'worker', `${label}-worker${k}`));
      readyAt = now();
      const cpuAtReady = relays.map((r) => r.cpuMs());
      result = await waitDelivered(b.ok, expectHealthy, relays[0]!, b.sizes.drainDeadlineMs);
      const cpuNow = relays.map((r) => r.cpuMs());
      if (cpuNow.every((c) => c !== null) && cpuAtReady.every((c) => c !== null)) {
        cpuUsed = cpuNow.reduce((sum: number, c, k) => sum + c! - cpuAtReady[k]!, 0);
      }
    } finally {
      const all = await Promise.all(relays.map((r) => r.stop(5_000)));
      stopped = { ms: Math.max(...all.map((x) => x.ms)), killed: all.some((x) => x.killed) };
    }
    const s = result.stats;
    const perS = steadyRate(s);
    if (perS === 0) throw new Error(`nothing was delivered (${s.distinct} distinct deliveries); is the relay delivering?`);
    return {
      perS,
      detail: {
        events,
        callbacks: urls.length,
        worker_processes: workers,
        deliveries: s.distinct,
        expected: expectHealthy,
        // The relay's own CPU time per delivery while draining.
        relay_cpu_us_per_delivery: cpuUsed === null ? null : cpuPer(0, cpuUsed, s.distinct),
        complete: result.complete,
        duplicates: s.requests - s.distinct,
        span_s: round(((s.lastAt ?? 0) - (s.firstAt ?? 0)) / 1000, 2),
        // Including the cold start that the headline figure leaves out.
        first_to_last_per_s: round(spanRate(s)),
        per_tenth_per_s: rateByTenth(s),
        start_to_ready_s: round((readyAt - t0) / 1000, 2),
        start_to_first_delivery_s: round(((s.firstAt ?? t0) - t0) / 1000, 2),
        load_events_per_s: round(load.accepted / load.seconds),
        sigterm_to_exit_s: round(stopped.ms / 1000, 2),
        sigkilled: stopped.killed,
      },
    };
  } finally {
    await db.dispose();
  }
}

async function drain(b: Bench): Promise<{ perS: number; detail: Record<string, unknown> }> {
  const n = b.sizes.drainDeliveries;
  return drainOnce(b, 'drain', [b.ok.url(0)], n, n, b.opts.workers);
}

/**
 * The reference points of bare.ts, on the same database kind, receiver and client as the relay's
 * phases: a bare queue loop draining as many deliveries as the drain phase, and a bare group-commit
 * ingest handler under the same load as single ingest.
 */
async function reference(b: Bench): Promise<{ drain: number; ingest: number; detail: Record<string, unknown> }> {
  const n = b.sizes.drainDeliveries;
  let drainPerS: number;
  let drainDetail: Record<string, unknown>;
  const dbDrain = await b.database('reference_drain');
  try {
    const loop = await Bare.start({ mode: 'drain', db: dbDrain.url, target: b.ok.url(0), count: n }, b.sizes.loadDeadlineMs);
    try {
      await b.ok.reset({ distinct: true });
      const cpu0 = loop.cpuMs();
      loop.go();
      const { stats, complete } = await waitDelivered(b.ok, n, loop, b.sizes.drainDeadlineMs);
      const cpu1 = loop.cpuMs();
      drainPerS = steadyRate(stats);
      if (drainPerS === 0) throw new Error(`the bare loop delivered nothing (${stats.distinct} distinct deliveries)`);
      drainDetail = {
        deliveries: stats.distinct,
        complete,
        duplicates: stats.requests - stats.distinct,
        cpu_us_per_delivery: cpuPer(cpu0, cpu1, stats.distinct),
        per_tenth_per_s: rateByTenth(stats),
      };
    } finally {
      await loop.stop();
    }
  } finally {
    await dbDrain.dispose();
  }
  const dbIngest = await b.database('reference_ingest');
  try {
    const handler = await Bare.start({ mode: 'ingest', db: dbIngest.url }, 60_000);
    const pool = new Pool(`http://127.0.0.1:${handler.port}`, { connections: 128, pipelining: 1, keepAliveTimeout: 30_000 });
    try {
      const single = JSON.stringify(sms(7));
      const post = async (): Promise<number | string> => {
        const res = await pool.request({ method: 'POST', path: '/v1/events', headers: { 'content-type': 'application/json' }, body: single });
        await res.body.dump();
        return res.statusCode === 202 ? 1 : `HTTP ${res.statusCode}`;
      };
      await closedLoop({ concurrency: 16, durationMs: 500, maxCalls: 1_000, unitsPerCall: 1, fn: post });
      const cpu0 = handler.cpuMs();
      const s = await closedLoop({ concurrency: 64, durationMs: b.sizes.ingestMs, maxCalls: 10_000_000, unitsPerCall: 1, fn: post });
      const cpu1 = handler.cpuMs();
      if (s.ok === 0) throw new Error(`the bare handler accepted nothing: ${JSON.stringify(s.failures)}`);
      return {
        drain: drainPerS,
        ingest: s.ok / s.seconds,
        detail: {
          drain: drainDetail,
          ingest: { accepted: s.ok, rejected: s.failed, seconds: round(s.seconds, 2), in_flight: 64, cpu_us_per_event: cpuPer(cpu0, cpu1, s.ok), failures: s.failures },
        },
      };
    } finally {
      await pool.destroy();
      await handler.stop();
    }
  } finally {
    await dbIngest.dispose();
  }
}

async function ingest(b: Bench): Promise<{ single: number; batch: number; detail: Record<string, unknown> }> {
  const db = await b.database('ingest');
  try {
    // API role only: what is measured is accepting and storing, not delivering at the same time.
    const relay = await b.relay(db, 'api', 'ingest');
    try {
      await createCallback(relay, b.ok.url(0));
      const single = JSON.stringify(sms(7));
      const size = b.sizes.ingestBatchSize;
      const batch = JSON.stringify({ events: Array.from({ length: size }, (_, i) => sms(i)) });
      const headers = { authorization: relay.authorization, 'content-type': 'application/json' };
      const post = async (p: string, body: string, units: number): Promise<number | string> => {
        const res = await relay.pool.request({ method: 'POST', path: p, headers, body });
        await res.body.dump();
        return res.statusCode === 202 ? units : `HTTP ${res.statusCode}`;
      };
      await closedLoop({ concurrency: 16, durationMs: 500, maxCalls: 1_000, unitsPerCall: 1, fn: () => post('/v1/events', single, 1) });
      log(`  single events, 64 in flight, ${b.sizes.ingestMs / 1000} s`);
      const cpu0 = relay.cpuMs();
      const s = await closedLoop({
        concurrency: 64,
        durationMs: b.sizes.ingestMs,
        maxCalls: 10_000_000,
        unitsPerCall: 1,
        fn: () => post('/v1/events', single, 1),
      });
      const cpu1 = relay.cpuMs();
      log(`  batches of ${size}, 8 in flight, ${b.sizes.ingestMs / 1000} s`);
      const m = await closedLoop({
        concurrency: 8,
        durationMs: b.sizes.ingestMs,
        maxCalls: 100_000,
        unitsPerCall: size,
        fn: () => post('/v1/events/batch', batch, size),
      });
      const cpu2 = relay.cpuMs();
      if (s.ok === 0 && m.ok === 0) throw new Error(`no event was accepted: ${JSON.stringify({ ...s.failures, ...m.failures })}`);
      return {
        single: s.ok / s.seconds,
        batch: m.ok / m.seconds,
        detail: {
          roles: 'api',
          single: { accepted: s.ok, rejected: s.failed, seconds: round(s.seconds, 2), in_flight: 64, relay_cpu_us_per_event: cpuPer(cpu0, cpu1, s.ok), failures: s.failures },
          batch: { accepted: m.ok, rejected: m.failed, seconds: round(m.seconds, 2), in_flight: 8, batch_size: size, relay_cpu_us_per_event: cpuPer(cpu1, cpu2, m.ok), failures: m.failures },
        },
      };
    } finally {
      await relay.stop();
    }
  } finally {
    await db.dispose();
  }
}

async function latency(b: Bench): Promise<{ p50: number; p99: number; detail: Record<string, unknown> }> {
  const db = await b.database('latency');
  try {
    const relay = await b.relay(db, ALL_ROLES, 'latency');
    try {
      await createCallback(relay, b.ok.url(0));
      const headers = { authorization: relay.authorization, 'content-type': 'application/json' };
      const postEvent = async (data: Record<string, unknown>): Promise<boolean> => {
        const res = await relay.pool.request({ method: 'POST', path: '/v1/events', headers, body: JSON.stringify({ type: EVENT_TYPE, data }) });
        await res.body.dump();
        return res.statusCode === 202;
      };
      // Warm-up, unmeasured: connections and the worker's first claim, then the same open-loop traffic
      // as the measured run, long enough for the JIT to have optimised the hot paths (a cold process
      // spends its first second or so in unoptimised code and would put that into the p99).
      const rate = b.sizes.latencyRate;
      await b.ok.reset({ distinct: true });
      for (let i = 0; i < 100; i += 10) await Promise.all(Array.from({ length: 10 }, (_, k) => postEvent(eventData(i + k))));
      await waitDelivered(b.ok, 100, relay, 15_000, 10_000);
      log(`  warm-up: ${rate} events/s for ${b.sizes.latencyWarmupMs / 1000} s (open loop, not measured)`);
      const warm = await openLoop(rate, b.sizes.latencyWarmupMs, (i) => postEvent(eventData(1_000_000 + i)));
      await waitDelivered(b.ok, 100 + warm.accepted, relay, 60_000, 15_000);
      await b.ok.reset({ distinct: true, latency: true });

      // Event i is due at t0 + i/rate whatever happened to the ones before; its sent_at is that due
      // time, so a client or server falling behind shows up as latency (no coordinated omission).
      log(`  ${rate} events/s for ${b.sizes.latencyMs / 1000} s (open loop)`);
      const run = await openLoop(rate, b.sizes.latencyMs, (i, dueAt) => postEvent({ ...eventData(i), sent_at: performance.timeOrigin + dueAt }));
      const waited = await waitDelivered(b.ok, run.accepted, relay, 60_000, 15_000);
      const samples = (await b.ok.samples()).sort((x, y) => x - y);
      if (samples.length === 0) throw new Error('no latency sample was recorded (does the delivered body carry data.sent_at?)');
      return {
        p50: percentile(samples, 0.5),
        p99: percentile(samples, 0.99),
        detail: {
          rate_per_s: rate,
          warmup_seconds: b.sizes.latencyWarmupMs / 1000,
          sent: run.sent,
          accepted: run.accepted,
          delivered: waited.stats.distinct,
          samples: samples.length,
          bad_bodies: waited.stats.badBodies,
          send_seconds: round(run.seconds, 2),
          max_client_lag_ms: round(run.maxLagMs, 1),
          failures: run.failures,
          p90_ms: round(percentile(samples, 0.9), 1),
          p999_ms: round(percentile(samples, 0.999), 1),
          max_ms: round(samples[samples.length - 1] ?? NaN, 1),
          min_ms: round(samples[0] ?? NaN, 1),
        },
      };
    } finally {
      await relay.stop();
    }
  } finally {
    await db.dispose();
  }
}

/**
 * The inbound gateway: Octopush delivery receipts (form-encoded, as Octopush posts them) to a source's
 * /inbound/{token} at a fixed rate, open loop; the latency is from each request's due time to its
 * answer (stored, then answered), so a relay falling behind shows as latency. Each receipt is then
 * mapped and delivered to a callback, as in production: the answer competes with that work.
 */
async function inbound(b: Bench): Promise<{ p50: number; p99: number; detail: Record<string, unknown> }> {
  const db = await b.database('inbound');
  try {
    const relay = await b.relay(db, ALL_ROLES, 'inbound');
    try {
      await createCallback(relay, b.ok.url(0));
      const source = (await api(relay, 'POST', '/v1/sources', { title: 'bench', format: 'octopush' }, [201])) as { id: string; ingest_path: string };
      const headers = { 'content-type': 'application/x-www-form-urlencoded' };
      const dlr = (i: number) =>
        new URLSearchParams({ channel: 'sms', message_id: `oct_${i.toString(36).padStart(8, '0')}`, number: '+4915550100123', status: 'DELIVERED', delivery_date: '2026-07-01 12:00:00', meta_data: '{"batch":"bench"}' }).toString();
      const samples: number[] = [];
      const post = async (i: number, dueAt: number | null): Promise<boolean> => {
        const res = await relay.pool.request({ method: 'POST', path: source.ingest_path, headers, body: dlr(i) });
        await res.body.dump();
        if (dueAt !== null) samples.push(performance.now() - dueAt);
        return res.statusCode === 200;
      };
      const rate = b.sizes.inboundRate;
      await b.ok.reset({ distinct: true });
      log(`  warm-up: ${rate} DLRs/s for ${b.sizes.inboundWarmupMs / 1000} s (open loop, not measured)`);
      const warm = await openLoop(rate, b.sizes.inboundWarmupMs, (i) => post(1_000_000 + i, null));
      await waitDelivered(b.ok, warm.accepted, relay, 60_000, 15_000);
      await b.ok.reset({ distinct: true });
      log(`  ${rate} Octopush DLRs/s to /inbound/{token} for ${b.sizes.inboundMs / 1000} s (open loop)`);
      const cpu0 = relay.cpuMs();
      const run = await openLoop(rate, b.sizes.inboundMs, (i, dueAt) => post(i, dueAt));
      const cpu1 = relay.cpuMs();
      // Every answered receipt is mapped and delivered afterwards (a check, not a figure of the phase).
      const waited = await waitDelivered(b.ok, run.accepted, relay, 60_000, 15_000);
      samples.sort((x, y) => x - y);
      return {
        p50: percentile(samples, 0.5),
        p99: percentile(samples, 0.99),
        detail: {
          rate_per_s: rate,
          seconds: b.sizes.inboundMs / 1000,
          sent: run.sent,
          answered_200: run.accepted,
          failures: run.failures,
          delivered_after: waited.stats.distinct,
          max_client_lag_ms: round(run.maxLagMs, 1),
          p90_ms: round(percentile(samples, 0.9), 1),
          p95_ms: round(percentile(samples, 0.95), 1),
          p999_ms: round(percentile(samples, 0.999), 1),
          max_ms: round(samples[samples.length - 1] ?? NaN, 1),
          relay_cpu_us_per_request: cpuPer(cpu0, cpu1, run.sent),
        },
      };
    } finally {
      await relay.stop();
    }
  } finally {
    await db.dispose();
  }
}

async function isolation(b: Bench): Promise<{ ratio: number; detail: Record<string, unknown> }> {
  const total = b.sizes.isolationDeliveries;
  const events = Math.ceil(total / 10);
  const healthyUrls = Array.from({ length: 10 }, (_, k) => b.ok.url(k, `/hook/${k}`));
  const bh = await b.blackholeReceiver();
  // Every callback subscribes to the event type, so each event fans out to the ten callbacks. The two
  // drains alternate, round after round: a machine whose speed drifts moves both alike, and the
  // ratio of the totals is the figure.
  const rounds = b.sizes.isolationRounds;
  const healthy: { perS: number; detail: Record<string, unknown> }[] = [];
  const mixed: { perS: number; detail: Record<string, unknown> }[] = [];
  for (let r = 1; r <= rounds; r++) {
    const tag = rounds > 1 ? ` (round ${r} of ${rounds})` : '';
    log(`  10 healthy callbacks, ${events * 10} deliveries${tag}`);
    healthy.push(await drainOnce(b, `iso-healthy-${r}`, healthyUrls, events, events * 10));
    log(`  9 healthy callbacks + 1 that never answers, ${events * 10} deliveries${tag}`);
    mixed.push(await drainOnce(b, `iso-blackhole-${r}`, [...healthyUrls.slice(0, 9), bh.url(0)], events, events * 9));
  }
  const bhStats = await bh.stats();
  const mean = (xs: { perS: number }[]) => xs.reduce((sum, x) => sum + x.perS, 0) / xs.length;
  return {
    ratio: mean(mixed) / mean(healthy),
    detail: {
      rounds,
      healthy_per_s: round(mean(healthy)),
      with_blackhole_healthy_per_s: round(mean(mixed)),
      per_round: healthy.map((h, i) => ({ healthy_per_s: round(h.perS), with_blackhole_healthy_per_s: round(mixed[i]!.perS), ratio: round(mixed[i]!.perS / h.perS, 3) })),
      blackhole_requests: bhStats.requests,
      healthy: healthy.map((h) => h.detail),
      with_blackhole: mixed.map((m) => m.detail),
    },
  };
}

async function memory(b: Bench): Promise<{ peakMb: number; detail: Record<string, unknown> }> {
  const n = b.sizes.backlog;
  const db = await b.database('memory');
  try {
    const loader = await b.relay(db, 'api', 'memory-load');
    let load;
    let loaderMem;
    try {
      await createCallback(loader, b.ok.url(0));
      log(`  storing ${n} events (1 callback → ${n} deliveries) with --roles api`);
      load = await loadBacklog(loader, n, sms, {
        deadlineMs: b.sizes.loadDeadlineMs,
        onProgress: (k) => log(`  … ${k}/${n} stored`),
      });
      loaderMem = await loader.memory();
    } finally {
      await loader.stop();
    }
    log(`  stored in ${load.seconds.toFixed(1)} s; all roles on the backlog for ${b.sizes.memorySampleMs / 1000} s`);
    await b.ok.reset({ distinct: false });
    const relay = await b.relay(db, ALL_ROLES, 'memory');
    let peakRss = 0;
    let hwm = 0;
    let samples = 0;
    try {
      const end = performance.now() + b.sizes.memorySampleMs;
      while (performance.now() < end) {
        if (!relay.running) throw new Error(`relay exited with a ${n}-delivery backlog; log:\n${await relay.logTail()}`);
        const m = await relay.memory();
        if (m) {
          peakRss = Math.max(peakRss, m.rssMb);
          hwm = Math.max(hwm, m.hwmMb);
          samples++;
        }
        await sleep(100);
      }
    } finally {
      await relay.stop(5_000);
    }
    if (samples === 0) throw new Error(`could not read /proc/${relay.pid}/status`);
    const delivered = (await b.ok.stats()).requests;
    return {
      peakMb: Math.max(hwm, peakRss),
      detail: {
        backlog_deliveries: n,
        sampled_s: b.sizes.memorySampleMs / 1000,
        delivered_while_sampling: delivered,
        peak_sampled_rss_mb: round(peakRss, 1),
        vm_hwm_mb: round(hwm, 1),
        loader_vm_hwm_mb: loaderMem ? round(loaderMem.hwmMb, 1) : null,
        load_events_per_s: round(load.accepted / load.seconds),
      },
    };
  } finally {
    await db.dispose();
  }
}

// ---------------------------------------------------------------------------------------------------

interface Results {
  raw_limit_per_s: number | null;
  /** The bare queue loop's drain (bare.ts), and the relay's drain as a fraction of it. */
  reference_drain_per_s: number | null;
  drain_vs_reference: number | null;
  drain_per_s: number | null;
  drain_ratio: number | null;
  ingest_single_per_s: number | null;
  /** The bare group-commit handler's single-event ingest (bare.ts), and the relay's as a fraction of it. */
  reference_ingest_per_s: number | null;
  ingest_vs_reference: number | null;
  ingest_batch_per_s: number | null;
  latency_p50_ms: number | null;
  latency_p99_ms: number | null;
  inbound_p50_ms: number | null;
  inbound_p99_ms: number | null;
  isolation_ratio: number | null;
  backlog_rss_mb: number | null;
  backlog_size: number;
  db: string;
  quick: boolean;
  machine: Record<string, unknown>;
  phases: Phase[];
  errors: Partial<Record<Phase, string>>;
  details: Partial<Record<Phase, unknown>>;
}

function machine(): Record<string, unknown> {
  return {
    cores: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memory_gb: round(os.totalmem() / 2 ** 30, 1),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    // Other work on the machine skews every figure; this shows whether there was any.
    loadavg_1m_at_start: round(os.loadavg()[0] ?? 0, 2),
  };
}

function table(r: Results): string {
  const fmt = (v: number | null, digits = 0): string =>
    v === null || !Number.isFinite(v) ? '—' : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  const d = (p: Phase): Record<string, unknown> => (r.details[p] ?? {}) as Record<string, unknown>;
  const batchSize = (d('ingest').batch as { batch_size?: number } | undefined)?.batch_size;
  const ran = new Set<Phase>(r.phases);
  // [phases the row needs, label, value, note]
  const rows: [Phase[], string, string, string][] = [
    [['raw'], 'raw limit', `${fmt(r.raw_limit_per_s)} /s`, 'undici → receiver, no relay, 128 in flight'],
    [['drain'], 'drain', `${fmt(r.drain_per_s)} /s`, `${fmt(Number(d('drain').deliveries ?? NaN))} deliveries, 1 callback${Number(d('drain').worker_processes ?? 1) > 1 ? `, ${String(d('drain').worker_processes)} relay processes` : ''}, rate after the first tenth (warm); relay CPU ${fmt(Number(d('drain').relay_cpu_us_per_delivery ?? NaN), 1)} µs each`],
    [['drain', 'raw'], 'drain / raw', fmt(r.drain_ratio, 3), ''],
    [['reference'], 'bare queue loop', `${fmt(r.reference_drain_per_s)} /s`, `reference: claim, POST, mark done; no signing, attempts or leases (bench/bare.ts); CPU ${fmt(Number((d('reference').drain as { cpu_us_per_delivery?: number } | undefined)?.cpu_us_per_delivery ?? NaN), 1)} µs each`],
    [['drain', 'reference'], 'drain / bare loop', fmt(r.drain_vs_reference, 3), ''],
    [['ingest'], 'ingest single', `${fmt(r.ingest_single_per_s)} /s`, `POST /v1/events, 64 in flight, --roles api; relay CPU ${fmt(Number((d('ingest').single as { relay_cpu_us_per_event?: number } | undefined)?.relay_cpu_us_per_event ?? NaN), 1)} µs each`],
    [['reference'], 'bare ingest', `${fmt(r.reference_ingest_per_s)} /s`, `reference: Fastify, one row per event, group commit; no auth or validation (bench/bare.ts); CPU ${fmt(Number((d('reference').ingest as { cpu_us_per_event?: number } | undefined)?.cpu_us_per_event ?? NaN), 1)} µs each`],
    [['ingest', 'reference'], 'ingest / bare', fmt(r.ingest_vs_reference, 3), 'single events'],
    [['ingest'], 'ingest batch', `${fmt(r.ingest_batch_per_s)} /s`, `POST /v1/events/batch × ${batchSize ?? '?'}, 8 in flight`],
    [['latency'], 'latency p50', `${fmt(r.latency_p50_ms, 1)} ms`, `ingest → delivered, ${fmt(Number(d('latency').rate_per_s ?? NaN))} events/s open loop`],
    [['latency'], 'latency p99', `${fmt(r.latency_p99_ms, 1)} ms`, ''],
    [['inbound'], 'inbound answer p50', `${fmt(r.inbound_p50_ms, 1)} ms`, `Octopush DLRs to /inbound/{token}, ${fmt(Number(d('inbound').rate_per_s ?? NaN))}/s open loop, stored then answered (mapped and delivered after)`],
    [['inbound'], 'inbound answer p95', `${fmt(Number(d('inbound').p95_ms ?? NaN), 1)} ms`, ''],
    [['inbound'], 'inbound answer p99', `${fmt(r.inbound_p99_ms, 1)} ms`, `target < 20 ms; relay CPU ${fmt(Number(d('inbound').relay_cpu_us_per_request ?? NaN), 1)} µs per request incl. mapping and delivery`],
    [['isolation'], 'isolation', fmt(r.isolation_ratio, 3), 'healthy drain with 1 of 10 receivers dead ÷ all healthy'],
    [['memory'], 'backlog RSS', `${fmt(r.backlog_rss_mb)} MiB`, `peak of the relay with ${fmt(r.backlog_size)} deliveries owed`],
  ];
  const kept = rows.filter(([needs]) => needs.every((p) => ran.has(p)));
  const w0 = Math.max(0, ...kept.map((x) => x[1].length));
  const w1 = Math.max(0, ...kept.map((x) => x[2].length));
  const m = r.machine;
  const head = `callback-relay bench — db ${r.db}${r.quick ? ', quick' : ''} — ${String(m.cores)} cores, ${String(m.memory_gb)} GiB, node ${String(m.node)}`;
  const lines = kept.map(([, a, v, c]) => `${a.padEnd(w0)}  ${v.padStart(w1)}  ${c}`.trimEnd());
  const errs = Object.entries(r.errors).map(([p, e]) => `! ${p} failed: ${String(e).split('\n')[0]}`);
  return [head, '', ...lines, ...(errs.length ? ['', ...errs] : [])].join('\n') + '\n';
}

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  const sizes = opts.quick ? QUICK : FULL;
  const b = await Bench.create(opts);

  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted) {
      killAllSync();
      process.exit(130);
    }
    interrupted = true;
    log(`${sig}: stopping children and cleaning up`);
    void b.cleanup().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const watchdog = setTimeout(() => {
    log(`the whole run exceeded ${sizes.totalDeadlineMs / 1000} s; giving up`);
    void b.cleanup().finally(() => process.exit(1));
  }, sizes.totalDeadlineMs);
  watchdog.unref();

  const r: Results = {
    raw_limit_per_s: null,
    reference_drain_per_s: null,
    drain_vs_reference: null,
    drain_per_s: null,
    drain_ratio: null,
    ingest_single_per_s: null,
    reference_ingest_per_s: null,
    ingest_vs_reference: null,
    ingest_batch_per_s: null,
    latency_p50_ms: null,
    latency_p99_ms: null,
    inbound_p50_ms: null,
    inbound_p99_ms: null,
    isolation_ratio: null,
    backlog_rss_mb: null,
    backlog_size: sizes.backlog,
    db: opts.db,
    quick: opts.quick,
    machine: machine(),
    phases: PHASES.filter((p) => opts.only.has(p)),
    errors: {},
    details: {},
  };

  try {
    if (opts.db === 'postgres') await b.checkPostgres();
    const run = async (phase: Phase, fn: () => Promise<void>): Promise<void> => {
      if (!opts.only.has(phase)) return;
      log(`${phase}…`);
      const t = performance.now();
      try {
        await fn();
        log(`${phase} done in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      } catch (err) {
        r.errors[phase] = (err as Error).message;
        log(`${phase} FAILED: ${(err as Error).message}`);
      }
    };
    await run('raw', async () => {
      const x = await rawLimit(b);
      r.raw_limit_per_s = round(x.perS);
      r.details.raw = x.detail;
      log(`  raw limit ${r.raw_limit_per_s} /s`);
    });
    await run('reference', async () => {
      const x = await reference(b);
      r.reference_drain_per_s = round(x.drain);
      r.reference_ingest_per_s = round(x.ingest);
      r.details.reference = x.detail;
      log(`  bare queue loop ${r.reference_drain_per_s} /s, bare ingest handler ${r.reference_ingest_per_s} /s`);
    });
    await run('drain', async () => {
      const x = await drain(b);
      r.drain_per_s = round(x.perS);
      r.details.drain = x.detail;
      log(`  drain ${r.drain_per_s} /s`);
    });
    await run('ingest', async () => {
      const x = await ingest(b);
      r.ingest_single_per_s = round(x.single);
      r.ingest_batch_per_s = round(x.batch);
      r.details.ingest = x.detail;
      log(`  ingest ${r.ingest_single_per_s} /s single, ${r.ingest_batch_per_s} /s batch`);
    });
    await run('latency', async () => {
      const x = await latency(b);
      r.latency_p50_ms = round(x.p50, 1);
      r.latency_p99_ms = round(x.p99, 1);
      r.details.latency = x.detail;
      log(`  latency p50 ${r.latency_p50_ms} ms, p99 ${r.latency_p99_ms} ms`);
    });
    await run('inbound', async () => {
      const x = await inbound(b);
      r.inbound_p50_ms = round(x.p50, 1);
      r.inbound_p99_ms = round(x.p99, 1);
      r.details.inbound = x.detail;
      log(`  inbound answer p50 ${r.inbound_p50_ms} ms, p99 ${r.inbound_p99_ms} ms`);
    });
    await run('isolation', async () => {
      const x = await isolation(b);
      r.isolation_ratio = round(x.ratio, 3);
      r.details.isolation = x.detail;
      log(`  isolation ratio ${r.isolation_ratio}`);
    });
    await run('memory', async () => {
      const x = await memory(b);
      r.backlog_rss_mb = round(x.peakMb, 1);
      r.details.memory = x.detail;
      log(`  backlog RSS ${r.backlog_rss_mb} MiB`);
    });
    r.machine.loadavg_1m_at_end = round(os.loadavg()[0] ?? 0, 2);
    if (r.drain_per_s !== null && r.raw_limit_per_s) r.drain_ratio = round(r.drain_per_s / r.raw_limit_per_s, 3);
    if (r.drain_per_s !== null && r.reference_drain_per_s) r.drain_vs_reference = round(r.drain_per_s / r.reference_drain_per_s, 3);
    if (r.ingest_single_per_s !== null && r.reference_ingest_per_s) r.ingest_vs_reference = round(r.ingest_single_per_s / r.reference_ingest_per_s, 3);
  } finally {
    await b.cleanup();
    clearTimeout(watchdog);
  }

  const text = table(r);
  if (opts.json) {
    process.stderr.write(`\n${text}`);
    process.stdout.write(`${JSON.stringify(r)}\n`);
  } else {
    process.stdout.write(`\n${text}`);
  }
  log(`total ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return Object.keys(r.errors).length > 0 ? 1 : 0;
}

process.on('exit', killAllSync);
main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    const text = err instanceof UsageError ? `${err.message} (see --help)` : err instanceof Error ? (err.stack ?? err.message) : String(err);
    log(`error: ${text}`);
    killAllSync();
    process.exit(1);
  },
);
