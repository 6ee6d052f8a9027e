import { describe, expect, it } from 'vitest';
import { RETRY_AFTER_MAX_MS, RETRY_AFTER_MIN_MS } from '../../src/delivery/backoff.js';
import type { Outcome } from '../../src/delivery/outcome.js';
import { INTERNAL_ERROR_RETRY_MS, attemptTransition, internalErrorTransition, settledTransition } from '../../src/delivery/transitions.js';

const NOW = 1_700_000_000_000;
const SCHEDULE = [0, 5_000, 300_000];
const mid = () => 0.5; // no jitter
const retryable = (retryAfterMs: number | null = null): Outcome => ({ kind: 'retryable', status: 503, reason: 'http_503', retryAfterMs });

describe('attemptTransition (the retry policy)', () => {
  it('a success is delivered, counting the attempt, with no error', () => {
    expect(attemptTransition({ id: 1, attempts: 2 }, { kind: 'success', status: 204 }, 204, NOW, SCHEDULE, mid)).toEqual({
      id: 1,
      state: 'delivered',
      attempts: 3,
      nextAttemptAt: NOW,
      lastStatus: 204,
      lastError: null,
    });
  });

  it('a retryable failure is pending until the next delay of the schedule, while it lasts', () => {
    expect(attemptTransition({ id: 2, attempts: 0 }, retryable(), 503, NOW, SCHEDULE, mid)).toEqual({
      id: 2,
      state: 'pending',
      attempts: 1,
      nextAttemptAt: NOW + 5_000,
      lastStatus: 503,
      lastError: 'http_503',
    });
    expect(attemptTransition({ id: 2, attempts: 1 }, retryable(), 503, NOW, SCHEDULE, mid).nextAttemptAt).toBe(NOW + 300_000);
    // The schedule's length is the number of attempts: the third failure is final.
    expect(attemptTransition({ id: 2, attempts: 2 }, retryable(), 503, NOW, SCHEDULE, mid)).toEqual({
      id: 2,
      state: 'failed',
      attempts: 3,
      nextAttemptAt: NOW,
      lastStatus: 503,
      lastError: 'http_503',
    });
    // [0]: one attempt, no retries.
    expect(attemptTransition({ id: 2, attempts: 0 }, retryable(), 503, NOW, [0], mid).state).toBe('failed');
  });

  it('jitters the delay by ±20 %, and takes Retry-After (clamped) instead, without jitter', () => {
    expect(attemptTransition({ id: 3, attempts: 0 }, retryable(), 503, NOW, SCHEDULE, () => 0).nextAttemptAt).toBe(NOW + 4_000);
    expect(attemptTransition({ id: 3, attempts: 0 }, retryable(), 503, NOW, SCHEDULE, () => 1).nextAttemptAt).toBe(NOW + 6_000);
    expect(attemptTransition({ id: 3, attempts: 0 }, retryable(42_000), 503, NOW, SCHEDULE, () => 0).nextAttemptAt).toBe(NOW + 42_000);
    expect(attemptTransition({ id: 3, attempts: 0 }, retryable(10), 503, NOW, SCHEDULE, mid).nextAttemptAt).toBe(NOW + RETRY_AFTER_MIN_MS);
    expect(attemptTransition({ id: 3, attempts: 0 }, retryable(9e9), 503, NOW, SCHEDULE, mid).nextAttemptAt).toBe(NOW + RETRY_AFTER_MAX_MS);
    // Retry-After does not extend a schedule that is used up.
    expect(attemptTransition({ id: 3, attempts: 2 }, retryable(42_000), 503, NOW, SCHEDULE, mid).state).toBe('failed');
  });

  it('a permanent failure is final at once, whatever the schedule says', () => {
    const gone: Outcome = { kind: 'permanent', status: 410, reason: 'gone', disableCallback: true };
    expect(attemptTransition({ id: 4, attempts: 0 }, gone, 410, NOW, SCHEDULE, mid)).toEqual({
      id: 4,
      state: 'failed',
      attempts: 1,
      nextAttemptAt: NOW,
      lastStatus: 410,
      lastError: 'gone',
    });
    const blocked: Outcome = { kind: 'permanent', status: null, reason: 'blocked_destination', disableCallback: false };
    expect(attemptTransition({ id: 4, attempts: 0 }, blocked, null, NOW, SCHEDULE, mid)).toMatchObject({ state: 'failed', lastStatus: null, lastError: 'blocked_destination' });
  });

  it('a network error without a status is retried like any retryable failure', () => {
    const reset: Outcome = { kind: 'retryable', status: null, reason: 'connection_reset', retryAfterMs: null };
    expect(attemptTransition({ id: 5, attempts: 0 }, reset, null, NOW, SCHEDULE, mid)).toMatchObject({ state: 'pending', lastStatus: null, lastError: 'connection_reset', nextAttemptAt: NOW + 5_000 });
  });
});

describe('transitions without an attempt', () => {
  it('settledTransition keeps the attempt count', () => {
    expect(settledTransition({ id: 6, attempts: 2 }, 'held', null, 'callback_disabled', NOW)).toEqual({
      id: 6,
      state: 'held',
      attempts: 2,
      nextAttemptAt: NOW,
      lastStatus: null,
      lastError: 'callback_disabled',
    });
    expect(settledTransition({ id: 6, attempts: 0 }, 'failed', null, 'callback_deleted', NOW).state).toBe('failed');
  });

  it('internalErrorTransition is due again shortly, the attempt not counted', () => {
    expect(internalErrorTransition({ id: 7, attempts: 1 }, NOW)).toEqual({
      id: 7,
      state: 'pending',
      attempts: 1,
      nextAttemptAt: NOW + INTERNAL_ERROR_RETRY_MS,
      lastStatus: null,
      lastError: 'internal_error',
    });
  });
});
