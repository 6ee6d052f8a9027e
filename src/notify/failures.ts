import type { Logger } from 'pino';
import type { AttemptInfo, PipelineBus } from '../pipeline/bus.js';
import type { Clock } from '../lib/clock.js';
import type { Store } from '../store/db.js';
import { findLatestAttempt } from '../store/attempts.js';
import { findEventsByIds } from '../store/events.js';
import {
  claimFailureNotice,
  endFailureEpisode,
  listCallbacksFailingSince,
  recordCallbackFailure,
  resetCallbackHealth,
  startFailureEpisode,
} from '../store/health.js';
import { disableCallback, type LifecycleDeps } from '../routing/lifecycle.js';
import type { CallbackRegistry } from '../routing/registry.js';
import type { NoticeSender } from './notices.js';
import { isOperational, type AccountEvents } from './operational.js';
import { disabledNotice, failureNotice, recoveryNotice } from './texts.js';

export interface FailureOptions {
  /** At most one failure notice per callback this often (a flapping receiver is not a mail storm). */
  noticeIntervalMs: number;
  /** Failing without a success this long disables the callback; 0: never. */
  autoDisableAfterMs: number;
  /** This many exhausted deliveries without a success disable the callback; 0: never. */
  autoDisableExhausted: number;
}

export interface FailureDeps {
  store: Store;
  registry: CallbackRegistry;
  bus: PipelineBus;
  clock: Clock;
  log: Logger;
  notices: NoticeSender;
  events: AccountEvents;
}

/** Disables by the API are the customer's own doing: no notice for those. */
const MANUAL_REASONS = new Set(['disabled by the API', 'disabled on creation']);
/** Within this, a success seen as healthy needs no database check (the hot path stays read-free). */
const HEALTHY_CACHE_MS = 5000;

/**
 * Follows each callback's failure episodes from the worker's outcome events: a failure notice
 * (e-mail, Telegram) when an episode starts, a recovery notice when it ends, auto-disable when it
 * lasts too long or exhausts too many deliveries, and the operational events `delivery.failing`,
 * `delivery.exhausted`, `delivery.recovered`, `callback.disabled`, `callback.enabled`.
 * Episodes live in `callback_health`, so they survive restarts and are shared by processes.
 */
export class FailureMonitor {
  /** Per callback: processing is sequential, so one episode start is seen once per process. */
  private chains = new Map<string, Promise<void>>();
  /** Callbacks seen healthy at this time: their successes need no write. */
  private healthyAt = new Map<string, number>();

  constructor(
    private readonly deps: FailureDeps,
    private readonly opts: FailureOptions,
  ) {}

  attach(): () => void {
    const { bus } = this.deps;
    const offs = [
      bus.on('delivery.succeeded', (info) => {
        // The hot path: a success of a callback seen healthy, with nothing of it queued, changes nothing.
        if (!this.chains.has(info.callbackId) && this.seenHealthy(info.callbackId)) return;
        return this.serial(info.callbackId, () => this.onSuccess(info));
      }),
      bus.on('delivery.retrying', (info) => this.serial(info.callbackId, () => this.onFailure(info, false))),
      bus.on('delivery.exhausted', (info) => this.serial(info.callbackId, () => this.onFailure(info, true))),
      bus.on('callback.disabled', (e) => this.onDisabled(e.accountId, e.callbackId, e.reason)),
      bus.on('callback.enabled', (e) => this.serial(e.callbackId, () => this.onEnabled(e.accountId, e.callbackId))),
    ];
    return () => offs.forEach((off) => off());
  }

