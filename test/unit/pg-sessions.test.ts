import { describe, expect, it } from 'vitest';
import { lockScope, reconnectDelay } from '../../src/store/pg-sessions.js';

describe('reconnecting to PostgreSQL', () => {
  it('waits 100 ms, then twice as long after each failure, up to 5 s, each ±20 %', () => {
    expect([0, 1, 2, 3, 5, 6, 20, 1000].map((n) => reconnectDelay(n, () => 0.5))).toEqual([100, 200, 400, 800, 3200, 5000, 5000, 5000]);
    expect(reconnectDelay(0, () => 0)).toBe(80);
    expect(reconnectDelay(0, () => 1)).toBe(120);
    expect(reconnectDelay(30, () => 1)).toBe(6000);
  });
});

describe('advisory lock scope of a schema', () => {
  it('is a stable signed 32-bit integer, different for different schemas', () => {
    const scopes = ['public', 'tenant_a', 'tenant_b', ''].map(lockScope);
    for (const s of scopes) {
      expect(Number.isInteger(s)).toBe(true);
      expect(s).toBeGreaterThanOrEqual(-(2 ** 31));
      expect(s).toBeLessThan(2 ** 31);
    }
    expect(new Set(scopes).size).toBe(4);
    // FNV-1a of "public": the same key in every process and every release.
    expect(lockScope('public')).toBe(-862940288);
    expect(lockScope('')).toBe(0x811c9dc5 | 0);
  });
});
