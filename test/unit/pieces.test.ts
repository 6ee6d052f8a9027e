import { describe, expect, it } from 'vitest';
import { inLists, powerOfTwoPieces } from '../../src/store/pieces.js';

describe('powerOfTwoPieces', () => {
  it('splits a count into powers of two, largest first, that add up to it', () => {
    expect(powerOfTwoPieces(165)).toEqual([128, 32, 4, 1]);
    expect(powerOfTwoPieces(1)).toEqual([1]);
    expect(powerOfTwoPieces(0)).toEqual([]);
    for (let n = 0; n <= 1500; n++) {
      const p = powerOfTwoPieces(n, 256);
      expect(p.reduce((a, b) => a + b, 0)).toBe(n);
      for (const x of p) expect(Number.isInteger(Math.log2(x)) && x <= 256).toBe(true);
    }
  });

  it('never exceeds the maximum, which is rounded down to a power of two', () => {
    expect(powerOfTwoPieces(700, 300)).toEqual([256, 256, 128, 32, 16, 8, 4]);
    expect(powerOfTwoPieces(5, 1)).toEqual([1, 1, 1, 1, 1]);
  });

  it('uses few distinct sizes over many batch sizes (the point: statement texts repeat)', () => {
    const sizes = new Set<number>();
    for (let n = 1; n <= 5000; n++) for (const x of powerOfTwoPieces(n)) sizes.add(x);
    expect([...sizes].sort((a, b) => a - b)).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256]);
  });
});

describe('inLists', () => {
  it('pads each list to a power of two with its last item, and drops repeats first', () => {
    expect(inLists([1, 2, 3])).toEqual([[1, 2, 3, 3]]);
    expect(inLists(['a', 'b', 'a', 'c', 'd', 'e'])).toEqual([['a', 'b', 'c', 'd', 'e', 'e', 'e', 'e']]);
    expect(inLists([7])).toEqual([[7]]);
    expect(inLists([])).toEqual([]);
  });

  it('splits long lists at the maximum and keeps every item exactly once across pieces', () => {
    const items = Array.from({ length: 1000 }, (_, i) => i);
    const lists = inLists(items, 256);
    expect(lists.map((l) => l.length)).toEqual([256, 256, 256, 256]);
    const seen = new Set(lists.flat());
    expect(seen.size).toBe(1000);
    expect(lists.slice(0, 3).flat()).toEqual(items.slice(0, 768));
  });
});
