/**
 * A token bucket per api user: `rate` requests per second on average, bursts up to one second's
 * worth. `rate` 0 means unlimited.
 */
export class Throttle {
  private buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly rate: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes `cost` tokens; returns 0 when allowed, or the milliseconds until it would be. */
  take(key: string, cost = 1): number {
    if (this.rate <= 0) return 0;
    const now = this.now();
    const capacity = Math.max(this.rate, cost);
    const b = this.buckets.get(key) ?? { tokens: capacity, at: now };
    b.tokens = Math.min(capacity, b.tokens + ((now - b.at) / 1000) * this.rate);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= cost) {
      b.tokens -= cost;
      return 0;
    }
    return Math.ceil(((cost - b.tokens) / this.rate) * 1000);
  }
}
