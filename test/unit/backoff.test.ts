import { describe, expect, it } from 'vitest';
import { JITTER, RETRY_AFTER_MAX_MS, RETRY_AFTER_MIN_MS, nextRetryDelay, parseRetryAfter } from '../../src/delivery/backoff.js';
import { classifyResult } from '../../src/delivery/outcome.js';
import type { ErrorClass, SendResult } from '../../src/delivery/http.js';

const SCHEDULE = [0, 5_000, 300_000, 1_800_000];
const mid = () => 0.5;

describe('nextRetryDelay', () => {
  it('follows the schedule: entry k is the delay after the k-th failed attempt', () => {
    expect(nextRetryDelay(1, SCHEDULE, null, mid)).toBe(5_000);
    expect(nextRetryDelay(2, SCHEDULE, null, mid)).toBe(300_000);
    expect(nextRetryDelay(3, SCHEDULE, null, mid)).toBe(1_800_000);
  });

  it('returns null once the schedule is used up (its length is the number of attempts)', () => {
    expect(nextRetryDelay(4, SCHEDULE, null, mid)).toBeNull();
    expect(nextRetryDelay(5, SCHEDULE, null, mid)).toBeNull();
    expect(nextRetryDelay(1, [0], null, mid)).toBeNull();
    // Even a receiver's Retry-After does not add an attempt.
    expect(nextRetryDelay(4, SCHEDULE, 2_000, mid)).toBeNull();
  });

  it('adds jitter within ±20 %', () => {
    expect(JITTER).toBe(0.2);
    expect(nextRetryDelay(1, SCHEDULE, null, () => 0)).toBe(4_000);
    expect(nextRetryDelay(1, SCHEDULE, null, () => 0.999999)).toBeCloseTo(6_000, -1);
    let seed = 42;
    const lcg = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      const d = nextRetryDelay(2, SCHEDULE, null, lcg)!;
      expect(d).toBeGreaterThanOrEqual(240_000);
      expect(d).toBeLessThanOrEqual(360_000);
      seen.add(d);
    }
    // Actually spread, not a constant.
    expect(seen.size).toBeGreaterThan(100);
    // With Math.random as well.
    for (let i = 0; i < 200; i++) {
      const d = nextRetryDelay(1, SCHEDULE, null)!;
      expect(d).toBeGreaterThanOrEqual(4_000);
      expect(d).toBeLessThanOrEqual(6_000);
    }
    // A zero delay stays zero.
    expect(nextRetryDelay(0, SCHEDULE, null, () => 0.9)).toBe(0);
  });

  it("uses the receiver's Retry-After instead, without jitter, clamped to [1 s, 1 h]", () => {
    expect(RETRY_AFTER_MIN_MS).toBe(1_000);
    expect(RETRY_AFTER_MAX_MS).toBe(3_600_000);
    expect(nextRetryDelay(1, SCHEDULE, 2_000, () => 0)).toBe(2_000);
    expect(nextRetryDelay(1, SCHEDULE, 2_000, () => 0.99)).toBe(2_000);
    expect(nextRetryDelay(1, SCHEDULE, 0, mid)).toBe(1_000);
    expect(nextRetryDelay(1, SCHEDULE, 10, mid)).toBe(1_000);
    expect(nextRetryDelay(1, SCHEDULE, 1_000, mid)).toBe(1_000);
    expect(nextRetryDelay(1, SCHEDULE, 3_600_000, mid)).toBe(3_600_000);
    expect(nextRetryDelay(1, SCHEDULE, 86_400_000, mid)).toBe(3_600_000);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');

  it('reads delta-seconds', () => {
    expect(parseRetryAfter('1', now)).toBe(1_000);
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 30 ', now)).toBe(30_000);
    expect(parseRetryAfter('0', now)).toBe(0);
  });

  it('reads an HTTP date, relative to now, never negative', () => {
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 01 Jan 2025 01:00:00 GMT', now)).toBe(3_600_000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:59:00 GMT', now)).toBe(0);
  });

  it('returns null when absent or unreadable', () => {
    expect(parseRetryAfter(undefined, now)).toBeNull();
    expect(parseRetryAfter('', now)).toBeNull();
    expect(parseRetryAfter('   ', now)).toBeNull();
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter('in a minute', now)).toBeNull();
    // Lenient date parsing would read these as times in the past (a retry at once): they are ignored.
    expect(parseRetryAfter('-5', now)).toBeNull();
    expect(parseRetryAfter('1.5', now)).toBeNull();
    expect(parseRetryAfter('2025-01-01', now)).toBeNull();
  });
});

