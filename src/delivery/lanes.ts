import type { Clock } from '../lib/clock.js';
import type { CallbackGate } from './gate.js';

/** Claimed ahead per callback, beyond what it may have in flight: at most this many. */
export const PREFETCH_MAX = 512;
/** Claimed ahead in all, beyond what may be in flight. */
export const READ_AHEAD_TOTAL = 512;

/** One callback's share of a worker: deliveries claimed and waiting to be sent, and slots taken. */
export interface Lane<J> {
  queue: J[];
  /** Deliveries in flight, plus failed ones whose outcome is not yet recorded. */
  active: number;
}

/**
 * A worker's lane accounting: per callback, what is queued, in flight, promised to ingest's hand-off,
 * and whether it is flowing; and from these, what each callback may hold and what claims may still
 * add. No I/O: the worker decides when to claim and send, this says how much.
 */
export class Lanes<J> {
  /** Slots taken across all callbacks (see Lane.active). */
  sending = 0;
  private readonly lanes = new Map<string, Lane<J>>();
  /** Callbacks whose latest attempt here succeeded: only these are claimed ahead of their slots. */
  private readonly flowing = new Set<string>();
  /** Slots promised to deliveries ingest is storing leased to this worker (see DeliveryWorker.reserve). */
  private readonly reserved = new Map<string, number>();
  private reservedTotal = 0;

  constructor(
    private readonly opts: { concurrency: number; callbackConcurrency: number },
    private readonly gate: CallbackGate,
    private readonly clock: Clock,
  ) {}

  get(callbackId: string): Lane<J> | undefined {
    return this.lanes.get(callbackId);
  }

  /** The callback's lane, made when it has none. */
  lane(callbackId: string): Lane<J> {
    let lane = this.lanes.get(callbackId);
    if (!lane) {
      lane = { queue: [], active: 0 };
      this.lanes.set(callbackId, lane);
    }
    return lane;
  }

  ids(): IterableIterator<string> {
    return this.lanes.keys();
  }

  all(): IterableIterator<Lane<J>> {
    return this.lanes.values();
  }

  /** Forgets a lane with nothing queued and nothing in flight. */
  dropIfEmpty(callbackId: string, lane: Lane<J>): void {
    if (lane.queue.length === 0 && lane.active === 0) this.lanes.delete(callbackId);
  }

  /** `n` of the lane's deliveries start: they take slots. */
  take(lane: Lane<J>, n: number): void {
    lane.active += n;
    this.sending += n;
  }

  /** A slot is free again (its attempt succeeded, or a failure was recorded). */
  releaseSlot(callbackId: string): void {
    const lane = this.lanes.get(callbackId);
    if (lane) lane.active--;
    this.sending--;
  }

  /** Whether the callback's latest attempt here succeeded (it then gets a read-ahead). */
  setFlowing(callbackId: string, flowing: boolean): void {
    if (flowing) this.flowing.add(callbackId);
    else this.flowing.delete(callbackId);
  }

  /** Promises `n` slots of a callback to deliveries ingest is storing leased here. */
  reserve(callbackId: string, n: number): void {
    this.reserved.set(callbackId, (this.reserved.get(callbackId) ?? 0) + n);
    this.reservedTotal += n;
  }

  /** Takes back `n` promised slots (adopted, or ingest's transaction failed). */
  unreserve(callbackId: string, n: number): void {
    const left = (this.reserved.get(callbackId) ?? 0) - n;
    if (left > 0) this.reserved.set(callbackId, left);
    else this.reserved.delete(callbackId);
    this.reservedTotal -= n;
  }

  /** The in-flight cap of a callback right now: the configured one, narrowed by the gate. */
  capFor(callbackId: string): number {
    return Math.min(this.opts.callbackConcurrency, this.gate.limit(callbackId, this.clock.now()));
  }

  /**
   * How many deliveries of a callback the worker may hold: its cap in flight plus, while its latest
   * attempt succeeded, a read-ahead (a new, slow or failing receiver gets no more than it can use).
   */
  targetFor(callbackId: string): number {
    const cap = this.capFor(callbackId);
    return this.flowing.has(callbackId) ? cap + Math.min(PREFETCH_MAX, cap * 8) : cap;
  }

  /** Deliveries a lane holds: in flight, awaiting their record with the slot, waiting to be sent, or promised. */
  holding(callbackId: string): number {
    const lane = this.lanes.get(callbackId);
    return (lane ? lane.active + lane.queue.length : 0) + (this.reserved.get(callbackId) ?? 0);
  }

  /**
   * What claims may still add. `slots`: in-flight slots not yet spoken for, neither taken nor
   * promised to a claimed delivery waiting for a free slot of its callback. `ahead`: room left in the
   * read-ahead, the claimed deliveries beyond their callbacks' free slots (at most READ_AHEAD_TOTAL).
   * `freed`: slots the current cycle frees (failed attempts being recorded).
   */
  room(freed: number): { slots: number; ahead: number } {
    let promised = 0;
    let ahead = 0;
    for (const [id, lane] of this.lanes) {
      const open = Math.max(0, this.capFor(id) - lane.active);
      const waiting = lane.queue.length;
      promised += Math.min(waiting, open);
      ahead += Math.max(0, waiting - open);
    }
    return { slots: this.opts.concurrency - (this.sending - freed) - promised - this.reservedTotal, ahead: READ_AHEAD_TOTAL - ahead };
  }
}
