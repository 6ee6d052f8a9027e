import type { Logger } from 'pino';
import type { Clock } from '../lib/clock.js';
import { newId } from '../lib/ids.js';
import type { Metrics } from '../lib/metrics.js';
import type { Db, Store } from '../store/db.js';
import {
  claimDueDeliveries,
  nextDueTime,
  completeAttempts,
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
import { Lanes } from './lanes.js';
import { WorkerHandOff } from './handoff.js';
import { HeldLeases } from './leases.js';
import { attemptTransition, internalErrorTransition, settledTransition } from './transitions.js';
import type { AttemptInfo, PipelineBus } from '../pipeline/bus.js';
import type { HttpSender, SendResult } from './http.js';
import { OPEN_GATE, type CallbackGate } from './gate.js';
import { NO_AUTHORIZER, type RequestAuthorizer } from './authorizer.js';
import { sendAttempt } from './attempt.js';
import { classifyResult, type Outcome } from './outcome.js';
import { redactHeaders, redactUrl } from './redact.js';
import { inBackground } from '../lib/turns.js';

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

/** A claimed delivery is leased this long unless configured otherwise (RELAY_LEASE); see renewLeases. */
export const LEASE_MS = 30_000;
/** How often the in-memory due times and gates are checked when nothing else wakes the worker. */
const IDLE_POLL_MS = 100;
const MAX_CLAIM = 1000;
/**
 * Finished attempts wait this long for company before they are recorded (one commit for many); a
 * lane running low on claimed deliveries, or a wake from ingest, does not wait.
 */
const CYCLE_DELAY_MS = 25;
/** Recorded at once, without waiting, when this many attempts have finished. */
const CYCLE_FULL = 512;
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
  /**
   * How long a claim is leased (default LEASE_MS), renewed every third of it while held: how long a
   * killed process's deliveries wait before another process (PostgreSQL) takes them.
   */
  leaseMs?: number;
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

/** A delivery this worker holds a lease on, with its event. */
export interface Job {
  claim: ClaimedDelivery;
  event: EventRow;
}

interface Finished {
  job: Job;
  attempt: NewAttempt | null;
  transition: DeliveryTransition;
  info: AttemptInfo | null;
  /** The attempt failed: its slot stays taken until the outcome is recorded and the breaker has seen it. */
  holdsSlot: boolean;
}

/**
 * The delivery engine of one process. It knows, in memory, when each callback may next have a due
 * delivery (new deliveries announce themselves, retries are scheduled here, and a periodic sweep of
 * the queue catches the rest) and claims per callback under a lease: what the callback may have in
 * flight plus a bounded read-ahead, so its requests go out back to back while the database works in
 * batches. A callback never has more than its cap in flight, so one slow or dead receiver only ever
 * holds its own share, and a huge backlog of one callback is never scanned past to reach another's.
 *
 * All database work happens in cycles, one at a time: a cycle records every attempt finished since
 * the last one, with its delivery's next state, and tops up the lanes' claims, in one transaction.
 * Outcomes go out on the bus after they are durable; nothing downstream runs inline in the sender.
 */
export class DeliveryWorker {
  readonly owner = newId('wrk');
  readonly leaseMs: number;
  /** Per callback: queued, in flight, promised to ingest; what may be claimed (lanes.ts). */
  private readonly lanes: Lanes<Job>;
  /** Ingest's way to store new deliveries already leased here (handoff.ts; Ingestor.handOffTo). */
  readonly handOff: WorkerHandOff;
  /** Per callback, the earliest time it may have a due delivery. Absent: nothing owed as far as we know. */
  private due = new Map<string, number>();
  /** Every delivery this worker holds a lease on: renewed while held, handed back on stop (leases.ts). */
  private readonly held: HeldLeases;
  private finished: Finished[] = [];
  private cycling = false;
  private cycleAgain: 'no' | 'soon' | 'now' = 'no';
  private cycleTimer: NodeJS.Timeout | undefined;
  /** A cycle asked for now: in the loop's next timers phase (inBackground), after the answers of requests already read. */
  private cycleSoon: NodeJS.Timeout | undefined;
  private retryAfterError = false;
  private sweepWanted = true;
  private lastSweep = 0;
  private stopped = false;
  private idleTimer: NodeJS.Timeout | undefined;
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
    this.leaseMs = opts.leaseMs ?? LEASE_MS;
    this.random = deps.random ?? Math.random;
    this.gate = deps.gate ?? OPEN_GATE;
    this.authorizer = deps.authorizer ?? NO_AUTHORIZER;
    this.lanes = new Lanes(opts, this.gate, deps.clock);
    this.held = new HeldLeases(deps, this.owner, this.leaseMs);
    this.handOff = new WorkerHandOff({
      owner: this.owner,
      leaseMs: this.leaseMs,
      lanes: this.lanes,
      registry: deps.registry,
      clock: deps.clock,
      isStopped: () => this.stopped,
      dueAt: (callbackId) => this.due.get(callbackId),
      accept: (jobs) => {
        for (const id of this.enqueue(jobs)) this.pump(id);
      },
      handBack: (jobs) => {
        void releaseLeases(this.deps.store.db, this.deps.store.caps, this.owner, jobs.map((j) => j.claim.id), this.deps.clock.now()).catch((err: unknown) =>
          this.deps.log.error({ err }, 'handing back deliveries from ingest failed; they come due when their lease ends'),
        );
      },
    });
  }

  start(): void {
    this.held.startHeartbeat();
    this.idleTimer = setInterval(() => this.tick(), IDLE_POLL_MS);
    this.idleTimer.unref();
    if (!this.deps.store.caps.multiProcess) {
      // No other process shares this database: leases left in it are a killed process's. Take them
      // back now rather than a lease later (claims made meanwhile are ours and stay untouched).
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
    this.requestCycle('now');
  }

  /** Queues deliveries leased to this worker in their lanes; returns their callbacks (to pump). */
  private enqueue(jobs: readonly Job[]): Set<string> {
    const callbacks = new Set<string>();
    const now = this.deps.clock.now();
    for (const job of jobs) {
      this.held.hold(job.claim.id, now);
      this.lanes.lane(job.claim.callback_id).queue.push(job);
      callbacks.add(job.claim.callback_id);
    }
    return callbacks;
  }

  /** The idle poll: starts what gates now allow, and claims what has come due in the meantime. */
  private tick(): void {
    if (this.stopped) return;
    for (const id of this.lanes.ids()) this.pump(id);
    const now = this.deps.clock.now();
    if (this.sweepDue(now) || this.hasRoom(now, 0)) this.requestCycle('now');
  }

  private markDue(callbackId: string, at: number): void {
    if (this.markedDuringClaim.has(callbackId)) {
      const marked = this.markedDuringClaim.get(callbackId);
      this.markedDuringClaim.set(callbackId, marked === undefined ? at : Math.min(marked, at));
    }
    const current = this.due.get(callbackId);
    if (current === undefined || at < current) this.due.set(callbackId, at);
  }

  private sweepDue(now: number): boolean {
    return this.sweepWanted || now - this.lastSweep >= this.opts.sweepIntervalMs;
  }

  /** Re-reads from the queue when every callback next has something due. */
  private async sweep(): Promise<void> {
    this.sweepWanted = false;
    this.lastSweep = this.deps.clock.now();
    // A callback created in another process since the registry's last poll has deliveries too.
    await this.deps.registry.catchUp();
    for (const id of this.deps.registry.ids()) {
      const at = await nextDueTime(this.deps.store.db, id);
      if (at === null) this.due.delete(id);
      else this.markDue(id, at);
    }
  }

  /**
   * Asks for a cycle: 'now' on the next turn of the event loop (new work is due, a lane runs low),
   * 'soon' after CYCLE_DELAY_MS, so that attempts finishing meanwhile share its commit.
   */
  private requestCycle(when: 'soon' | 'now'): void {
    if (this.cycling) {
      if (this.cycleAgain !== 'now') this.cycleAgain = when;
      return;
    }
    if (this.retryAfterError) return;
    if (when === 'now' || this.finished.length >= CYCLE_FULL) {
      if (this.cycleSoon) return;
      if (this.cycleTimer) {
        clearTimeout(this.cycleTimer);
        this.cycleTimer = undefined;
      }
      this.cycleSoon = inBackground(() => {
        this.cycleSoon = undefined;
        void this.cycle();
      });
    } else if (!this.cycleTimer && !this.cycleSoon) {
      this.cycleTimer = setTimeout(() => {
        this.cycleTimer = undefined;
        void this.cycle();
      }, CYCLE_DELAY_MS);
    }
  }

  /**
   * One cycle: records the finished attempts and claims what the lanes have room for, in one
   * transaction; then lets the outcomes out, frees the failed attempts' slots and sends the claims.
   */
  private async cycle(): Promise<void> {
    if (this.cycling) return;
    this.cycling = true;
    this.cycleAgain = 'no';
    try {
      if (!this.stopped && this.sweepDue(this.deps.clock.now())) await this.sweep();
      const batch = this.finished;
      this.finished = [];
      const now = this.deps.clock.now();
      // Slots the batch frees (failed attempts) can be refilled by the same transaction, for other
      // callbacks: those with a failure in it wait for the next cycle, so the circuit breaker sees the
      // outcome first.
      let freed = 0;
      const failing = new Set<string>();
      for (const f of batch) {
        if (!f.holdsSlot) continue;
        freed++;
        failing.add(f.job.claim.callback_id);
      }
      const claim = !this.stopped && this.hasRoom(now, freed, failing);
      if (batch.length === 0 && !claim) return;
      let changed = new Set<number>();
      let jobs: Job[] = [];
      try {
        const attempts: NewAttempt[] = [];
        for (const f of batch) if (f.attempt) attempts.push(f.attempt);
        await this.deps.store.relaxed(async (trx) => {
          if (batch.length > 0) {
            changed = await completeAttempts(trx, {
              owner: this.owner,
              now,
              attempts,
              transitions: batch.map((f) => f.transition),
              caps: this.deps.store.caps,
            });
          }
          if (claim) jobs = await this.claimWithin(trx, now, freed, failing);
        });
      } catch (err) {
        // The database refused: keep the results and try again; the leases keep the deliveries ours.
        this.deps.log.error({ err, count: batch.length }, 'recording attempts failed; retrying');
        this.finished.unshift(...batch);
        this.retryAfterError = true;
        setTimeout(() => {
          this.retryAfterError = false;
          this.requestCycle('now');
        }, 500).unref();
        return;
      }
      // Outcomes first: the circuit breaker must see a failed probe before its slot frees, or a second
      // probe could start in the gap.
      for (const f of batch) {
        if (f.info && changed.has(f.transition.id)) this.emitOutcome(f.info, f.transition);
      }
      for (const f of batch) {
        const callbackId = f.job.claim.callback_id;
        this.held.drop(f.job.claim.id);
        if (f.holdsSlot) this.lanes.releaseSlot(callbackId);
        // A retry scheduled here is known here: no need to find it in the queue.
        if (f.transition.state === 'pending' && changed.has(f.transition.id)) this.markDue(callbackId, f.transition.nextAttemptAt);
      }
      // Only now that the claims are committed do they hold leases here.
      const claimedFor = this.enqueue(jobs);
      for (const id of failing) this.pump(id);
      for (const id of claimedFor) this.pump(id);
    } catch (err) {
      this.deps.log.error({ err }, 'delivery cycle failed; retrying shortly');
    } finally {
      this.cycling = false;
      const again = this.cycleAgain;
      this.cycleAgain = 'no';
      if (again !== 'no') this.requestCycle(again);
      else if (this.finished.length > 0) this.requestCycle('soon');
      this.notifyIdle();
    }
  }

  /**
   * Whether some due callback may hold more (counting slots about to be freed): in flight, while a
   * slot is not yet spoken for (claims never promise more slots than the worker's concurrency), or
   * in its read-ahead, while the read-ahead has room.
   */
  private hasRoom(now: number, freed: number, skip: ReadonlySet<string> = NO_CALLBACKS): boolean {
    const lanes = this.lanes;
    const { slots, ahead } = lanes.room(freed);
    if (slots <= 0 && ahead <= 0) return false;
    for (const [id, at] of this.due) {
      if (at > now || skip.has(id)) continue;
      const holding = lanes.holding(id);
      if ((slots > 0 && lanes.capFor(id) - holding > 0) || (ahead > 0 && lanes.targetFor(id) - holding > 0)) return true;
    }
    return false;
  }

  /**
   * Claims, in the caller's transaction, what the due callbacks have room for, with their events;
   * `freed` counts slots the same transaction is freeing. First what each may put in flight now,
   * then the read-ahead of those flowing: read-ahead has its own budget and never takes a slot
   * another callback could use.
   */
  private async claimWithin(trx: Db, now: number, freed: number, skip: ReadonlySet<string>): Promise<Job[]> {
    const ready: string[] = [];
    for (const [id, at] of this.due) if (at <= now && !skip.has(id)) ready.push(id);
    if (ready.length === 0) return [];
    const claimed: ClaimedDelivery[] = [];
    const lanes = this.lanes;
    const room = lanes.room(freed);
    const free: [number, number] = [room.slots, room.ahead];
    const first = this.turn++ % ready.length;
    const taken = new Map<string, number>();
    for (const pass of [0, 1] as const) {
      const ahead = pass === 1;
      for (let i = 0; i < ready.length && free[pass] > 0 && !this.stopped; i++) {
        const callbackId = ready[(first + i) % ready.length]!;
        if (!this.due.has(callbackId)) continue;
        const want = (ahead ? lanes.targetFor(callbackId) : lanes.capFor(callbackId)) - lanes.holding(callbackId) - (taken.get(callbackId) ?? 0);
        const limit = Math.min(want, free[pass], MAX_CLAIM);
        if (limit <= 0) continue;
        const rows = await this.claimFor(trx, callbackId, now, limit);
        taken.set(callbackId, (taken.get(callbackId) ?? 0) + rows.length);
        free[pass] -= rows.length;
        for (const r of rows) claimed.push(r);
      }
    }
    if (claimed.length === 0) return [];
    const events = await findEventsByIds(trx, this.deps.store.caps, claimed.map((c) => c.event_id));
    const byId = new Map(events.map((e) => [e.id, e]));
    const jobs: Job[] = [];
    for (const claim of claimed) {
      const event = byId.get(claim.event_id);
      if (event) {
        jobs.push({ claim, event });
        continue;
      }
      // Cannot happen while events and deliveries are written together; record it rather than loop.
      this.deps.log.error({ deliveryId: claim.id }, 'delivery without its event');
      this.held.hold(claim.id, this.deps.clock.now());
      this.finish({ claim, event: undefined as never }, null, this.finalTransition(claim, 'failed', null, 'event_missing'), null, false);
    }
    return jobs;
  }

  /** Claims up to `limit` of one callback's due deliveries; when fewer were due, learns when more will be. */
  private async claimFor(trx: Db, callbackId: string, now: number, limit: number): Promise<ClaimedDelivery[]> {
    this.markedDuringClaim.set(callbackId, undefined);
    let rows: ClaimedDelivery[];
    let marked: number | undefined;
    try {
      rows = await claimDueDeliveries(trx, this.deps.store.caps, { owner: this.owner, callbackId, now, leaseUntil: now + this.leaseMs, limit });
      // RETURNING gives no order (PostgreSQL's is physical): send the oldest first.
      rows.sort((x, y) => x.id - y.id);
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
    return rows;
  }

  /** Starts as many of a callback's claimed deliveries as its cap and the worker's allow. */
  private pump(callbackId: string): void {
    const lanes = this.lanes;
    const lane = lanes.get(callbackId);
    if (!lane || this.stopped) return;
    const cap = lanes.capFor(callbackId);
    if (lane.queue.length > 0) {
      const cb = this.deps.registry.get(callbackId);
      const perRequest = cb ? batchLimit(cb) : 1;
      while (lane.queue.length > 0 && lane.active < cap && lanes.sending < this.opts.concurrency) {
        const n = Math.min(perRequest, cap - lane.active, this.opts.concurrency - lanes.sending, lane.queue.length);
        const jobs = n === 1 ? [lane.queue.shift()!] : lane.queue.splice(0, n);
        lanes.take(lane, n);
        void this.run(jobs);
      }
    }
    // Running low while more is due: top up now rather than after the next batch of results (a lane
    // without read-ahead: as soon as a slot is free; with: once half of the read-ahead is gone).
    const at = this.due.get(callbackId);
    const target = lanes.targetFor(callbackId);
    if (at !== undefined && at <= this.deps.clock.now() && lane.active + lane.queue.length < target && lane.queue.length <= (target - cap) / 2) {
      this.requestCycle('now');
    }
    lanes.dropIfEmpty(callbackId, lane);
  }

  /**
   * One attempt, for one delivery or for several of one callback sharing a request: render, send,
   * classify, then record it on each. Never throws: a bug in here is recorded as a failure.
   */
  private async run(jobs: Job[]): Promise<void> {
    const first = jobs[0]!;
    let cb = this.deps.registry.get(first.claim.callback_id);
    const finishAll = (make: (claim: ClaimedDelivery) => DeliveryTransition) => {
      for (const job of jobs) this.finish(job, null, make(job.claim), null);
    };
    try {
      // The registry may not have seen another process create or enable it yet: ask the database
      // before failing or holding anything.
      if (!cb?.enabled) cb = await this.deps.registry.refresh(first.claim.callback_id);
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
      finishAll((c) => internalErrorTransition(c, this.deps.clock.now()));
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
    // A callback may carry its own schedule (Whispir: every 5 minutes for 24 hours; [0]: no retries).
    const schedule = (cb.settings.retry_schedule as number[] | undefined) ?? this.opts.retrySchedule;
    const transition = attemptTransition(claim, outcome, response ? response.status : null, now, schedule, this.random);
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
    this.deps.metrics?.deliveries.labels(outcome.kind).inc();
    this.deps.metrics?.attemptSeconds.observe(result.durationMs / 1000);
    this.finish(job, attempt, transition, info);
  }

  private finalTransition(claim: ClaimedDelivery, state: DeliveryTransition['state'], status: number | null, error: string): DeliveryTransition {
    return settledTransition(claim, state, status, error, this.deps.clock.now());
  }

  /**
   * Queues an attempt's record for the next cycle. A success frees its slot at once (the next
   * delivery goes out while this one is being recorded); a failure keeps it until recorded.
   */
  private finish(job: Job, attempt: NewAttempt | null, transition: DeliveryTransition, info: AttemptInfo | null, tookSlot = true): void {
    const holdsSlot = tookSlot && info !== null && info.outcome.kind !== 'success';
    if (info) this.lanes.setFlowing(info.callbackId, info.outcome.kind === 'success');
    this.finished.push({ job, attempt, transition, info, holdsSlot });
    if (tookSlot && !holdsSlot) {
      this.lanes.releaseSlot(job.claim.callback_id);
      this.pump(job.claim.callback_id);
    }
    this.requestCycle('soon');
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

  private async cycleEnded(): Promise<void> {
    while (this.cycling) await new Promise<void>((resolve) => setTimeout(resolve, 5));
  }

  private notifyIdle(): void {
    if (this.held.size === 0 && this.finished.length === 0 && !this.cycling) {
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /**
   * Stops claiming, hands back what was claimed but not started, lets attempts in flight finish until
   * the deadline, records them, and hands back the leases of everything else so another worker (or
   * the next start) takes it at once.
   */
  async stop(deadlineMs: number): Promise<void> {
    this.stopped = true;
    if (this.idleTimer) clearInterval(this.idleTimer);
    this.held.stopHeartbeat();
    // A cycle under way may still add claims to the lanes: let it end, then hand back what is unsent.
    await this.cycleEnded();
    const unsent: number[] = [];
    for (const lane of this.lanes.all()) for (const job of lane.queue.splice(0)) unsent.push(job.claim.id);
    await this.held.handBack(unsent);
    if (this.held.size > 0 || this.finished.length > 0 || this.cycling) {
      await Promise.race([
        new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
        new Promise<void>((resolve) => setTimeout(resolve, deadlineMs).unref()),
      ]);
    }
    await this.cycleEnded();
    if (this.finished.length > 0) await this.cycle();
    await this.held.handBackAll();
  }
}
