import type { Logger } from 'pino';
import { ApiError } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import { inBackground } from '../lib/turns.js';
import type { Metrics } from '../lib/metrics.js';
import type { EventInput, Ingestor } from '../ingest/ingest.js';
import type { Store } from '../store/db.js';
import { findInboundRequestById, listStoredInboundRequests, markInboundRequest, type InboundState } from '../store/inbound.js';
import type { InboundRequestRow, NewInboundRequest, SourceRow } from '../store/schema.js';
import { findSourceById } from '../store/sources.js';
import type { MapResult, StoredRequest } from './module.js';
import { sourceFormat } from './registry.js';

/**
 * Requests mapped at once (their events share the Ingestor's group commits). Each group is written in
 * one turn of the event loop, where the answers to vendors' requests wait: 16 keeps that turn short
 * (64 left the inbound answer's p99 ~25% higher at 1,000 requests/s; BENCHMARKS.md).
 */
const CONCURRENCY = 16;

export interface MapperOptions {
  /** How often requests left `stored` (a crash, a failed ingest, another process's) are looked for. */
  sweepEveryMs?: number;
  /** A stored request younger than this is left to the process that received it. */
  graceMs?: number;
}

/** What mapping a request came to. */
export interface MapOutcome {
  state: InboundState;
  eventIds: string[] | null;
  error: string | null;
}

/** A stored request as mapping reads it. */
export function storedRequest(row: Pick<InboundRequestRow, 'method' | 'headers' | 'query' | 'body'>): StoredRequest {
  return { method: row.method, headers: JSON.parse(row.headers) as Record<string, string>, query: row.query, body: row.body };
}

/**
 * The idempotency key of a request's n-th event: derived from the request (or from the sender's own
 * message id, when the format reads one), so mapping a request again never stores its events twice.
 */
export function eventKey(sourceId: string, requestId: string, index: number, dedupe?: string): string {
  return dedupe !== undefined ? `inbound:${sourceId}:${dedupe}` : `inbound:${requestId}:${index}`;
}

/**
 * Maps stored inbound requests onto catalogue events and ingests them as the source's account, after
 * the vendor was answered. Requests this process stored are queued in memory; requests found still
 * `stored` (a crash between store and map, a database error while ingesting, a process that died)
 * are swept at start and then periodically. Each outcome is recorded only while the request is still
 * `stored` (compare and set), and the events' idempotency keys derive from the request, so two
 * processes mapping one request store its events once.
 */
export class InboundMapper {
  private readonly queue: { row: NewInboundRequest; source: SourceRow }[] = [];
  /** Ids queued or being mapped here: the sweep leaves them. */
  private readonly mine = new Set<string>();
  private inFlight = 0;
  private paused = false;
  private pumpScheduled = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private idle: (() => void)[] = [];
  private sweeping: Promise<void> | undefined;
  private marks: { id: string; from: readonly InboundState[]; to: Parameters<typeof markInboundRequest>[3]; resolve: (done: boolean) => void; reject: (err: unknown) => void }[] = [];

  constructor(
    private readonly deps: { store: Store; ingestor: Ingestor; clock: Clock; log: Logger; metrics?: Metrics },
    private readonly opts: MapperOptions = {},
  ) {}

  /** Sweeps at once (what a previous run left `stored`), then every `sweepEveryMs`. */
  start(): void {
    void this.sweep(0);
    const every = this.opts.sweepEveryMs ?? 30_000;
    this.timer = setInterval(() => void this.sweep(this.opts.graceMs ?? 30_000), every);
    this.timer.unref();
  }

  /** A request just stored (and answered): mapped soon, in this process. */
  enqueue(row: NewInboundRequest, source: SourceRow): void {
    if (this.stopped) return;
    this.mine.add(row.id);
    this.queue.push({ row, source });
    if (!this.pumpScheduled) {
      this.pumpScheduled = true;
      // After the answers of requests read meanwhile (the vendor is answered first).
      inBackground(() => {
        this.pumpScheduled = false;
        this.pump();
      });
    }
  }

