import type { Logger } from './lib/log.js';
import type { Store } from './store/db.js';
import type { CallbackRegistry } from './routing/registry.js';
import type { Ingestor } from './ingest/ingest.js';
import type { HttpSender } from './delivery/http.js';
import type { DeliveryWorker } from './delivery/worker.js';
import type { Scheduler } from './scheduler.js';
import type { Notify } from './notify/index.js';
import type { App, OpsApp } from './api/app.js';
import type { InboundRecorder } from './inbound/recorder.js';
import type { InboundMapper } from './inbound/mapper.js';

/** What a running relay holds, in the parts its shutdown lets go of; absent: not run by this process's roles. */
export interface RunningParts {
  app: App | undefined;
  ops: OpsApp | undefined;
  /** The inbound gateway's recorder and mapper (api role). */
  inbound: { recorder: InboundRecorder | undefined; mapper: InboundMapper | undefined };
  ingestor: Ingestor;
  worker: DeliveryWorker | undefined;
  scheduler: Scheduler | undefined;
  notify: Notify;
  /** Listeners and LISTEN subscriptions to drop. */
  unsubscribe: readonly (() => void | Promise<void>)[];
  registry: CallbackRegistry;
  /** HTTP clients to close once nothing sends any more (the worker's, advanced auth's). */
  senders: readonly (HttpSender | undefined)[];
  store: Store;
  log: Logger;
  /** How long the worker lets attempts in flight finish before handing their leases back. */
  drainMs: number;
}

/**
 * Stops a relay in the order that loses nothing: stop taking requests, commit what was accepted, let
 * attempts in flight finish (until the deadline; the worker hands back every lease it still holds),
 * stop the scheduler and the notifiers, then let go of listeners, clients and the database.
 */
export async function shutdown(p: RunningParts): Promise<void> {
  if (p.app) await p.app.close();
  if (p.ops) await p.ops.close();
  // Inbound requests answered are stored; their mapping ends before ingest's last commit.
  await p.inbound.recorder?.flush();
  await p.inbound.mapper?.stop();
  await p.ingestor.flush();
  if (p.worker) await p.worker.stop(p.drainMs);
  if (p.scheduler) await p.scheduler.stop();
  await p.notify.close();
  for (const u of p.unsubscribe) await u();
  p.registry.stop();
  for (const sender of p.senders) if (sender) await sender.close();
  await p.store.close();
  p.log.info('callback-relay stopped');
}

/**
 * `serve`: SIGTERM or SIGINT closes the relay once (a second signal while closing is ignored) and
 * exits 0, or 1 when closing failed.
 */
export function closeOnSignals(relay: { close(): Promise<void>; log: Logger }, exit: (code: number) => void = (code) => process.exit(code)): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    relay.log.info({ signal }, 'shutting down');
    relay
      .close()
      .then(() => exit(0))
      .catch((err: unknown) => {
        relay.log.error({ err }, 'shutdown failed');
        exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
