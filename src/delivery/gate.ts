/**
 * Lets a policy outside the worker (the circuit breaker) narrow how many requests may be in flight to
 * a callback right now. The worker asks before it claims and before it starts each request.
 */
export interface CallbackGate {
  /** 0: send nothing now (open circuit); 1: one probe at a time (half-open); Infinity: no limit of its own. */
  limit(callbackId: string, now: number): number;
}

export const OPEN_GATE: CallbackGate = { limit: () => Infinity };
