import type { Logger } from 'pino';
import type { Clock } from '../lib/clock.js';
import { newId } from '../lib/ids.js';
import type { Db, Store } from '../store/db.js';
import { insertEventsWithDeliveries, type ClaimedDelivery } from '../store/deliveries.js';
import { expireIdempotencyKeys, findEventsByIdempotencyKeys } from '../store/events.js';
import { insertRowSetsIsAtomic } from '../store/bulk.js';
import { describeDiskFailure } from '../store/failure.js';
import type { EventRow, NewDelivery, NewEvent } from '../store/schema.js';
import type { CallbackRegistry } from '../routing/registry.js';
import { eventTypeByName } from '../catalogue/event-types.js';
import { ApiError, invalid } from '../errors.js';
import { inBackground } from '../lib/turns.js';
import { requestDigest } from './idempotency.js';

/** Groups of ingested events committing at once, where they may overlap (see Ingestor.drain). */
const GROUPS_IN_FLIGHT = 3;

/** How long an idempotency key (header or event `id`) makes a repeat a no-op. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 3_600_000;

/**
 * How deeply `data` and `custom_args` may nest (objects and arrays; the value itself is level 1).
 * Deeper JSON is refused at ingest: serialising, storing and reading it back recurse once per level,
 * and a few thousand levels overflow the stack there (an accepted event the API then cannot show).
 */
export const MAX_DATA_DEPTH = 32;

/**
 * Whether `v` nests deeper than `max` levels. Stops descending at the limit, so hostile input costs
 * at most `max` stack frames.
 */
export function nestsDeeperThan(v: unknown, max: number): boolean {
  if (v === null || typeof v !== 'object') return false;
  if (max <= 0) return true;
  if (Array.isArray(v)) {
    for (const x of v) if (nestsDeeperThan(x, max - 1)) return true;
    return false;
  }
  for (const k in v) if (nestsDeeperThan((v as Record<string, unknown>)[k], max - 1)) return true;
  return false;
}

/** An event as the API accepts it, already schema-checked. */
export interface EventInput {
  type: string;
  data: unknown;
  id?: string | undefined;
  resource_id?: string | undefined;
  callback_profile_id?: string | undefined;
  custom_args?: Record<string, unknown> | undefined;
}

export interface Principal {
  accountId: string;
  /** The api user's name, when the event came with one's credentials. */
  apiUser: string | null;
}

/** What one caller's request newly stored. */
export interface StoredEvents {
  accountId: string;
  apiUser: string | null;
  events: { id: string; type: string; data: unknown; resourceId: string | null }[];
}

/**
 * The delivery worker of this process, when it has one: new deliveries it has free slots for are
 * stored already leased to it and handed over with their events after the commit, so they go out at
 * once, with no claim and no read of the event (see DeliveryWorker.reserve).
 */
export interface HandOff {
  readonly owner: string;
  readonly leaseMs: number;
  reserve(callbackId: string, wanted: number): number;
  release(callbackId: string, n: number): void;
  adopt(jobs: readonly { claim: ClaimedDelivery; event: EventRow }[]): void;
}

/** How an ingest call is made. */
export interface IngestOptions {
  /** The Idempotency-Key header of a single event. */
  idempotencyKey?: string;
  /** Errors name the event (`events[3].type`), even in a batch of one; default: more than one input. */
  batch?: boolean;
  /**
   * Committed without waiting for the disk (SQLite synchronous=NORMAL, PostgreSQL
   * synchronous_commit=off; Store.relaxed): for events the caller can make again from something
   * already durable — the inbound gateway's mapping of a stored request, whose mark is written after
   * them, so a crash of the machine that loses them loses the mark too and the request is mapped
   * again. A group holding any other call's events is committed durably.
   */
  relaxed?: boolean;
  /**
   * Nobody waits on the answer (the inbound gateway's mapping, after the vendor was answered): the
   * group is written in the loop's timers phase (inBackground), after the answers of requests already
   * read. A call without it moves a group waiting so into this check phase.
   */
  background?: boolean;
}

interface Pending {
  principal: Principal;
  relaxed: boolean;
  events: Prepared[];
  resolve: (ids: string[]) => void;
  reject: (err: unknown) => void;
}