  /** Holds queued requests unmapped until `resume` (tests: a crash between the answer and the mapping). */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.pump();
  }

  /** How many requests wait in this process's queue. */
  get queued(): number {
    return this.queue.length;
  }

  private pump(): void {
    while (!this.paused && !this.stopped && this.inFlight < CONCURRENCY && this.queue.length > 0) {
      const { row, source } = this.queue.shift()!;
      this.inFlight += 1;
      void this.mapRow(row, source, ['stored'])
        .catch((err: unknown) => this.deps.log.warn({ err, request: row.id }, 'inbound: mapping failed; the request stays stored for the next sweep'))
        .finally(() => {
          this.inFlight -= 1;
          this.mine.delete(row.id);
          this.pump();
          if (this.inFlight === 0 && this.queue.length === 0) for (const f of this.idle.splice(0)) f();
        });
    }
  }

  /**
   * Maps one stored request (by id) with its source's current settings, if it is in one of `from`:
   * the replay of an unmapped or failed request, and the sweep. Undefined when it is gone or not in `from`.
   */
  async mapById(id: string, from: readonly InboundState[]): Promise<MapOutcome | undefined> {
    const row = await findInboundRequestById(this.deps.store.db, id);
    if (!row || !from.includes(row.state as InboundState)) return undefined;
    const source = await findSourceById(this.deps.store.db, row.source_id);
    if (!source) return undefined;
    return this.mapRow(row, source, from);
  }

  private async mapRow(row: NewInboundRequest, source: SourceRow, from: readonly InboundState[]): Promise<MapOutcome> {
    const { ingestor, clock } = this.deps;
    const mod = sourceFormat(source.format);
    let result: MapResult;
    try {
      result = mod ? mod.map(storedRequest(row), JSON.parse(source.settings) as Record<string, unknown>) : { error: `unknown source format "${source.format}"` };
    } catch (err) {
      // A parser's bug must not keep the request stored forever: it is recorded as unmapped, with why.
      result = { error: `mapping failed: ${(err as Error).message}` };
    }
    let outcome: MapOutcome;
    if ('error' in result) {
      outcome = { state: 'unmapped', eventIds: null, error: result.error };
    } else {
      const inputs: EventInput[] = result.events.map((e, i) => ({
        type: e.type,
        data: e.data,
        id: eventKey(source.id, row.id, i, e.dedupe),
        ...(e.resource_id !== undefined ? { resource_id: e.resource_id } : {}),
        ...(e.custom_args !== undefined ? { custom_args: e.custom_args } : {}),
      }));
      try {
        const ids = inputs.length === 0 ? [] : await ingestor.ingest({ accountId: source.account_id, apiUser: null }, inputs, { batch: true, relaxed: true, background: true });
        outcome = { state: 'mapped', eventIds: ids, error: null };
      } catch (err) {
        // Refused events (invalid, a key reused with other content) are this request's to fix; a
        // database that cannot store them now leaves it stored, for the sweep.
        if (!(err instanceof ApiError) || err.statusCode >= 500) throw err;
        outcome = { state: 'failed', eventIds: null, error: err.message };
      }
    }
    if (await this.mark(row.id, from, { ...outcome, at: clock.now() })) this.deps.metrics?.inboundMapped.inc({ state: outcome.state });
    return outcome;
  }

  /**
   * Records outcomes, those of requests mapped together in one transaction. It is the queue's own
   * bookkeeping (relaxed commit): a lost mark means one more mapping, which stores nothing new (the
   * idempotency keys).
   */
  private mark(id: string, from: readonly InboundState[], to: Parameters<typeof markInboundRequest>[3]): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.marks.push({ id, from, to, resolve, reject });
      if (this.marks.length === 1) {
        inBackground(() => {
          const batch = this.marks.splice(0);
          this.deps.store
            .relaxed(async (trx) => {
              const done: boolean[] = [];
              for (const m of batch) done.push(await markInboundRequest(trx, m.id, m.from, m.to));
              return done;
            })
            .then(
              (done) => batch.forEach((m, i) => m.resolve(done[i]!)),
              (err: unknown) => batch.forEach((m) => m.reject(err)),
            );
        });
      }
    });
  }

  /** Maps the requests left `stored` before now − `graceMs`, except those queued here. */
  async sweep(graceMs: number): Promise<void> {
    if (this.sweeping || this.stopped) return this.sweeping;
    this.sweeping = (async () => {
      try {
        for (;;) {
          const ids = (await listStoredInboundRequests(this.deps.store.db, this.deps.clock.now() - graceMs + 1, 200)).filter((id) => !this.mine.has(id));
          if (ids.length === 0 || this.stopped) return;
          for (const id of ids) {
            if (this.stopped) return;
            this.mine.add(id);
            try {
              await this.mapById(id, ['stored']);
            } finally {
              this.mine.delete(id);
            }
          }
          if (ids.length < 200) return;
        }
      } catch (err) {
        this.deps.log.warn({ err }, 'inbound: the sweep of stored requests failed; it runs again later');
      } finally {
        this.sweeping = undefined;
      }
    })();
    return this.sweeping;
  }

  /** Stops: what is being mapped finishes; what is queued stays `stored` in the database, for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.queue.length = 0;
    if (this.sweeping) await this.sweeping;
    if (this.inFlight > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
  }
}