describe('classifyResult', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  const response = (status: number, headers: Record<string, string> = {}): SendResult => ({
    kind: 'response',
    response: { status, headers, body: '', bodyTruncated: false },
    durationMs: 5,
  });
  const error = (errorClass: ErrorClass): SendResult => ({ kind: 'error', errorClass, message: 'x', durationMs: 5 });

  it('2xx is success', () => {
    for (const s of [200, 201, 202, 204, 299]) expect(classifyResult(response(s), now)).toEqual({ kind: 'success', status: s });
  });

  it('410 is permanent and disables the callback', () => {
    expect(classifyResult(response(410), now)).toEqual({ kind: 'permanent', status: 410, reason: 'gone', disableCallback: true });
  });

  it('3xx is retryable as redirect_not_followed', () => {
    for (const s of [301, 302, 303, 307, 308]) {
      expect(classifyResult(response(s, { location: 'http://elsewhere/' }), now)).toEqual({
        kind: 'retryable',
        status: s,
        reason: 'redirect_not_followed',
        retryAfterMs: null,
      });
    }
  });

  it('4xx and 5xx are retryable; 401/403 as auth_rejected', () => {
    expect(classifyResult(response(500), now)).toEqual({ kind: 'retryable', status: 500, reason: 'http_500', retryAfterMs: null });
    expect(classifyResult(response(404), now)).toMatchObject({ kind: 'retryable', reason: 'http_404' });
    expect(classifyResult(response(400), now)).toMatchObject({ kind: 'retryable', reason: 'http_400' });
    expect(classifyResult(response(401), now)).toMatchObject({ kind: 'retryable', status: 401, reason: 'auth_rejected' });
    expect(classifyResult(response(403), now)).toMatchObject({ kind: 'retryable', status: 403, reason: 'auth_rejected' });
  });

  it('takes Retry-After on 429 and 503 only (seconds or HTTP date)', () => {
    expect(classifyResult(response(429, { 'retry-after': '7' }), now)).toEqual({ kind: 'retryable', status: 429, reason: 'http_429', retryAfterMs: 7_000 });
    expect(classifyResult(response(503, { 'retry-after': 'Wed, 01 Jan 2025 00:01:00 GMT' }), now)).toMatchObject({ retryAfterMs: 60_000 });
    expect(classifyResult(response(429), now)).toMatchObject({ retryAfterMs: null });
    expect(classifyResult(response(429, { 'retry-after': 'later' }), now)).toMatchObject({ retryAfterMs: null });
    expect(classifyResult(response(500, { 'retry-after': '7' }), now)).toMatchObject({ retryAfterMs: null });
    expect(classifyResult(response(502, { 'retry-after': '7' }), now)).toMatchObject({ retryAfterMs: null });
  });

  it('transport errors are retryable, except a blocked destination or an invalid URL', () => {
    for (const c of ['dns', 'connect_timeout', 'refused', 'reset', 'tls', 'response_timeout', 'network'] as const) {
      expect(classifyResult(error(c), now)).toEqual({ kind: 'retryable', status: null, reason: c, retryAfterMs: null });
    }
    for (const c of ['blocked_destination', 'invalid_url'] as const) {
      expect(classifyResult(error(c), now)).toEqual({ kind: 'permanent', status: null, reason: c, disableCallback: false });
    }
  });
});
