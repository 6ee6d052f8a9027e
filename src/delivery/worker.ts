import type { Logger } from 'pino';
import type { Clock } from '../lib/clock.js';
import { newId } from '../lib/ids.js';
import type { Metrics } from '../lib/metrics.js';
import type { Db, Store } from '../store/db.js';
import {
  claimDueDeliveries,
  nextDueTime,
  completeAttempts,
  extendLeases,
  releaseLeases,
  releaseOtherLeases,
  type ClaimedDelivery,
  type DeliveryTransition,
} from '../store/deliveries.js';
import { findEventsByIds } from '../store/events.js';
import type { NewAttempt, EventRow } from '../store/schema.js';
import type { CallbackRegistry } from '../routing/registry.js';
import type { Callback } from '../routing/callback.js';
import { UnsupportedEventError, batchLimit, renderBatch, type RenderEvent, type RenderedRequest } from '../formats/index.js';
import { nextRetryDelay } from './backoff.js';
import type { AttemptInfo, PipelineBus } from './bus.js';
import type { HttpSender, SendResult } from './http.js';
import { OPEN_GATE, type CallbackGate } from './gate.js';
import { NO_AUTHORIZER, type RequestAuthorizer } from './authorizer.js';
import { sendAttempt } from './attempt.js';
import { classifyResult, type Outcome } from './outcome.js';
import { redactHeaders, redactUrl } from './redact.js';

function toRenderEvent({ event }: Job): RenderEvent {
  let data: unknown;
  let parsed = false;
  return {
    id: event.id,
    type: event.type,
    createdAt: event.created_at,
    // Parsed only by formats that look inside; the default format sends the stored text as it is.
    get data() {
      if (!parsed) {
        data = JSON.parse(event.data);
        parsed = true;
      }
      return data;
    },
    dataJson: event.data,
    resourceId: event.resource_id,
    customArgs: event.custom_args ? (JSON.parse(event.custom_args) as Record<string, unknown>) : null,
  };
}

/** A claimed delivery is leased this long; the heartbeat renews it while the attempt runs. */
export const LEASE_MS = 30_000;
const HEARTBEAT_MS = 10_000;
/** How often, when idle, the in-memory due times are checked (no query unless something is due). */
const IDLE_POLL_MS = 100;
const MAX_CLAIM = 1000;
const NONE_RELEASED: ReadonlyMap<string, number> = new Map();
const NO_CALLBACKS: ReadonlySet<string> = new Set();
const REQUEST_BODY_KEPT = 4096;

export interface WorkerOptions {
  retrySchedule: readonly number[];
  /** Requests in flight at once in this worker. */
  concurrency: number;
  /** Requests in flight at once to one callback. */
  callbackConcurrency: number;
  /** How often the queue itself is read for due times: catches other processes' retries and dead leases. */
  sweepIntervalMs: number;
}

export interface WorkerDeps {
  store: Store;
  registry: CallbackRegistry;
  sender: HttpSender;
  bus: PipelineBus;
  clock: Clock;
  log: Logger;
  metrics?: Metrics | undefined;
  random?: () => number;
  /** Fetches credentials some callbacks need before each call (advanced authentication). */
  authorizer?: RequestAuthorizer;
  /** Narrows a callback's in-flight cap (circuit breaker); by default it does not. */
  gate?: CallbackGate;
}

interface Job {
  claim: ClaimedDelivery;
  event: EventRow;
}

interface Finished {
  job: Job;
  attempt: NewAttempt | null;
  transition: DeliveryTransition;
  info: AttemptInfo | null;
}

/**
 * The delivery engine of one process. It knows, in memory, when each callback may next have a due
 * delivery (new deliveries announce themselves, retries are scheduled here, and a periodic sweep of
 * the queue catches the rest) and claims per callback — at most what that callback may still have in
 * flight — under a lease. So one slow or dead receiver only ever holds its own share, and a huge
 * backlog of one callback is never scanned past to reach another's. Each attempt is recorded with its
 * delivery's next state in one transaction per batch of results; outcomes go out on the bus after
 * they are durable, and nothing downstream runs inline in the sender.
 */