interface Prepared {
  input: EventInput;
  key: string | null;
  /** With a key: the request's digest (requestDigest); a key reused with another digest is a 409. */
  digest: string | null;
  /** Where the event is in its request (`events[3]`), or '' for a single event. */
  path: string;
  callbackIds: string[];
}

/**
 * Accepts events: validates them against the catalogue and the caller's callbacks, then stores each
 * event with one delivery per matching callback in ONE transaction before the caller is answered.
 * Concurrent requests share a transaction (group commit): each still resolves only once its rows
 * are durable, and a failing group falls back to one transaction per request, so one bad request
 * never takes others down with it.
 */
export class Ingestor {
  private queue: Pending[] = [];
  private scheduled = false;
  /** The timer of a drain scheduled in the background (every queued call asked for it). */
  private later: NodeJS.Timeout | undefined;
  private readonly running = new Set<Promise<void>>();
  private handOff: HandOff | undefined;

  constructor(
    private readonly deps: {
      store: Store;
      registry: CallbackRegistry;
      clock: Clock;
      log: Logger;
      /** Called after deliveries were committed, with the callbacks they are owed to (wake the workers). */
      onCommitted: (callbackIds: Set<string>) => void;
      /** Called after commit with the events newly stored (not idempotent repeats), per caller. */
      onStored?: (stored: StoredEvents) => void;
    },
  ) {}

  /** From now on, new deliveries the local worker has room for are handed to it (see HandOff). */
  handOffTo(worker: HandOff): void {
    this.handOff = worker;
  }

  /**
   * Validates and stores events; resolves with their ids in input order. An event whose idempotency
   * key was seen within 24 h resolves to the original id and stores nothing, if it is the same request;
   * with another request it is refused (409 conflict), and so is the whole request it came in.
   */
  async ingest(principal: Principal, inputs: EventInput[], opts: IngestOptions = {}): Promise<string[]> {
    const { idempotencyKey, batch = inputs.length > 1, relaxed = false, background = false } = opts;
    // Routing reads the registry: first catch it up with callbacks other processes changed.
    await this.deps.registry.current().catch((err: unknown) => {
      throw toStorageError(err);
    });
    // In a batch (even of one) errors name the event: `events[3].type`.
    const events = inputs.map((input, i) => this.prepare(principal, input, batch ? `events[${i}]` : '', idempotencyKey));
    return new Promise<string[]>((resolve, reject) => {
      this.queue.push({ principal, relaxed, events, resolve, reject });
      this.schedule(background);
    });
  }

  /** Drains soon: in this check phase (setImmediate), or in the next timers phase when every call so far is `background`. */
  private schedule(background: boolean): void {
    if (this.scheduled && (this.later === undefined || background)) return;
    if (this.later !== undefined) clearTimeout(this.later);
    this.later = undefined;
    this.scheduled = true;
    if (background) {
      this.later = inBackground(() => {
        this.later = undefined;
        void this.drain();
      });
    } else {
      setImmediate(() => void this.drain());
    }
  }

  private prepare(principal: Principal, input: EventInput, path: string, headerKey: string | undefined): Prepared {
    const at = (field: string) => (path ? `${path}.${field}` : field);
    if (!eventTypeByName(input.type)) throw invalid(at('type'), `unknown event type "${input.type}" (see GET /v1/event-types)`);
    if (nestsDeeperThan(input.data, MAX_DATA_DEPTH)) throw invalid(at('data'), `nests deeper than ${MAX_DATA_DEPTH} levels of objects and arrays`);
    if (nestsDeeperThan(input.custom_args, MAX_DATA_DEPTH)) {
      throw invalid(at('custom_args'), `nests deeper than ${MAX_DATA_DEPTH} levels of objects and arrays`);
    }
    let callbackIds: string[];
    if (input.callback_profile_id !== undefined) {
      const cb = this.deps.registry.get(input.callback_profile_id);
      if (!cb || cb.accountId !== principal.accountId) {
        throw invalid(at('callback_profile_id'), `no callback "${input.callback_profile_id}"`);
      }
      if (!cb.enabled) throw invalid(at('callback_profile_id'), `callback "${cb.id}" is disabled`);
      callbackIds = [cb.id];
    } else {
      callbackIds = this.deps.registry.route(principal.accountId, principal.apiUser, input.type, null).map((cb) => cb.id);
    }
    const key = (path ? undefined : headerKey) ?? input.id ?? null;
    return { input, key, digest: key === null ? null : requestDigest(input), path, callbackIds };
  }

