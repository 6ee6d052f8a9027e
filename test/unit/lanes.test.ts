import { describe, expect, it } from 'vitest';
import { Lanes, PREFETCH_MAX, READ_AHEAD_TOTAL } from '../../src/delivery/lanes.js';
import { OPEN_GATE, type CallbackGate } from '../../src/delivery/gate.js';
import { FakeClock } from '../../src/lib/clock.js';

const make = (gate: CallbackGate = OPEN_GATE) => new Lanes<number>({ concurrency: 10, callbackConcurrency: 4 }, gate, new FakeClock(0));

describe('Lanes (the worker lane accounting)', () => {
  it('counts what a callback holds: in flight, queued and promised to the hand-off', () => {
    const lanes = make();
    const a = lanes.lane('a');
    a.queue.push(1, 2, 3);
    lanes.take(a, 1);
    a.queue.shift();
    lanes.reserve('a', 2);
    expect(lanes.holding('a')).toBe(1 + 2 + 2);
    expect(lanes.sending).toBe(1);
    lanes.unreserve('a', 2);
    lanes.releaseSlot('a');
    expect(lanes.holding('a')).toBe(2);
    expect(lanes.sending).toBe(0);
    expect(lanes.holding('unknown')).toBe(0);
  });

  it('gives a read-ahead only to a flowing callback, and the gate narrows the cap', () => {
    let limit = Infinity;
    const lanes = make({ limit: () => limit });
    expect(lanes.capFor('a')).toBe(4);
    expect(lanes.targetFor('a')).toBe(4);
    lanes.setFlowing('a', true);
    expect(lanes.targetFor('a')).toBe(4 + Math.min(PREFETCH_MAX, 4 * 8));
    lanes.setFlowing('a', false);
    expect(lanes.targetFor('a')).toBe(4);
    limit = 1; // half-open circuit: one probe
    expect(lanes.capFor('a')).toBe(1);
    limit = 0;
    expect(lanes.targetFor('a')).toBe(0);
  });

  it('room: free slots net of those taken, promised to queued deliveries and reserved; read-ahead beyond', () => {
    const lanes = make();
    expect(lanes.room(0)).toEqual({ slots: 10, ahead: READ_AHEAD_TOTAL });
    const a = lanes.lane('a');
    for (let i = 0; i < 7; i++) a.queue.push(i);
    lanes.take(a, 2);
    a.queue.splice(0, 2);
    // a: 2 in flight, 5 queued of which 2 fit its cap of 4 (promised), 3 beyond (read-ahead).
    expect(lanes.room(0)).toEqual({ slots: 10 - 2 - 2, ahead: READ_AHEAD_TOTAL - 3 });
    lanes.reserve('b', 3);
    expect(lanes.room(0).slots).toBe(10 - 2 - 2 - 3);
    // Slots a cycle is freeing count as free.
    expect(lanes.room(1).slots).toBe(10 - 1 - 2 - 3);
  });

  it('forgets a lane only when it is empty', () => {
    const lanes = make();
    const a = lanes.lane('a');
    a.queue.push(1);
    lanes.dropIfEmpty('a', a);
    expect(lanes.get('a')).toBe(a);
    a.queue.length = 0;
    lanes.dropIfEmpty('a', a);
    expect(lanes.get('a')).toBeUndefined();
    expect([...lanes.ids()]).toEqual([]);
  });
});