export class DeliveryWorker {
  readonly owner = newId('wrk');
  private sending = 0;
  /** Requests in flight per callback. */
  private active = new Map<string, number>();
  /** Per callback, the earliest time it may have a due delivery. Absent: nothing owed as far as we know. */
  private due = new Map<string, number>();
  /** Every delivery this worker holds a lease on (sending, or awaiting its record). */
  private held = new Set<number>();
  private finished: Finished[] = [];
  private claiming = false;
  private wakeAgain = false;
  private sweepWanted = true;
  private lastSweep = 0;
  private flushing: Promise<void> | undefined;
  private flushQueued = false;
  private stopped = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly random: () => number;
  private readonly gate: CallbackGate;
  private readonly authorizer: RequestAuthorizer;
  private idleWaiters: (() => void)[] = [];
  /** Due times announced while a claim for that callback was under way (the claim must not lose them). */
  private markedDuringClaim = new Map<string, number | undefined>();
  /** Rotates which callback claims first, so no callback is always served last. */
  private turn = 0;

  constructor(
    private readonly deps: WorkerDeps,
    private readonly opts: WorkerOptions,
  ) {
    this.random = deps.random ?? Math.random;
    this.gate = deps.gate ?? OPEN_GATE;
    this.authorizer = deps.authorizer ?? NO_AUTHORIZER;
  }

  start(): void {
    this.heartbeat = setInterval(() => void this.renewLeases(), HEARTBEAT_MS);
    this.heartbeat.unref();
    if (!this.deps.store.caps.multiProcess) {
      // No other process shares this database: leases left in it are a killed process's. Take them
      // back now rather than LEASE_MS later (claims made meanwhile are ours and stay untouched).
      void releaseOtherLeases(this.deps.store.db, this.owner, this.deps.clock.now())
        .then((n) => {
          if (n > 0) this.deps.log.warn({ count: n }, 'took back deliveries leased by a previous process');
        })
        .catch((err: unknown) => this.deps.log.error({ err }, 'taking back stale leases failed; they come due when their lease ends'))
        .finally(() => this.wake());
      return;
    }
    this.wake();
  }

  /**
   * Claim now. With callback ids: those callbacks got new deliveries due now. Without: something
   * changed that only the queue knows (a retry or recovery by the API, another process): sweep it.
   */
  wake(callbackIds?: Iterable<string>): void {
    if (this.stopped) return;
    if (callbackIds === undefined) this.sweepWanted = true;
    else {
      const now = this.deps.clock.now();
      for (const id of callbackIds) this.markDue(id, now);
    }
    if (this.claiming) {
      this.wakeAgain = true;
      return;
    }
    void this.claimLoop();
  }

  private markDue(callbackId: string, at: number): void {
    if (this.markedDuringClaim.has(callbackId)) {
      const marked = this.markedDuringClaim.get(callbackId);
      this.markedDuringClaim.set(callbackId, marked === undefined ? at : Math.min(marked, at));
    }
    const current = this.due.get(callbackId);
    if (current === undefined || at < current) this.due.set(callbackId, at);
  }

  /** Re-reads from the queue when every callback next has something due. */
  private async sweep(): Promise<void> {
    this.sweepWanted = false;
    this.lastSweep = this.deps.clock.now();
    for (const id of this.deps.registry.ids()) {
      const at = await nextDueTime(this.deps.store.db, id);
      if (at === null) this.due.delete(id);
      else this.markDue(id, at);
    }
  }

