import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/lib/duration.js';

describe('formatDuration', () => {
  it('writes milliseconds in the largest whole unit, as retry schedules are sent', () => {
    expect([0, 250, 1000, 90_000, 300_000, 3_600_000, 5_400_000, 86_400_000, 36_000_000].map(formatDuration)).toEqual([
      '0s',
      '250ms',
      '1s',
      '90s',
      '5m',
      '1h',
      '90m',
      '1d',
      '10h',
    ]);
  });

  it('is read back by parseDuration', () => {
    for (const ms of [0, 1, 999, 1500, 60_000, 61_000, 7_200_000, 172_800_000]) expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
});
