import type { Logger } from 'pino';
import type { Clock } from '../lib/clock.js';
import type { Store } from '../store/db.js';
import { extendLeases, releaseLeases } from '../store/deliveries.js';

/**
 * The leases a worker holds (deliveries queued, sending, or awaiting their record), with when each was
 * last set as seen here (when it was queued, or last renewed): renewed by a heartbeat while held,
 * handed back (due at once) when the worker stops without sending them.
 */
export class HeldLeases {
  private readonly held = new Map<number, number>();
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: { store: Store; clock: Clock; log: Logger },
    private readonly owner: string,
    private readonly leaseMs: number,
  ) {}

  get size(): number {
    return this.held.size;
  }

  hold(deliveryId: number, now: number): void {
    this.held.set(deliveryId, now);
  }

  drop(deliveryId: number): void {
    this.held.delete(deliveryId);
  }

  /** Renews every third of a lease (see renew). */
  startHeartbeat(): void {
    this.heartbeat = setInterval(() => void this.renew(), Math.max(100, Math.floor(this.leaseMs / 3)));
    this.heartbeat.unref();
  }

  stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
  }

  /**
   * Renews the leases held for more than a quarter of a lease (since claimed, or last renewed). A
   * busy worker sends what it claims within moments, so it mostly renews nothing: renewing every
   * lease it holds would rewrite hundreds of rows every heartbeat, waiting on the cycle's row locks.
   * Safe while a claim reaches its lane within a quarter of a lease of being made.
   */
  async renew(): Promise<void> {
    const { store, clock, log } = this.deps;
    const now = clock.now();
    const ids: number[] = [];
    for (const [id, since] of this.held) if (now - since >= this.leaseMs / 4) ids.push(id);
    if (ids.length === 0) return;
    try {
      await store.relaxed((trx) => extendLeases(trx, store.caps, this.owner, ids, now + this.leaseMs));
      for (const id of ids) if (this.held.has(id)) this.held.set(id, now);
    } catch (err) {
      log.warn({ err }, 'renewing leases failed');
    }
  }

  /** Hands these leases back, due at once (deliveries claimed but not started). */
  async handBack(ids: readonly number[]): Promise<void> {
    for (const id of ids) this.held.delete(id);
    if (ids.length > 0) await releaseLeases(this.deps.store.db, this.deps.store.caps, this.owner, ids, this.deps.clock.now());
  }

  /** Hands back every lease still held (attempts that did not finish by the shutdown deadline). */
  async handBackAll(): Promise<void> {
    if (this.held.size === 0) return;
    await releaseLeases(this.deps.store.db, this.deps.store.caps, this.owner, [...this.held.keys()], this.deps.clock.now());
    this.held.clear();
  }
}
