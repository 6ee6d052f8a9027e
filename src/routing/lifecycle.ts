import type { Clock } from '../lib/clock.js';
import type { Store } from '../store/db.js';
import { findCallback, setCallbackEnabled } from '../store/callbacks.js';
import { holdDeliveries, releaseHeldDeliveries } from '../store/deliveries.js';
import type { PipelineBus } from '../pipeline/bus.js';
import type { CallbackRegistry } from './registry.js';

export interface LifecycleDeps {
  store: Store;
  registry: CallbackRegistry;
  bus: PipelineBus;
  clock: Clock;
}

/**
 * Disables a callback: it receives no new events and its owed deliveries wait as `held`.
 * Returns false when there is no such callback; disabling a disabled one changes nothing.
 */
export async function disableCallback(deps: LifecycleDeps, accountId: string, id: string, reason: string): Promise<boolean> {
  const cb = await findCallback(deps.store.db, accountId, id);
  if (!cb) return false;
  if (cb.enabled === 0) return true;
  const now = deps.clock.now();
  // Another disable may have come first since the read: then it holds the deliveries and tells.
  const changed = await deps.store.db.transaction().execute(async (trx) => {
    if (!(await setCallbackEnabled(trx, accountId, id, false, reason, now))) return false;
    await holdDeliveries(trx, id, now);
    return true;
  });
  await deps.registry.reload();
  if (changed) deps.bus.emit('callback.disabled', { accountId, callbackId: id, reason });
  return true;
}

/** Enables a callback; its held deliveries are due at once. */
export async function enableCallback(deps: LifecycleDeps, accountId: string, id: string): Promise<boolean> {
  const cb = await findCallback(deps.store.db, accountId, id);
  if (!cb) return false;
  if (cb.enabled === 1) return true;
  const now = deps.clock.now();
  const changed = await deps.store.db.transaction().execute(async (trx) => {
    if (!(await setCallbackEnabled(trx, accountId, id, true, null, now))) return false;
    await releaseHeldDeliveries(trx, id, now);
    return true;
  });
  await deps.registry.reload();
  if (changed) deps.bus.emit('callback.enabled', { accountId, callbackId: id });
  return true;
}
