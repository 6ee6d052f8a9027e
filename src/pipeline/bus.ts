import type { Logger } from 'pino';

/**
 * The typed events between the pipeline's stages (ingest, routing, delivery, notify): their vocabulary
 * and the bus that carries them. Here rather than in one stage, so a stage that emits or listens
 * imports no other stage for it.
 */

/**
 * What a receiver's answer means for the delivery. Receivers misbehaving is an outcome, not an
 * exception: success, retryable (try again per the schedule) or permanent (stop now).
 * delivery/outcome.ts classifies answers into it.
 */
export type Outcome =
  | { kind: 'success'; status: number }
  | { kind: 'retryable'; status: number | null; reason: string; retryAfterMs: number | null }
  | { kind: 'permanent'; status: number | null; reason: string; disableCallback: boolean };

export interface AttemptInfo {
  deliveryId: number;
  accountId: string;
  callbackId: string;
  eventId: string;
  eventType: string;
  /** 1 for the first attempt. */
  attempt: number;
  outcome: Outcome;
  durationMs: number;
  errorClass: string | null;
}

/** Emitted by delivery (attempts, outcomes), routing (enable, disable) and ingest (what was stored); notify subscribes. */
export interface PipelineEvents {
  'delivery.attempted': AttemptInfo;
  'delivery.succeeded': AttemptInfo;
  /** A retryable failure, with the next attempt scheduled. */
  'delivery.retrying': AttemptInfo & { nextAttemptAt: number };
  /** No attempt left, or a permanent failure: the delivery is `failed`. */
  'delivery.exhausted': AttemptInfo;
  /** The receiver answered 410 Gone. */
  'callback.gone': { accountId: string; callbackId: string };
  'callback.disabled': { accountId: string; callbackId: string; reason: string };
  'callback.enabled': { accountId: string; callbackId: string };
  /** Events were committed (after the ingest transaction); alert rules evaluate them. */
  'events.ingested': IngestedEvents;
}

export interface IngestedEvents {
  accountId: string;
  apiUser: string | null;
  events: { id: string; type: string; data: unknown; resourceId: string | null }[];
}

type Listener<T> = (payload: T) => void | Promise<void>;

/** A failing listener is logged and never stops the emitter or the other listeners. */
export class PipelineBus {
  private listeners = new Map<keyof PipelineEvents, Listener<never>[]>();

  constructor(private readonly log: Logger) {}

  on<K extends keyof PipelineEvents>(name: K, listener: Listener<PipelineEvents[K]>): () => void {
    const list = this.listeners.get(name) ?? [];
    list.push(listener as Listener<never>);
    this.listeners.set(name, list);
    return () => {
      const current = this.listeners.get(name) ?? [];
      this.listeners.set(name, current.filter((l) => l !== (listener as Listener<never>)));
    };
  }

  has(name: keyof PipelineEvents): boolean {
    return (this.listeners.get(name)?.length ?? 0) > 0;
  }

  emit<K extends keyof PipelineEvents>(name: K, payload: PipelineEvents[K]): void {
    for (const listener of this.listeners.get(name) ?? []) {
      try {
        const result = (listener as Listener<PipelineEvents[K]>)(payload);
        if (result instanceof Promise) result.catch((err: unknown) => this.log.error({ err, event: name }, 'listener failed'));
      } catch (err) {
        this.log.error({ err, event: name }, 'listener failed');
      }
    }
  }
}
