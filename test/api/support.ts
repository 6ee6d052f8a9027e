/**
 * Shared set-up for the API suites: one relay per backend per file, tenant helpers, error-shape
 * assertions and polling waits (on API state, never fixed sleeps).
 */
import { afterAll, beforeAll, expect } from 'vitest';
import type { Config } from '../../src/config.js';
import type { Db } from '../../src/store/db.js';
import type { DeliveryState, NewDelivery } from '../../src/store/schema.js';
import type { Backend } from '../helpers/backends.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { TestReceiver } from '../helpers/receiver.js';

export interface Harness {
  t: TestRelay;
  receiver: TestReceiver;
}

/**
 * Starts a relay on a fresh database of `backend` (and one receiver) for the enclosing describe
 * block. The returned object is filled in by beforeAll.
 */
export function useRelay(backend: Backend, overrides: Partial<Config> & { env?: Record<string, string> } = {}): Harness {
  const h = {} as Harness;
  let drop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const db = await backend.create();
    drop = db.drop;
    h.t = await startTestRelay(db.url, overrides);
    h.receiver = await new TestReceiver().start();
  });
  afterAll(async () => {
    await h.t?.close();
    await h.receiver?.close();
    await drop?.();
  });
  return h;
}

export type Tenant = { accountId: string; apiUser: string; apiKey: string; auth: string };

let tenantSeq = 0;
/** A fresh tenant with a unique api user name. */
export async function tenant(t: TestRelay, label: string): Promise<Tenant> {
  tenantSeq += 1;
  return t.newTenant(`${label}-${process.pid}-${tenantSeq}`);
}

/** Asserts the error contract: the status, `{code, message}` and, for 422, the field named. */
export function expectError(res: { status: number; body: any }, status: number, code: string, field?: string | RegExp): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(typeof res.body).toBe('object');
  expect(res.body.code).toBe(code);
  expect(typeof res.body.message).toBe('string');
  expect(res.body.message.length).toBeGreaterThan(0);
  const keys = Object.keys(res.body).sort();
  if (status === 422) {
    expect(keys).toEqual(['code', 'field', 'message']);
    if (field instanceof RegExp) expect(res.body.field).toMatch(field);
    else if (field !== undefined) expect(res.body.field).toBe(field);
  } else {
    expect(keys).toEqual(['code', 'message']);
  }
}

/** Polls `probe` until it returns a truthy value; resolves with it. */
export async function waitUntil<T>(probe: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 15));
  }
}

/** Waits until the delivery reaches `state` (as seen through the API); returns it with its attempts. */
export async function waitForDelivery(t: TestRelay, auth: string, id: number, state: string, timeoutMs = 20_000): Promise<any> {
  return waitUntil(
    async () => {
      const r = await t.api('GET', `/v1/deliveries/${id}`, undefined, { auth });
      expect(r.status).toBe(200);
      return r.body.state === state && !r.body.in_flight ? r.body : undefined;
    },
    `delivery ${id} to be ${state}`,
    timeoutMs,
  );
}

/** The deliveries of an event, through GET /v1/events/{id}. */
export async function eventDeliveries(t: TestRelay, auth: string, eventId: string): Promise<any[]> {
  const r = await t.api('GET', `/v1/events/${eventId}`, undefined, { auth });
  expect(r.status).toBe(200);
  return r.body.deliveries as any[];
}

/** Moves past the current millisecond, so rows created next get a strictly later created_at. */
export async function nextMillisecond(after: number): Promise<void> {
  while (Date.now() <= after) await new Promise((r) => setTimeout(r, 1));
}

export const SECRET_RE = /^whsec_[A-Za-z0-9+/]{32,}={0,2}$/;

/**
 * Inserts a delivery of `who` in `state`, created a second before `at` and finished at `at` when its
 * state is final; with `durationMs`, its one attempt, ending at `at` (statistics suites). `extra`
 * overrides the delivery's columns (a lease, …).
 */
export async function insertDelivery(
  db: Db,
  who: Pick<Tenant, 'accountId'>,
  d: { callbackId: string; eventId: string; state: DeliveryState; at: number; durationMs?: number | undefined; url: string; extra?: Partial<NewDelivery> },
): Promise<void> {
  const done = d.state === 'delivered' || d.state === 'failed';
  const row = await db
    .insertInto('deliveries')
    .values({
      account_id: who.accountId,
      event_id: d.eventId,
      callback_id: d.callbackId,
      state: d.state,
      attempts: done ? 1 : 0,
      next_attempt_at: d.at,
      lease_owner: null,
      lease_until: null,
      ordering_key: null,
      last_status: null,
      last_error: null,
      created_at: d.at - 1000,
      updated_at: d.at,
      completed_at: done ? d.at : null,
      ...d.extra,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  if (d.durationMs === undefined) return;
  await db
    .insertInto('attempts')
    .values({
      delivery_id: row.id,
      account_id: who.accountId,
      callback_id: d.callbackId,
      event_id: d.eventId,
      kind: 'delivery',
      attempt: 1,
      started_at: d.at - d.durationMs,
      duration_ms: d.durationMs,
      request_method: 'POST',
      request_url: d.url,
      request_headers: '{}',
      request_body: null,
      response_status: d.state === 'delivered' ? 200 : 500,
      response_headers: '{}',
      response_body: '',
      error_class: null,
      error_message: null,
      outcome: d.state === 'delivered' ? 'success' : 'retryable',
    })
    .execute();
}
