/** Bounds on a receiver's `Retry-After`: not sooner than 1 s, not later than 1 h. */
export const RETRY_AFTER_MIN_MS = 1_000;
export const RETRY_AFTER_MAX_MS = 3_600_000;
export const JITTER = 0.2;

/**
 * When the next attempt is due, in milliseconds from now, after `attemptsMade` attempts have failed;
 * null when the schedule is used up. `schedule[k]` is the delay before attempt k+1, so the schedule's
 * length is the number of attempts. Each delay gets ±20 % jitter so failed bursts do not retry in
 * lock-step. A `Retry-After` from the receiver (429/503) replaces the scheduled delay, clamped to
 * [1 s, 1 h], without jitter: the receiver said when.
 *
 * @example nextRetryDelay(1, [0, 5000, 300000], null, () => 0.5) // 5000
 */
export function nextRetryDelay(
  attemptsMade: number,
  schedule: readonly number[],
  retryAfterMs: number | null,
  random: () => number = Math.random,
): number | null {
  if (attemptsMade >= schedule.length) return null;
  if (retryAfterMs !== null) return Math.min(RETRY_AFTER_MAX_MS, Math.max(RETRY_AFTER_MIN_MS, retryAfterMs));
  const base = schedule[attemptsMade]!;
  return Math.round(base * (1 - JITTER + 2 * JITTER * random()));
}

/** `Retry-After` as seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number): number | null {
  if (value === undefined || value.trim() === '') return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // Only an IMF-fixdate such as "Sun, 06 Nov 1994 08:49:37 GMT"; anything else is ignored.
  if (!/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(trimmed)) return null;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
