import type { Logger } from 'pino';
import { eventTypeByName } from '../catalogue/event-types.js';
import type { EventInput, Principal } from '../ingest/ingest.js';
import type { CallbackRegistry } from '../routing/registry.js';

/** The relay's own events (callback.disabled … delivery.recovered): channel `relay` of the catalogue. */
export function isOperational(type: string): boolean {
  return eventTypeByName(type)?.channel === 'relay';
}

export interface OperationalDeps {
  ingest: (principal: Principal, inputs: EventInput[]) => Promise<string[]>;
  registry: CallbackRegistry;
  clock: { now(): number };
  log: Logger;
}

/**
 * Ingests operational and alert events for an account, so its callbacks can subscribe to them.
 * Only when a callback of the account subscribes (nothing is stored for nobody); fire and forget:
 * a failure is logged, never thrown at the outcome listener that asked.
 */
export class AccountEvents {
  constructor(private readonly deps: OperationalDeps) {}

  emit(accountId: string, type: string, data: Record<string, unknown>): Promise<void> {
    if (this.deps.registry.route(accountId, null, type, null).length === 0) return Promise.resolve();
    return this.deps
      .ingest({ accountId, apiUser: null }, [{ type, data: { ...data, event_time: new Date(this.deps.clock.now()).toISOString() } }])
      .then(() => undefined)
      .catch((err: unknown) => this.deps.log.error({ err, type, accountId }, 'ingesting an operational event failed'));
  }
}