  private async drain(): Promise<void> {
    // The next group collects while the running ones commit. Groups follow one another, except that
    // where a group without idempotency keys is one atomic statement (PostgreSQL), up to
    // GROUPS_IN_FLIGHT of those overlap, so that the wait for a commit is not the limit. No order is
    // owed between them: a request sent after another was answered always lands in a later group,
    // started after that one committed; only requests in flight together can commit out of order.
    while (this.running.size > 0 && !(this.running.size < GROUPS_IN_FLIGHT && this.overlaps(this.queue))) {
      await Promise.race(this.running);
    }
    this.scheduled = false;
    const group = this.queue;
    this.queue = [];
    if (group.length === 0) return;
    const run: Promise<void> = this.commitGroup(group).finally(() => this.running.delete(run));
    this.running.add(run);
    await run;
  }

  /** Whether a group may commit alongside others: one statement, no keys to look up (see write). */
  private overlaps(group: Pending[]): boolean {
    return insertRowSetsIsAtomic(this.deps.store.caps) && group.every((p) => p.events.every((e) => e.key === null));
  }

  private async commitGroup(group: Pending[]): Promise<void> {
    try {
      const results = await this.write(group);
      group.forEach((p, i) => p.resolve(results[i]!));
    } catch (err) {
      if (group.length === 1) {
        group[0]!.reject(toStorageError(err));
        return;
      }
      for (const p of group) {
        try {
          p.resolve((await this.write([p]))[0]!);
        } catch (e) {
          p.reject(toStorageError(e));
        }
      }
    }
  }

  private async write(group: Pending[]): Promise<string[][]> {
    const { store, clock } = this.deps;
    const now = clock.now();
    const callbackIds = new Set<string>();
    const stored: StoredEvents[] = [];
    const handOff = this.handOff;
    /** Per callback, the slots the worker granted for this group. */
    const granted = new Map<string, number>();
    let handed: { claim: ClaimedDelivery; event: EventRow }[] = [];
    const keysByAccount = new Map<string, Set<string>>();
    for (const p of group) {
      for (const e of p.events) {
        if (e.key === null) continue;
        const set = keysByAccount.get(p.principal.accountId) ?? new Set<string>();
        set.add(e.key);
        keysByAccount.set(p.principal.accountId, set);
      }
    }
    const writeRows = async (trx: Db): Promise<string[][]> => {
      // Existing keys per account, read inside the transaction that will insert the new ones.
      const known = new Map<string, { id: string; digest: string | null }>(); // accountId \0 key -> event
      for (const [accountId, keys] of keysByAccount) {
        const rows = await findEventsByIdempotencyKeys(trx, store.caps, accountId, [...keys]);
        let stale = false;
        for (const row of rows) {
          if (row.created_at >= now - IDEMPOTENCY_WINDOW_MS) known.set(`${accountId}\0${row.idempotency_key}`, { id: row.id, digest: row.idempotency_digest });
          else stale = true;
        }
        // A key older than the window may be reused: free it before inserting it again.
        if (stale) await expireIdempotencyKeys(trx, now - IDEMPOTENCY_WINDOW_MS);
      }
      const events: NewEvent[] = [];
      const deliveries: NewDelivery[] = [];
      const out: string[][] = [];
      for (const p of group) {
        const ids: string[] = [];
        const fresh: StoredEvents['events'] = [];
        stored.push({ accountId: p.principal.accountId, apiUser: p.principal.apiUser, events: fresh });
        for (const e of p.events) {
          const mapKey = e.key === null ? null : `${p.principal.accountId}\0${e.key}`;
          const existing = mapKey === null ? undefined : known.get(mapKey);
          if (existing !== undefined) {
            // Events stored before digests were kept (null) are taken as the same request.
            if (existing.digest !== null && existing.digest !== e.digest) throw keyReused(e, existing.id);
            ids.push(existing.id);
            continue;
          }
          const id = newId('evt', now);
          if (mapKey !== null) known.set(mapKey, { id, digest: e.digest });
          ids.push(id);
          fresh.push({ id, type: e.input.type, data: e.input.data, resourceId: e.input.resource_id ?? null });
          events.push({
            id,
            account_id: p.principal.accountId,
            api_user: p.principal.apiUser,
            type: e.input.type,
            data: JSON.stringify(e.input.data ?? {}),
            resource_id: e.input.resource_id ?? null,
            callback_profile_id: e.input.callback_profile_id ?? null,
            custom_args: e.input.custom_args === undefined ? null : JSON.stringify(e.input.custom_args),
            idempotency_key: e.key,
            idempotency_digest: e.digest,
            created_at: now,
          });
          for (const callbackId of e.callbackIds) {
            deliveries.push({
              account_id: p.principal.accountId,
              event_id: id,
              callback_id: callbackId,
              state: 'pending',
              attempts: 0,
              next_attempt_at: now,
              lease_owner: null,
              lease_until: null,
              ordering_key: e.input.resource_id ?? null,
              last_status: null,
              last_error: null,
              created_at: now,
              updated_at: now,
              completed_at: null,
            });
          }
        }
        out.push(ids);
      }
      const leased = handOff ? this.lease(handOff, deliveries, granted, now) : [];
      const queued = leased.length === 0 ? deliveries : deliveries.filter((d) => d.lease_owner === null);
      const ids = await insertEventsWithDeliveries(trx, store.caps, { events, queued, leased });
      if (leased.length > 0) {
        const byId = new Map(events.map((e) => [e.id, e as EventRow]));
        handed = ids.map((r) => ({
          claim: { id: r.id, event_id: r.event_id, callback_id: r.callback_id, attempts: 0 },
          event: byId.get(r.event_id)!,
        }));
      }
      // The workers are told only of what they must claim.
      for (const d of queued) callbackIds.add(d.callback_id);
      return out;
    };
    // Without idempotency keys to look up, the rows are all the group writes: where they go in as one
    // statement (PostgreSQL), that statement is the transaction, one round trip instead of four.
    const oneStatement = keysByAccount.size === 0 && insertRowSetsIsAtomic(store.caps);
    const commit = oneStatement ? writeRows(store.db) : group.every((p) => p.relaxed) ? store.relaxed(writeRows) : store.db.transaction().execute(writeRows);
    const results = await commit.catch((err: unknown) => {
      for (const [callbackId, n] of granted) handOff?.release(callbackId, n);
      throw err;
    });
    if (handOff && handed.length > 0) handOff.adopt(handed);
    if (callbackIds.size > 0) this.deps.onCommitted(callbackIds);
    if (this.deps.onStored) for (const st of stored) if (st.events.length > 0) this.deps.onStored(st);
    return results;
  }