  private async claimLoop(): Promise<void> {
    this.claiming = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    try {
      do {
        this.wakeAgain = false;
        if (this.sweepWanted || this.deps.clock.now() - this.lastSweep >= this.opts.sweepIntervalMs) await this.sweep();
        await this.claimRound();
      } while (this.wakeAgain && !this.stopped);
    } catch (err) {
      this.deps.log.error({ err }, 'claiming deliveries failed; retrying shortly');
    } finally {
      this.claiming = false;
      if (!this.stopped) {
        this.idleTimer = setTimeout(() => this.wake([]), IDLE_POLL_MS);
        this.idleTimer.unref();
      }
      this.notifyIdle();
    }
  }

  /** One pass over the callbacks with something due: claim what each may still have in flight. */
  private async claimRound(): Promise<void> {
    const now = this.deps.clock.now();
    if (!this.hasRoom(now, NONE_RELEASED)) return;
    // Every claim of the round, and the look-ups after under-full ones, in one transaction.
    const claimed = await this.deps.store.relaxed((trx) => this.claimWithin(trx, now, NONE_RELEASED));
    await this.dispatch(claimed);
  }

  /** Whether some callback is due and may still have more in flight (counting slots about to be freed). */
  private hasRoom(now: number, released: ReadonlyMap<string, number>): boolean {
    let freed = 0;
    for (const n of released.values()) freed += n;
    if (this.opts.concurrency - this.sending + freed <= 0) return false;
    for (const [id, at] of this.due) {
      if (at <= now && this.capFor(id) - (this.active.get(id) ?? 0) + (released.get(id) ?? 0) > 0) return true;
    }
    return false;
  }

  /**
   * Claims, in the caller's transaction, what the due callbacks may still have in flight; `released`
   * counts slots the same transaction is freeing (attempts being recorded), so they can be refilled
   * without a transaction of their own.
   */
  private async claimWithin(
    trx: Db,
    now: number,
    released: ReadonlyMap<string, number>,
    skip: ReadonlySet<string> = NO_CALLBACKS,
  ): Promise<ClaimedDelivery[]> {
    const ready: string[] = [];
    for (const [id, at] of this.due) if (at <= now && !skip.has(id)) ready.push(id);
    const claimed: ClaimedDelivery[] = [];
    if (ready.length === 0) return claimed;
    let free = this.opts.concurrency - this.sending;
    for (const n of released.values()) free += n;
    const first = this.turn++ % ready.length;
    for (let i = 0; i < ready.length && free > 0 && !this.stopped; i++) {
      const callbackId = ready[(first + i) % ready.length]!;
      const inFlight = (this.active.get(callbackId) ?? 0) - (released.get(callbackId) ?? 0);
      const limit = Math.min(this.capFor(callbackId) - inFlight, free, MAX_CLAIM);
      if (limit <= 0) continue;
      this.markedDuringClaim.set(callbackId, undefined);
      let rows: ClaimedDelivery[];
      let marked: number | undefined;
      try {
        rows = await claimDueDeliveries(trx, {
          owner: this.owner,
          callbackId,
          now,
          leaseUntil: now + LEASE_MS,
          limit,
          skipLocked: this.deps.store.caps.skipLocked,
        });
        if (rows.length < limit) {
          // Nothing more is due now; ask the queue when something next is (a retry, a lease ending).
          const next = await nextDueTime(trx, callbackId);
          if (next !== null) this.markedDuringClaim.set(callbackId, Math.min(next, this.markedDuringClaim.get(callbackId) ?? next));
        }
      } finally {
        marked = this.markedDuringClaim.get(callbackId);
        this.markedDuringClaim.delete(callbackId);
      }
      if (rows.length < limit) {
        // Keep the earliest of what the queue said and what was announced meanwhile.
        if (marked === undefined) this.due.delete(callbackId);
        else this.due.set(callbackId, marked);
      }
      free -= rows.length;
      for (const r of rows) claimed.push(r);
    }
    return claimed;
  }

