import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Received } from './receiver.js';
import type { TestRelay } from './relay.js';

/** Shared pieces of the delivery-engine integration suites (test/e2e). */

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` every `everyMs` until it returns a truthy value; rejects after `timeoutMs`. */
export async function waitUntil<T>(
  check: () => T | Promise<T>,
  opts: { timeoutMs?: number; everyMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
  const { timeoutMs = 20_000, everyMs = 25, what = 'condition' } = opts;
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await check();
    if (last) return last as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** A TCP port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export function webhookId(r: Received): string {
  return String(r.headers['webhook-id'] ?? '');
}

/** What the receiver got for one event, in arrival order. */
export function receivedFor(received: Received[], eventId: string): Received[] {
  return received.filter((r) => webhookId(r) === eventId);
}

export interface AttemptJson {
  attempt: number;
  outcome: string;
  started_at: string;
  duration_ms: number;
  request: { method: string; url: string; headers: Record<string, string>; body: string | null };
  response: { status: number; headers: Record<string, string>; body: string | null } | null;
  error: { class: string; message: string | null } | null;
}

export interface DeliveryJson {
  id: number;
  event_id: string;
  callback_id: string;
  state: 'pending' | 'delivered' | 'failed' | 'held';
  in_flight: boolean;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
}

/** The deliveries of one event (one per callback it went to), through the API. */
export async function deliveriesOf(t: TestRelay, eventId: string, auth?: string): Promise<DeliveryJson[]> {
  const res = await t.api('GET', `/v1/deliveries?event_id=${encodeURIComponent(eventId)}`, undefined, auth ? { auth } : {});
  if (res.status !== 200) throw new Error(`GET /v1/deliveries: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.data as DeliveryJson[];
}

/** One delivery with its attempts, through the API. */
export async function readDelivery(t: TestRelay, id: number, auth?: string): Promise<DeliveryJson & { attempts_list: AttemptJson[] }> {
  const res = await t.api('GET', `/v1/deliveries/${id}`, undefined, auth ? { auth } : {});
  if (res.status !== 200) throw new Error(`GET /v1/deliveries/${id}: ${res.status} ${JSON.stringify(res.body)}`);
  const { attempt_log, ...rest } = res.body as DeliveryJson & { attempt_log: AttemptJson[] };
  return { ...rest, attempts_list: attempt_log };
}

/**
 * Waits until the single delivery of `eventId` satisfies `pred` (default: it reached a final state),
 * then returns it with its attempts.
 */
export async function waitForDelivery(
  t: TestRelay,
  eventId: string,
  opts: { auth?: string; timeoutMs?: number; pred?: (d: DeliveryJson) => boolean; what?: string } = {},
): Promise<DeliveryJson & { attempts_list: AttemptJson[] }> {
  const pred = opts.pred ?? ((d) => d.state === 'delivered' || d.state === 'failed');
  const d = await waitUntil(
    async () => {
      const list = await deliveriesOf(t, eventId, opts.auth);
      const one = list[0];
      return one && pred(one) ? one : undefined;
    },
    { timeoutMs: opts.timeoutMs ?? 20_000, what: opts.what ?? `delivery of ${eventId}` },
  );
  return readDelivery(t, d.id, opts.auth);
}

/** Posts one event as `auth` (default admin); returns its id. */
export async function postEvent(t: TestRelay, body: Record<string, unknown>, auth?: string): Promise<string> {
  const res = await t.api('POST', '/v1/events', body, auth ? { auth } : {});
  if (res.status !== 202) throw new Error(`POST /v1/events: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}

/** Creates a callback as `auth` (default admin); returns the created body (with its secret). */
export async function createCallback(
  t: TestRelay,
  body: Record<string, unknown>,
  auth?: string,
): Promise<{ id: string; secret: string; [k: string]: unknown }> {
  const res = await t.api('POST', '/v1/callbacks', body, auth ? { auth } : {});
  if (res.status !== 201) throw new Error(`POST /v1/callbacks: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Header value by name, whatever its case. */
export function header(headers: Record<string, string>, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === lower) return v;
  return undefined;
}
