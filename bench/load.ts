/** Load generation: the relay's API calls the bench needs, and bounded closed-loop drivers. */
import type { Dispatcher } from 'undici';
import type { Relay } from './procs.js';
import { sleep } from './procs.js';

export interface BenchEvent {
  type: string;
  data: Record<string, unknown>;
  callback_profile_id?: string;
}

/** A delivery receipt shaped like the ones messaging platforms send (~200 bytes of JSON). */
export function eventData(i: number): Record<string, unknown> {
  return {
    message_id: `msg_${i.toString(36).padStart(8, '0')}`,
    to: '+4915550100123',
    from: 'RELAYBENCH',
    status: 'delivered',
    status_code: 0,
    parts: 1,
    price: { amount: '0.0075', currency: 'EUR' },
    n: i,
  };
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what}: HTTP ${status} ${body.slice(0, 300)}`);
  }
}

/** One JSON call to the relay's API; throws HttpError unless the status is one of `expect`. */
export async function api(
  relay: Relay,
  method: Dispatcher.HttpMethod,
  path: string,
  body: unknown,
  expect: number[],
): Promise<unknown> {
  const res = await relay.pool.request({
    method,
    path,
    headers: { authorization: relay.authorization, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  if (!expect.includes(res.statusCode)) throw new HttpError(res.statusCode, text, `${method} ${path}`);
  return text ? (JSON.parse(text) as unknown) : null;
}

export async function createCallback(relay: Relay, url: string, title = 'bench'): Promise<string> {
  const created = (await api(relay, 'POST', '/v1/callbacks', { title, url }, [200, 201])) as { id?: unknown };
  if (typeof created?.id !== 'string' && typeof created?.id !== 'number') {
    throw new Error(`POST /v1/callbacks returned no id: ${JSON.stringify(created).slice(0, 300)}`);
  }
  return String(created.id);
}

/** POSTs one batch, retrying a few times on 429/503 (throttling is not what the loader measures). */
export async function postBatch(relay: Relay, events: BenchEvent[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = (await api(relay, 'POST', '/v1/events/batch', { events }, [200, 201, 202])) as { ids?: unknown };
      if (!Array.isArray(res?.ids) || res.ids.length !== events.length) {
        throw new Error(`batch of ${events.length} answered with ${Array.isArray(res?.ids) ? res.ids.length : 'no'} ids`);
      }
      return;
    } catch (err) {
      const retryable = err instanceof HttpError && (err.status === 429 || err.status === 503);
      if (!retryable || attempt >= 20) throw err;
      await sleep(250);
    }
  }
}

export interface LoadResult {
  accepted: number;
  seconds: number;
}

/**
 * Stores `count` events through `/v1/events/batch` (1,000 per call, a few calls in flight).
 * `make(i)` builds event i. Fails if the deadline passes first.
 */
export async function loadBacklog(
  relay: Relay,
  count: number,
  make: (i: number) => BenchEvent,
  opts: { deadlineMs: number; batchSize?: number; concurrency?: number; onProgress?: (n: number) => void },
): Promise<LoadResult> {
  const batchSize = opts.batchSize ?? 1000;
  const started = performance.now();
  let next = 0;
  let accepted = 0;
  let lastReport = started;
  const worker = async (): Promise<void> => {
    while (next < count) {
      if (performance.now() - started > opts.deadlineMs) {
        throw new Error(`loading the backlog took longer than ${opts.deadlineMs / 1000} s (${accepted}/${count} stored)`);
      }
      const from = next;
      const to = Math.min(from + batchSize, count);
      next = to;
      const events: BenchEvent[] = [];
      for (let i = from; i < to; i++) events.push(make(i));
      await postBatch(relay, events);
      accepted += events.length;
      if (opts.onProgress && performance.now() - lastReport > 5_000) {
        lastReport = performance.now();
        opts.onProgress(accepted);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 4 }, worker));
  return { accepted, seconds: (performance.now() - started) / 1000 };
}

export interface LoopResult {
  /** Units done (requests, or events for batches). */
  ok: number;
  failed: number;
  seconds: number;
  /** Count of failures per reason ("HTTP 429", error message...). */
  failures: Record<string, number>;
}

/**
 * Closed loop: `concurrency` workers call `fn(i)` back to back until `durationMs` has passed or
 * `maxCalls` calls were issued. `fn` returns the units it got done, or throws / returns a string
 * reason on failure.
 */
export async function closedLoop(opts: {
  concurrency: number;
  durationMs: number;
  maxCalls: number;
  unitsPerCall: number;
  fn: (i: number) => Promise<number | string>;
}): Promise<LoopResult> {
  const failures: Record<string, number> = {};
  let issued = 0;
  let ok = 0;
  let failed = 0;
  const started = performance.now();
  const deadline = started + opts.durationMs;
  const worker = async (): Promise<void> => {
    while (issued < opts.maxCalls && performance.now() < deadline) {
      const i = issued++;
      let reason: string;
      try {
        const r = await opts.fn(i);
        if (typeof r === 'number') {
          ok += r;
          continue;
        }
        reason = r;
      } catch (err) {
        reason = (err as Error).message.slice(0, 120);
      }
      failed += opts.unitsPerCall;
      failures[reason] = (failures[reason] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  return { ok, failed, seconds: (performance.now() - started) / 1000, failures };
}

export interface OpenLoopResult {
  sent: number;
  accepted: number;
  seconds: number;
  /** How late the client itself was, at worst, in issuing a call at its due time. */
  maxLagMs: number;
  failures: Record<string, number>;
}

/**
 * Open loop: call i is due at t0 + i/rate and is issued then, whether or not earlier calls have
 * answered, for `durationMs` (bounded to three times that if the client falls behind). `fn` gets the
 * due time (performance.now() clock) and resolves true when the call was accepted.
 */
export async function openLoop(rate: number, durationMs: number, fn: (i: number, dueAt: number) => Promise<boolean>): Promise<OpenLoopResult> {
  const total = Math.round((rate * durationMs) / 1000);
  const t0 = performance.now() + 20;
  let sent = 0;
  let accepted = 0;
  let maxLagMs = 0;
  const failures: Record<string, number> = {};
  const pending: Promise<void>[] = [];
  while (sent < total && performance.now() - t0 < durationMs * 3) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) * rate) / 1000) + 1);
    while (sent < due) {
      const i = sent++;
      const dueAt = t0 + (i * 1000) / rate;
      maxLagMs = Math.max(maxLagMs, performance.now() - dueAt);
      pending.push(
        fn(i, dueAt).then(
          (ok) => {
            if (ok) accepted++;
            else failures['rejected'] = (failures['rejected'] ?? 0) + 1;
          },
          (err: Error) => {
            const k = err.message.slice(0, 80);
            failures[k] = (failures[k] ?? 0) + 1;
          },
        ),
      );
    }
    await sleep(1);
  }
  await Promise.all(pending);
  return { sent, accepted, seconds: (performance.now() - t0) / 1000, maxLagMs, failures };
}
