import { describe, expect, it } from 'vitest';
import { Throttle } from '../../src/api/throttle.js';
import { FakeClock } from '../../src/lib/clock.js';

describe('throttle', () => {
  it('allows a burst of one second, then refills at the rate', () => {
    const clock = new FakeClock();
    const t = new Throttle(10, () => clock.now());
    for (let i = 0; i < 10; i++) expect(t.take('a')).toBe(0);
    expect(t.take('a')).toBe(100);
    expect(t.take('b')).toBe(0); // buckets are per api user
    clock.advance(100);
    expect(t.take('a')).toBe(0);
    expect(t.take('a')).toBeGreaterThan(0);
  });

  it('is unlimited at rate 0', () => {
    const t = new Throttle(0);
    for (let i = 0; i < 1000; i++) expect(t.take('a')).toBe(0);
  });
});