  /** Waits for the work queued so far (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.chains.size > 0) await Promise.all([...this.chains.values()]);
  }

  private serial(callbackId: string, fn: () => Promise<void>): Promise<void> {
    const prev = this.chains.get(callbackId) ?? Promise.resolve();
    const next = prev.then(fn).catch((err: unknown) => this.deps.log.error({ err, callbackId }, 'failure monitor listener failed'));
    this.chains.set(callbackId, next);
    void next.finally(() => {
      if (this.chains.get(callbackId) === next) this.chains.delete(callbackId);
    });
    return next;
  }

  private seenHealthy(callbackId: string): boolean {
    const now = this.deps.clock.now();
    const seen = this.healthyAt.get(callbackId);
    return seen !== undefined && now - seen < HEALTHY_CACHE_MS && now >= seen;
  }

  private async onSuccess(info: AttemptInfo): Promise<void> {
    if (this.seenHealthy(info.callbackId)) return;
    const now = this.deps.clock.now();
    const ended = await endFailureEpisode(this.deps.store.db, info.callbackId, now);
    this.healthyAt.set(info.callbackId, now);
    if (!ended) return;
    const cb = this.deps.registry.get(info.callbackId);
    this.deps.log.info({ callbackId: info.callbackId }, 'callback recovered');
    if (cb && ended.failure_noticed === 1) {
      const n = recoveryNotice(cb, now);
      await this.deps.notices.send(
        { accountId: info.accountId, callbackId: info.callbackId, kind: 'recovery', ...n },
        await this.deps.notices.forCallback(info.accountId, info.callbackId),
      );
    }
    void this.deps.events.emit(info.accountId, 'delivery.recovered', opData(info, cb?.title, null));
  }

  private async onFailure(info: AttemptInfo, exhausted: boolean): Promise<void> {
    const { store, clock } = this.deps;
    const db = store.db;
    const now = clock.now();
    this.healthyAt.delete(info.callbackId);
    const reason = info.outcome.kind === 'success' ? 'success' : info.outcome.reason;
    const started = await startFailureEpisode(db, info.callbackId, info.accountId, now);
    const episode = await recordCallbackFailure(db, info.callbackId, { now, error: reason, exhausted });
    const cb = this.deps.registry.get(info.callbackId);
    // Operational events are never emitted about deliveries OF operational events: a callback
    // subscribed to them whose deliveries fail would otherwise feed itself forever.
    const aboutOperational = isOperational(info.eventType);
    if (started) {
      this.deps.log.warn({ callbackId: info.callbackId, reason }, 'callback started failing');
      if (cb && (await claimFailureNotice(db, info.callbackId, now, this.opts.noticeIntervalMs))) {
        const [attempt, events] = await Promise.all([findLatestAttempt(db, info.deliveryId), findEventsByIds(db, this.deps.store.caps, [info.eventId])]);
        const n = failureNotice(cb, now, attempt, events[0], { autoDisableAfter: describeDuration(this.opts.autoDisableAfterMs) });
        await this.deps.notices.send(
          { accountId: info.accountId, callbackId: info.callbackId, kind: 'failure', ...n },
          await this.deps.notices.forCallback(info.accountId, info.callbackId),
        );
      }
      if (!aboutOperational) void this.deps.events.emit(info.accountId, 'delivery.failing', opData(info, cb?.title, reason));
    }
    if (exhausted && !aboutOperational) void this.deps.events.emit(info.accountId, 'delivery.exhausted', opData(info, cb?.title, reason));
    if (!episode || !cb?.enabled) return;
    const { autoDisableAfterMs, autoDisableExhausted } = this.opts;
    if (autoDisableExhausted > 0 && episode.exhausted_count >= autoDisableExhausted) {
      await this.autoDisable(info.accountId, info.callbackId, `${episode.exhausted_count} deliveries failed after every attempt without a success in between`);
    } else if (autoDisableAfterMs > 0 && episode.failing_since !== null && now - episode.failing_since >= autoDisableAfterMs) {
      await this.autoDisable(info.accountId, info.callbackId, `failing without a success since ${new Date(episode.failing_since).toISOString()}`);
    }
  }

  private async autoDisable(accountId: string, callbackId: string, reason: string): Promise<void> {
    const deps: LifecycleDeps = this.deps;
    if (await disableCallback(deps, accountId, callbackId, `auto-disabled: ${reason}`)) {
      this.deps.log.warn({ callbackId, reason }, 'callback auto-disabled');
    }
  }

  /** The periodic check: callbacks failing too long get disabled even when nothing is attempted. */
  async disableLongFailing(): Promise<number> {
    if (this.opts.autoDisableAfterMs <= 0) return 0;
    const now = this.deps.clock.now();
    let n = 0;
    for (const row of await listCallbacksFailingSince(this.deps.store.db, now - this.opts.autoDisableAfterMs)) {
      if (!this.deps.registry.get(row.callback_id)?.enabled) continue;
      await this.autoDisable(row.account_id, row.callback_id, `failing without a success since ${new Date(row.failing_since!).toISOString()}`);
      n++;
    }
    return n;
  }

  private async onDisabled(accountId: string, callbackId: string, reason: string): Promise<void> {
    const cb = this.deps.registry.get(callbackId);
    const data = { callback_id: callbackId, callback_title: cb?.title ?? null, reason };
    void this.deps.events.emit(accountId, 'callback.disabled', data);
    if (!cb || MANUAL_REASONS.has(reason)) return;
    const n = disabledNotice(cb, this.deps.clock.now(), reason);
    await this.deps.notices.send({ accountId, callbackId, kind: 'disabled', ...n }, await this.deps.notices.forCallback(accountId, callbackId));
  }

  private async onEnabled(accountId: string, callbackId: string): Promise<void> {
    await resetCallbackHealth(this.deps.store.db, callbackId, this.deps.clock.now());
    this.healthyAt.delete(callbackId);
    const cb = this.deps.registry.get(callbackId);
    void this.deps.events.emit(accountId, 'callback.enabled', { callback_id: callbackId, callback_title: cb?.title ?? null });
  }
}

function opData(info: AttemptInfo, title: string | undefined, reason: string | null): Record<string, unknown> {
  return {
    callback_id: info.callbackId,
    callback_title: title ?? null,
    delivery_id: info.deliveryId,
    event_id: info.eventId,
    event_type: info.eventType,
    reason,
    attempts: info.attempt,
  };
}

export function describeDuration(ms: number): string | null {
  if (ms <= 0) return null;
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} day${ms === 86_400_000 ? '' : 's'}`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${ms / 1000} s`;
}