  /** Takes committed claims into the books, loads their events and starts their attempts. */
  private async dispatch(claimed: ClaimedDelivery[]): Promise<void> {
    // Only now that the claims are committed do they hold slots and leases here.
    for (const r of claimed) {
      this.active.set(r.callback_id, (this.active.get(r.callback_id) ?? 0) + 1);
      this.sending++;
      this.held.add(r.id);
    }
    if (claimed.length === 0) return;
    const events = await findEventsByIds(this.deps.store.db, [...new Set(claimed.map((c) => c.event_id))]);
    const byId = new Map(events.map((e) => [e.id, e]));
    // Deliveries of a callback whose format carries several events per request go out together.
    const batches = new Map<string, Job[]>();
    for (const claim of claimed) {
      const event = byId.get(claim.event_id);
      if (!event) {
        // Cannot happen while events and deliveries are written together; record it rather than loop.
        this.deps.log.error({ deliveryId: claim.id }, 'delivery without its event');
        this.finish({ claim, event: undefined as never }, null, this.finalTransition(claim, 'failed', null, 'event_missing'), null);
        continue;
      }
      const cb = this.deps.registry.get(claim.callback_id);
      const limit = cb ? batchLimit(cb) : 1;
      if (limit <= 1) {
        void this.run([{ claim, event }]);
        continue;
      }
      const open = batches.get(claim.callback_id) ?? [];
      open.push({ claim, event });
      if (open.length >= limit) {
        void this.run(open);
        batches.delete(claim.callback_id);
      } else batches.set(claim.callback_id, open);
    }
    for (const jobs of batches.values()) void this.run(jobs);
  }

  /** The in-flight cap of a callback right now: the configured one, narrowed by the gate. */
  private capFor(callbackId: string): number {
    return Math.min(this.opts.callbackConcurrency, this.gate.limit(callbackId, this.deps.clock.now()));
  }

  /**
   * One attempt, for one delivery or for several of one callback sharing a request: render, send,
   * classify, then record it on each. Never throws: a bug in here is recorded as a failure.
   */
  private async run(jobs: Job[]): Promise<void> {
    const first = jobs[0]!;
    const cb = this.deps.registry.get(first.claim.callback_id);
    const finishAll = (make: (claim: ClaimedDelivery) => DeliveryTransition) => {
      for (const job of jobs) this.finish(job, null, make(job.claim), null);
    };
    try {
      if (!cb) {
        finishAll((c) => this.finalTransition(c, 'failed', null, 'callback_deleted'));
        return;
      }
      if (!cb.enabled) {
        finishAll((c) => this.finalTransition(c, 'held', null, 'callback_disabled'));
        return;
      }
      const startedAt = this.deps.clock.now();
      let request: RenderedRequest;
      try {
        request = renderBatch(jobs.map(toRenderEvent), cb, startedAt);
      } catch (err) {
        if (jobs.length > 1) {
          // One event the format cannot carry must not fail the others: send them one by one.
          for (const job of jobs) void this.run([job]);
          return;
        }
        if (!(err instanceof UnsupportedEventError)) this.deps.log.error({ err, deliveryId: first.claim.id }, 'rendering failed');
        finishAll((c) => this.finalTransition(c, 'failed', null, 'render_error'));
        return;
      }
      const { sent, result } = await sendAttempt({ sender: this.deps.sender, authorizer: this.authorizer }, cb, request);
      const outcome = classifyResult(result, this.deps.clock.now(), request.success);
      for (const job of jobs) this.record(job, cb, sent, startedAt, result, outcome);
    } catch (err) {
      this.deps.log.error({ err, deliveryId: first.claim.id }, 'delivery attempt crashed');
      finishAll((c) => ({ ...this.finalTransition(c, 'pending', null, 'internal_error'), nextAttemptAt: this.deps.clock.now() + 5000 }));
    }
  }

