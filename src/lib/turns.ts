/**
 * Runs `fn` in the event loop's next timers phase (setTimeout 0) rather than in its check phase
 * (setImmediate). For work nobody is waiting to be answered — mapping stored inbound requests, the
 * delivery worker's cycles: it then runs before the loop next reads its sockets, not after, where it
 * would hold up the answers to the requests just read (the inbound recorder commits them and answers
 * in the check phase that follows that read). Costs up to 1 ms when the loop is idle: timers count
 * whole milliseconds.
 */
export function inBackground(fn: () => void): NodeJS.Timeout {
  return setTimeout(fn, 0);
}
