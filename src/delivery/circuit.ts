import type { PipelineBus } from '../pipeline/bus.js';
import type { CallbackGate } from './gate.js';

export interface CircuitOptions {
  /** Consecutive failures that open the circuit. */
  failures: number;
  /** First cool-down; each failed probe doubles it, up to `maxCooldownMs`. */
  cooldownMs: number;
  maxCooldownMs: number;
}

interface State {
  /** Consecutive failures since the last success. */
  failures: number;
  /** Open until then; null: closed. At or after it: half-open (one probe at a time). */
  openUntil: number | null;
  /** How many probes failed in a row: the cool-down grows with it. */
  level: number;
}

/**
 * The per-callback circuit breaker, as a gate the worker consults. After `failures` consecutive
 * failures the callback gets nothing for a cool-down; its deliveries stay queued without being
 * charged an attempt. Then one probe at a time (half-open): a success closes the circuit, a failure
 * opens it again for twice as long. State is per process: each worker protects its own share.
 */
export class CircuitBreaker implements CallbackGate {
  private states = new Map<string, State>();

  constructor(private readonly opts: CircuitOptions) {}

  /** Feeds the breaker from the worker's outcome events; returns the unsubscribe function. */
  attach(bus: PipelineBus, now: () => number): () => void {
    const offs = [
      bus.on('delivery.attempted', (info) => {
        if (info.outcome.kind === 'success') this.success(info.callbackId);
        else this.failure(info.callbackId, now());
      }),
      bus.on('callback.enabled', ({ callbackId }) => this.reset(callbackId)),
    ];
    return () => offs.forEach((off) => off());
  }

  limit(callbackId: string, now: number): number {
    const s = this.states.get(callbackId);
    if (!s || s.openUntil === null) return Infinity;
    return now < s.openUntil ? 0 : 1;
  }

  closed(now: number): string[] {
    const out: string[] = [];
    for (const [id, s] of this.states) if (s.openUntil !== null && now < s.openUntil) out.push(id);
    return out;
  }

  /** Open until when (epoch ms), or null when closed; for the API and tests. */
  openUntil(callbackId: string): number | null {
    return this.states.get(callbackId)?.openUntil ?? null;
  }

  success(callbackId: string): void {
    this.states.delete(callbackId);
  }

  failure(callbackId: string, now: number): void {
    let s = this.states.get(callbackId);
    if (!s) {
      s = { failures: 0, openUntil: null, level: 0 };
      this.states.set(callbackId, s);
    }
    s.failures++;
    if (s.openUntil === null) {
      if (s.failures >= this.opts.failures) s.openUntil = now + this.cooldown(0);
    } else if (now >= s.openUntil) {
      // The half-open probe failed: wait longer this time.
      s.level++;
      s.openUntil = now + this.cooldown(s.level);
    }
    // A failure while open is a request that was in flight when it opened: nothing changes.
  }

  reset(callbackId: string): void {
    this.states.delete(callbackId);
  }

  private cooldown(level: number): number {
    return Math.min(this.opts.cooldownMs * 2 ** Math.min(level, 30), this.opts.maxCooldownMs);
  }
}