  /**
   * Marks as leased to the worker the deliveries it grants slots for (in `granted`, per callback) and
   * returns them; the others stay as they are, for the workers to claim.
   */
  private lease(handOff: HandOff, deliveries: NewDelivery[], granted: Map<string, number>, now: number): NewDelivery[] {
    const wanted = new Map<string, number>();
    for (const d of deliveries) wanted.set(d.callback_id, (wanted.get(d.callback_id) ?? 0) + 1);
    const left = new Map<string, number>();
    for (const [callbackId, n] of wanted) {
      const g = handOff.reserve(callbackId, n);
      if (g > 0) {
        granted.set(callbackId, g);
        left.set(callbackId, g);
      }
    }
    if (left.size === 0) return [];
    const leased: NewDelivery[] = [];
    for (const d of deliveries) {
      const n = left.get(d.callback_id) ?? 0;
      if (n === 0) continue;
      left.set(d.callback_id, n - 1);
      d.lease_owner = handOff.owner;
      d.lease_until = now + handOff.leaseMs;
      leased.push(d);
    }
    return leased;
  }

  /** Waits until everything accepted so far is committed (shutdown). */
  async flush(): Promise<void> {
    while (this.queue.length > 0 || this.running.size > 0 || this.scheduled) {
      if (this.running.size > 0) await Promise.all(this.running);
      else await new Promise((r) => setImmediate(r));
    }
  }
}

function keyReused(e: Prepared, firstId: string): ApiError {
  const what = e.path ? `${e.path}.id "${e.key}"` : `idempotency key "${e.key}"`;
  return new ApiError('conflict', `${what} was already used with another request (event ${firstId}) within 24 h: use a new key for a new request`);
}

function toStorageError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const disk = describeDiskFailure(err);
  const e = new ApiError('storage_unavailable', disk ? `the event could not be stored: ${disk}; retry the request later` : 'the event could not be stored; retry the request');
  (e as { cause?: unknown }).cause = err;
  return e;
}
