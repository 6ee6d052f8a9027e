import type { Logger } from 'pino';
import { disableCallback, type LifecycleDeps } from '../routing/lifecycle.js';

/** A receiver that answers 410 Gone asked us to stop: its callback is disabled. */
export function disableOnGone(deps: LifecycleDeps & { log: Logger }): () => void {
  return deps.bus.on('callback.gone', async ({ accountId, callbackId }) => {
    await disableCallback(deps, accountId, callbackId, 'the receiver answered 410 Gone');
    deps.log.warn({ callbackId }, 'callback disabled: receiver answered 410 Gone');
  });
}