  private record(job: Job, cb: Callback, request: RenderedRequest, startedAt: number, result: SendResult, outcome: Outcome): void {
    const { claim, event } = job;
    const attemptNo = claim.attempts + 1;
    const now = this.deps.clock.now();
    const response = result.kind === 'response' ? result.response : null;
    const errorClass = result.kind === 'error' ? result.errorClass : null;
    const attempt: NewAttempt = {
      delivery_id: claim.id,
      account_id: cb.accountId,
      callback_id: cb.id,
      event_id: event.id,
      kind: 'delivery',
      attempt: attemptNo,
      started_at: startedAt,
      duration_ms: Math.round(result.durationMs),
      request_method: request.method,
      request_url: redactUrl(request.url),
      request_headers: JSON.stringify(redactHeaders(request.headers)),
      request_body: request.body.length > REQUEST_BODY_KEPT ? request.body.slice(0, REQUEST_BODY_KEPT) : request.body,
      response_status: response ? response.status : null,
      response_headers: response ? JSON.stringify(response.headers) : null,
      response_body: response ? response.body : null,
      error_class: errorClass,
      error_message: result.kind === 'error' ? result.message : null,
      outcome: outcome.kind,
    };
    const status = response ? response.status : null;
    let transition: DeliveryTransition;
    if (outcome.kind === 'success') {
      transition = { id: claim.id, state: 'delivered', attempts: attemptNo, nextAttemptAt: now, lastStatus: status, lastError: null };
    } else {
      // A callback may carry its own schedule (Whispir: every 5 minutes for 24 hours; [0]: no retries).
      const schedule = (cb.settings.retry_schedule as number[] | undefined) ?? this.opts.retrySchedule;
      const delay = outcome.kind === 'retryable' ? nextRetryDelay(attemptNo, schedule, outcome.retryAfterMs, this.random) : null;
      transition =
        delay === null
          ? { id: claim.id, state: 'failed', attempts: attemptNo, nextAttemptAt: now, lastStatus: status, lastError: outcome.reason }
          : { id: claim.id, state: 'pending', attempts: attemptNo, nextAttemptAt: now + delay, lastStatus: status, lastError: outcome.reason };
    }
    const info: AttemptInfo = {
      deliveryId: claim.id,
      accountId: cb.accountId,
      callbackId: cb.id,
      eventId: event.id,
      eventType: event.type,
      attempt: attemptNo,
      outcome,
      durationMs: result.durationMs,
      errorClass,
    };
    this.deps.metrics?.deliveries.inc({ outcome: outcome.kind });
    this.deps.metrics?.attemptSeconds.observe(result.durationMs / 1000);
    this.finish(job, attempt, transition, info);
  }

  private finalTransition(claim: ClaimedDelivery, state: DeliveryTransition['state'], status: number | null, error: string): DeliveryTransition {
    return { id: claim.id, state, attempts: claim.attempts, nextAttemptAt: this.deps.clock.now(), lastStatus: status, lastError: error };
  }

