import type { ClaimedDelivery, DeliveryTransition } from '../store/deliveries.js';
import type { DeliveryState } from '../store/schema.js';
import { nextRetryDelay } from './backoff.js';
import type { Outcome } from './outcome.js';

/** How long a delivery waits after an attempt that crashed on our side (a bug, not the receiver). */
export const INTERNAL_ERROR_RETRY_MS = 5000;

/**
 * A delivery's next state after an attempt (the retry policy): delivered on success; after a
 * retryable failure, pending until the schedule's next delay (or the receiver's `Retry-After`) while
 * the schedule lasts, else failed; failed at once after a permanent failure. Pure: the caller gives
 * the time, the schedule and the source of jitter.
 *
 * @example attemptTransition({ id: 7, attempts: 0 }, { kind: 'retryable', status: 503, reason: 'http_503', retryAfterMs: null }, 503, 1000, [0, 5000], () => 0.5)
 * // { id: 7, state: 'pending', attempts: 1, nextAttemptAt: 6000, lastStatus: 503, lastError: 'http_503' }
 */
export function attemptTransition(
  claim: Pick<ClaimedDelivery, 'id' | 'attempts'>,
  outcome: Outcome,
  status: number | null,
  now: number,
  schedule: readonly number[],
  random: () => number,
): DeliveryTransition {
  const attempts = claim.attempts + 1;
  if (outcome.kind === 'success') return { id: claim.id, state: 'delivered', attempts, nextAttemptAt: now, lastStatus: status, lastError: null };
  const delay = outcome.kind === 'retryable' ? nextRetryDelay(attempts, schedule, outcome.retryAfterMs, random) : null;
  return delay === null
    ? { id: claim.id, state: 'failed', attempts, nextAttemptAt: now, lastStatus: status, lastError: outcome.reason }
    : { id: claim.id, state: 'pending', attempts, nextAttemptAt: now + delay, lastStatus: status, lastError: outcome.reason };
}

/**
 * A delivery's next state without an attempt (no request was sent: its callback is gone or disabled,
 * its event cannot be rendered): the attempt count is unchanged.
 */
export function settledTransition(
  claim: Pick<ClaimedDelivery, 'id' | 'attempts'>,
  state: DeliveryState,
  status: number | null,
  error: string,
  now: number,
): DeliveryTransition {
  return { id: claim.id, state, attempts: claim.attempts, nextAttemptAt: now, lastStatus: status, lastError: error };
}

/** After an attempt that crashed on our side: due again shortly, the attempt not counted. */
export function internalErrorTransition(claim: Pick<ClaimedDelivery, 'id' | 'attempts'>, now: number): DeliveryTransition {
  return { ...settledTransition(claim, 'pending', null, 'internal_error', now), nextAttemptAt: now + INTERNAL_ERROR_RETRY_MS };
}
