import type { Store } from '../store/db.js';
import { callbacksVersion, listAllCallbacks } from '../store/callbacks.js';
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
      const version = await callbacksVersion(this.store.db);
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
    if ((await callbacksVersion(this.store.db)) !== this.version) await this.reload();
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
