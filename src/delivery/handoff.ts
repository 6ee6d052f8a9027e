import type { Clock } from '../lib/clock.js';
import type { HandOff } from '../ingest/ingest.js';
import type { CallbackRegistry } from '../routing/registry.js';
import type { Lanes } from './lanes.js';
import type { Job } from './worker.js';

/** What the hand-off needs of its worker. */
export interface HandOffHost {
  readonly owner: string;
  readonly leaseMs: number;
  readonly lanes: Lanes<Job>;
  readonly registry: CallbackRegistry;
  readonly clock: Clock;
  isStopped(): boolean;
  /** The earliest time the callback may have a due delivery, as the worker knows it. */
  dueAt(callbackId: string): number | undefined;
  /** Queues deliveries leased to the worker and starts what may start. */
  accept(jobs: readonly Job[]): void;
  /** Gives leases back, due at once (the worker is stopping). */
  handBack(jobs: readonly Job[]): void;
}

/**
 * A worker's side of ingest's hand-off: new deliveries it has free slots for are stored already leased
 * to it and given over with their events after the commit, so they go out at once, with no claim and
 * no read of the event.
 */
export class WorkerHandOff implements HandOff {
  readonly owner: string;
  readonly leaseMs: number;

  constructor(private readonly host: HandOffHost) {
    this.owner = host.owner;
    this.leaseMs = host.leaseMs;
  }

  /**
   * How many of `wanted` new deliveries of a callback the worker would send at once. Only for a
   * callback with free slots, nothing claimed waiting and nothing known due (a backlog keeps its
   * order through the queue). What is granted counts as held until adopt() or release().
   */
  reserve(callbackId: string, wanted: number): number {
    const { host } = this;
    const lanes = host.lanes;
    if (host.isStopped() || wanted <= 0 || !host.registry.get(callbackId)?.enabled) return 0;
    if ((lanes.get(callbackId)?.queue.length ?? 0) > 0) return 0;
    const at = host.dueAt(callbackId);
    if (at !== undefined && at <= host.clock.now()) return 0;
    const granted = Math.max(0, Math.min(wanted, lanes.capFor(callbackId) - lanes.holding(callbackId), lanes.room(0).slots));
    if (granted > 0) lanes.reserve(callbackId, granted);
    return granted;
  }

  /** Gives back reservations ingest did not use (its transaction failed). */
  release(callbackId: string, n: number): void {
    this.host.lanes.unreserve(callbackId, n);
  }

  /** Deliveries ingest committed leased to the worker (as reserved): they go out now. */
  adopt(jobs: readonly Job[]): void {
    for (const job of jobs) this.release(job.claim.callback_id, 1);
    // Shutting down: hand them back, due at once, as with any unsent claim.
    if (this.host.isStopped()) this.host.handBack(jobs);
    else this.host.accept(jobs);
  }
}
