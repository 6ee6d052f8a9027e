import type { Store } from '../store/db.js';
import { callbacksVersion, findCallbackById, listAllCallbacks, registryVersion } from '../store/callbacks.js';
import { eventTypeByName } from '../catalogue/event-types.js';
import { toCallback, type Callback } from './callback.js';

/**
 * Every callback in memory, for routing at ingest and for rendering at delivery: neither path reads
 * the callbacks table per event. Local writes call `reload()`; where other processes share the
 * database, a cheap version check every `pollMs` picks up their edits.
 */
export class CallbackRegistry {
  private byId = new Map<string, Callback>();
  private byAccount = new Map<string, Callback[]>();
  private version = '';
  private timer: NodeJS.Timeout | undefined;
  private loading: Promise<void> | undefined;
  /** Row reads under way by refresh(), one per id however many callers ask. */
  private reading = new Map<string, Promise<Callback | undefined>>();
  /** The next version check of current(), not started yet: callers asking now share it. */
  private nextCheck: Promise<void> | undefined;

  constructor(private readonly store: Store) {}

  async start(pollMs = 2000): Promise<void> {
    await this.reload();
    if (this.store.caps.multiProcess) {
      this.timer = setInterval(() => void this.reloadIfChanged().catch(() => {}), pollMs);
      this.timer.unref();
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async reload(): Promise<void> {
    // Coalesce concurrent reloads, but a reload asked for after a write must see that write.
    const run = async () => {
      const version = await this.versionNow();
      const rows = await listAllCallbacks(this.store.db);
      const byId = new Map<string, Callback>();
      const byAccount = new Map<string, Callback[]>();
      for (const row of rows) {
        const cb = toCallback(row);
        byId.set(cb.id, cb);
        const list = byAccount.get(cb.accountId);
        if (list) list.push(cb);
        else byAccount.set(cb.accountId, [cb]);
      }
      this.byId = byId;
      this.byAccount = byAccount;
      this.version = version;
    };
    const previous = this.loading ?? Promise.resolve();
    const next = previous.then(run, run);
    this.loading = next;
    try {
      await next;
    } finally {
      if (this.loading === next) this.loading = undefined;
    }
  }

  private async reloadIfChanged(): Promise<void> {
    if ((await this.versionNow()) !== this.version) await this.reload();
  }

  private versionNow(): Promise<string> {
    return this.store.caps.multiProcess ? registryVersion(this.store.db) : callbacksVersion(this.store.db);
  }

  /**
   * Where processes share the database: resolves once the registry holds every callback change
   * committed before the call, so an event sent after another process answered a callback's create
   * is routed to it (the poll alone left up to `pollMs` in which it was not). One primary-key read per
   * turn of the event loop, shared by the callers of that turn; a read already under way is not
   * joined, since it may have started before the change the caller saw. In one process: at once.
   */
  current(): Promise<void> {
    if (!this.store.caps.multiProcess) return Promise.resolve();
    this.nextCheck ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.nextCheck = undefined;
      return this.reloadIfChanged();
    });
    return this.nextCheck;
  }

  /** Where other processes share the database: picks up their edits now rather than at the next poll. */
  async catchUp(): Promise<void> {
    if (this.store.caps.multiProcess) await this.reloadIfChanged();
  }

  /**
   * The callback as the database has it now, put in the registry (or taken out, when gone). For an id
   * this registry does not know or holds disabled, before acting on that: where processes share the
   * database, a callback created or enabled elsewhere is here only after the next poll, and its first
   * deliveries can reach a worker before that.
   */
  refresh(id: string): Promise<Callback | undefined> {
    let read = this.reading.get(id);
    if (!read) {
      read = findCallbackById(this.store.db, id)
        .then((row) => this.put(id, row ? toCallback(row) : undefined))
        .finally(() => this.reading.delete(id));
      this.reading.set(id, read);
    }
    return read;
  }

  /** Replaces (or removes) one callback; the maps' lists are copied, never changed under a reader. */
  private put(id: string, cb: Callback | undefined): Callback | undefined {
    const old = this.byId.get(id);
    if (old) {
      const rest = (this.byAccount.get(old.accountId) ?? []).filter((c) => c.id !== id);
      if (rest.length > 0) this.byAccount.set(old.accountId, rest);
      else this.byAccount.delete(old.accountId);
      this.byId.delete(id);
    }
    if (cb) {
      this.byId.set(id, cb);
      this.byAccount.set(cb.accountId, [...(this.byAccount.get(cb.accountId) ?? []), cb]);
    }
    return cb;
  }

  /** Every callback id known, enabled or not. */
  ids(): IterableIterator<string> {
    return this.byId.keys();
  }

  get(id: string): Callback | undefined {
    return this.byId.get(id);
  }

  /**
   * The enabled callbacks an event goes to. With `profileId` only that one (the caller checked it
   * exists); otherwise every callback of the account subscribed to the type and, when scoped to an
   * api user, to that user.
   */
  route(accountId: string, apiUser: string | null, type: string, profileId: string | null): Callback[] {
    if (profileId !== null) {
      const cb = this.byId.get(profileId);
      return cb && cb.enabled && cb.accountId === accountId ? [cb] : [];
    }
    const out: Callback[] = [];
    for (const cb of this.byAccount.get(accountId) ?? []) {
      if (!cb.enabled) continue;
      if (cb.apiUser !== null && cb.apiUser !== apiUser) continue;
      if (cb.events.size > 0 ? !cb.events.has(type) : explicitOnly(type)) continue;
      out.push(cb);
    }
    return out;
  }
}

/**
 * The relay's own operational events reach only callbacks that name them: a callback subscribed to
 * "every event" is not suddenly sent notices about callbacks failing.
 */
function explicitOnly(type: string): boolean {
  return eventTypeByName(type)?.channel === 'relay';
}