  private finish(job: Job, attempt: NewAttempt | null, transition: DeliveryTransition, info: AttemptInfo | null): void {
    this.finished.push({ job, attempt, transition, info });
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      void this.flush();
    });
  }

  /** Writes every finished attempt so far in one transaction, then frees their slots. */
  private async flush(): Promise<void> {
    if (this.flushing) {
      await this.flushing;
      if (this.finished.length > 0) this.scheduleFlush();
      return;
    }
    const batch = this.finished;
    if (batch.length === 0) return;
    this.finished = [];
    const run = this.writeBatch(batch);
    this.flushing = run;
    try {
      await run;
    } finally {
      this.flushing = undefined;
    }
    if (this.finished.length > 0) this.scheduleFlush();
    else this.notifyIdle();
  }

  private async writeBatch(batch: Finished[]): Promise<void> {
    const now = this.deps.clock.now();
    // The slots this batch frees are refilled in the same transaction (one commit per cycle), unless
    // a claim round is under way (it would count the same slots).
    const released = new Map<string, number>();
    // Callbacks with a failure in the batch wait for the next round: the circuit breaker must see the
    // outcome (emitted after commit) before their slots are refilled.
    const failing = new Set<string>();
    for (const f of batch) {
      const id = f.job.claim.callback_id;
      released.set(id, (released.get(id) ?? 0) + 1);
      if (f.info?.outcome.kind !== 'success') failing.add(id);
    }
    const refill = !this.claiming && !this.stopped && this.hasRoom(now, released);
    if (refill) this.claiming = true;
    let changed: Set<number>;
    let claimed: ClaimedDelivery[] = [];
    try {
      changed = await this.deps.store.relaxed(async (trx) => {
        const done = await completeAttempts(trx, {
          owner: this.owner,
          now,
          attempts: batch.flatMap((f) => (f.attempt ? [f.attempt] : [])),
          transitions: batch.map((f) => f.transition),
          caps: this.deps.store.caps,
        });
        if (refill) claimed = await this.claimWithin(trx, now, released, failing);
        return done;
      });
    } catch (err) {
      if (refill) this.claiming = false;
      // The database refused: keep the results and try again; the leases keep the deliveries ours.
      this.deps.log.error({ err, count: batch.length }, 'recording attempts failed; retrying');
      this.finished.unshift(...batch);
      setTimeout(() => this.scheduleFlush(), 500).unref();
      return;
    }
    // Outcomes first: the circuit breaker must see a failed probe before its slot frees, or a second
    // probe could start in the gap.
    for (const f of batch) {
      if (!f.info || !changed.has(f.transition.id)) continue;
      this.emitOutcome(f.info, f.transition);
    }
    for (const f of batch) {
      this.held.delete(f.job.claim.id);
      this.releaseSlot(f.job.claim.callback_id);
      // A retry scheduled here is known here: no need to find it in the queue.
      if (f.transition.state === 'pending' && changed.has(f.transition.id)) this.markDue(f.job.claim.callback_id, f.transition.nextAttemptAt);
    }
    if (refill) {
      this.claiming = false;
      await this.dispatch(claimed);
    }
    // Whatever is still free (or was announced meanwhile) is claimed by a round of its own.
    this.wake([]);
  }

  private releaseSlot(callbackId: string): void {
    const n = (this.active.get(callbackId) ?? 1) - 1;
    if (n > 0) this.active.set(callbackId, n);
    else this.active.delete(callbackId);
    this.sending--;
  }

  private emitOutcome(info: AttemptInfo, t: DeliveryTransition): void {
    const bus = this.deps.bus;
    bus.emit('delivery.attempted', info);
    if (info.outcome.kind === 'success') bus.emit('delivery.succeeded', info);
    else if (t.state === 'pending') bus.emit('delivery.retrying', { ...info, nextAttemptAt: t.nextAttemptAt });
    else bus.emit('delivery.exhausted', info);
    if (info.outcome.kind === 'permanent' && info.outcome.disableCallback) {
      bus.emit('callback.gone', { accountId: info.accountId, callbackId: info.callbackId });
    }
  }

  private async renewLeases(): Promise<void> {
    if (this.held.size === 0) return;
    try {
      const ids = [...this.held];
      await this.deps.store.relaxed((trx) => extendLeases(trx, this.owner, ids, this.deps.clock.now() + LEASE_MS));
    } catch (err) {
      this.deps.log.warn({ err }, 'renewing leases failed');
    }
  }

  private notifyIdle(): void {
    if (this.held.size === 0 && this.finished.length === 0 && !this.flushing) {
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /**
   * Stops claiming, lets attempts in flight finish until the deadline, records them, and hands back
   * the leases of everything else so another worker (or the next start) takes it at once.
   */
  async stop(deadlineMs: number): Promise<void> {
    this.stopped = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.held.size > 0 || this.finished.length > 0) {
      await Promise.race([
        new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
        new Promise<void>((resolve) => setTimeout(resolve, deadlineMs).unref()),
      ]);
    }
    await this.flush();
    while (this.flushing) await this.flushing;
    if (this.held.size > 0) {
      await releaseLeases(this.deps.store.db, this.owner, [...this.held], this.deps.clock.now());
      this.held.clear();
    }
  }
}
