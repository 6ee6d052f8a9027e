import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../src/delivery/circuit.js';
import { periodEnd, periodStart } from '../../src/notify/reports.js';

describe('CircuitBreaker', () => {
  const opts = { failures: 3, cooldownMs: 1000, maxCooldownMs: 3500 };

  it('stays closed below the failure run and resets the run on a success', () => {
    const b = new CircuitBreaker(opts);
    b.failure('cb', 0);
    b.failure('cb', 0);
    b.success('cb');
    b.failure('cb', 0);
    b.failure('cb', 0);
    expect(b.limit('cb', 0)).toBe(Infinity);
    expect(b.closed(0)).toEqual([]);
  });

  it('opens on the third consecutive failure, goes half-open after the cool-down, doubles it per failed probe up to the cap', () => {
    const b = new CircuitBreaker(opts);
    for (let i = 0; i < 3; i++) b.failure('cb', 100);
    expect(b.limit('cb', 100)).toBe(0);
    expect(b.closed(1099)).toEqual(['cb']);
    expect(b.limit('cb', 1100)).toBe(1);
    // A failure reported while open (a request in flight when it opened) changes nothing.
    b.failure('cb', 500);
    expect(b.openUntil('cb')).toBe(1100);
    b.failure('cb', 1100);
    expect(b.openUntil('cb')).toBe(3100);
    b.failure('cb', 3100);
    expect(b.openUntil('cb')).toBe(3100 + 3500);
    b.success('cb');
    expect(b.limit('cb', 3100)).toBe(Infinity);
    expect(b.openUntil('cb')).toBeNull();
  });

  it('keeps callbacks apart', () => {
    const b = new CircuitBreaker(opts);
    for (let i = 0; i < 3; i++) b.failure('a', 0);
    expect(b.limit('a', 0)).toBe(0);
    expect(b.limit('b', 0)).toBe(Infinity);
  });
});

describe('report periods (UTC)', () => {
  const t = Date.UTC(2026, 0, 14, 15, 30); // a Wednesday
  it('daily, weekly (from Monday) and monthly starts and ends', () => {
    expect(periodStart('daily', t)).toBe(Date.UTC(2026, 0, 14));
    expect(periodEnd('daily', Date.UTC(2026, 0, 14))).toBe(Date.UTC(2026, 0, 15));
    expect(periodStart('weekly', t)).toBe(Date.UTC(2026, 0, 12));
    expect(periodEnd('weekly', Date.UTC(2026, 0, 12))).toBe(Date.UTC(2026, 0, 19));
    expect(periodStart('monthly', t)).toBe(Date.UTC(2026, 0, 1));
    expect(periodEnd('monthly', Date.UTC(2026, 11, 1))).toBe(Date.UTC(2027, 0, 1));
    expect(periodStart('weekly', Date.UTC(2026, 0, 18, 23))).toBe(Date.UTC(2026, 0, 12)); // Sunday
  });
});
