import { setImmediate as yieldTurn } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Clock } from './lib/clock.js';
import type { Job } from './scheduler.js';
import type { Store } from './store/db.js';
import { deleteExpiredInboundRequests } from './store/inbound.js';
import { deleteExpiredNotices } from './store/notices.js';
import { deleteExpiredReportRuns } from './store/reports.js';
import { deleteExpiredRollups, refreshRollupTotalsAfterPurge } from './store/rollups.js';
import {
  deleteAttemptsOfDeliveries,
  deleteEventsWithoutDeliveries,
  deleteFinishedDeliveries,
  deleteTestAttempts,
  findOldEvents,
  listRetentionPolicies,
  lockPurgeableDeliveries,
  type EventCursor,
  type RetentionPolicyRow,
} from './store/retention.js';

const DAY_MS = 86_400_000;

export interface RetentionOptions {
  /** The relay's retention (RELAY_RETENTION) for accounts without their own; 0: forever. */
  defaultMs: number;
  /** Rows a batch takes at most: deliveries (with their attempts and events), events or test calls. */
  batchSize?: number;
  /** Batches one run takes at most; the rest waits for the next run, so other jobs are not held up. */
  maxBatches?: number;
}

/** What a purge removed, and in how many batches (each a short transaction of its own). */
export interface PurgeCounts {
  batches: number;
  deliveries: number;
  attempts: number;
  events: number;
  /** Requests received at /inbound/{token} (present once some were purged). */
  inbound?: number;
  /** Hourly statistics rows (delivery_rollups) of hours ended before the retention (present once some were purged). */
  rollups?: number;
  /** Failure notices (e-mail, Telegram, operational events) sent before the retention (present once some were purged). */
  notices?: number;
  /** Report runs of periods that ended before the retention (present once some were purged). */
  reportRuns?: number;
}

/**
 * Before when an account's history may go, or null to keep it: its own retention (days) or the
 * relay's; never what a report still has to count (finished since the next report period began).
 *
 * @example purgeBefore({ account_id: 'acc_1', retention_days: 7, report_next_at: null }, 0, now) === now - 7 days
 */
export function purgeBefore(policy: RetentionPolicyRow, defaultMs: number, now: number): number | null {
  const ms = policy.retention_days === null ? defaultMs : policy.retention_days * DAY_MS;
  if (ms <= 0) return null;
  return policy.report_next_at === null ? now - ms : Math.min(now - ms, policy.report_next_at);
}

/**
 * Purges finished deliveries (delivered, failed) with their attempts, and events once none of their
 * deliveries is left, older than each account's retention; owed deliveries (pending, leased, held)
 * and their events are never touched. Requests received by the inbound gateway go by the same
 * retention, except those not mapped yet; so do failure notices and report runs. In batches of `batchSize` rows, each its own short
 * transaction, yielding between them so ingest and delivery get the database (on SQLite: the one
 * connection and the event loop) in between.
 */
export class RetentionPurger {
  /**
   * Per account: how far the walk through old events got (see oldEventsStatement). In memory: a
   * process that becomes the scheduler walks once from the oldest event, stepping over the owed ones.
   */
  private readonly cursors = new Map<string, EventCursor>();
  private readonly batchSize: number;
  private readonly maxBatches: number;

  constructor(
    private readonly deps: { store: Store; clock: Clock; log: Logger },
    private readonly opts: RetentionOptions,
  ) {
    this.batchSize = opts.batchSize ?? 500;
    this.maxBatches = opts.maxBatches ?? 200;
  }

  /** The scheduler's job: every minute, up to maxBatches batches. */
  job(everyMs = 60_000): Job {
    return { name: 'purge-expired-history', everyMs, run: (signal) => this.purge(signal) };
  }

  /** One run over every account; stops early once `signal` is aborted (shutdown) or maxBatches ran. */
  async purge(signal?: AbortSignal): Promise<PurgeCounts> {
    const counts: PurgeCounts = { batches: 0, deliveries: 0, attempts: 0, events: 0 };
    const more = () => counts.batches < this.maxBatches && !signal?.aborted;
    const now = this.deps.clock.now();
    for (const policy of await listRetentionPolicies(this.deps.store.db)) {
      if (!more()) break;
      const before = purgeBefore(policy, this.opts.defaultMs, now);
      if (before !== null) await this.purgeAccount(policy.account_id, before, counts, more);
    }
    if (counts.batches > 0) this.deps.log.info({ ...counts }, 'retention: purged expired history');
    return counts;
  }

  private async purgeAccount(accountId: string, before: number, counts: PurgeCounts, more: () => boolean): Promise<void> {
    const { store } = this.deps;
    const size = this.batchSize;
    // Finished deliveries, oldest first: their attempts, them, then their events if nothing else is left.
    while (more()) {
      const batch = await store.relaxed(async (trx) => {
        const rows = await lockPurgeableDeliveries(trx, store.caps, accountId, before, size);
        if (rows.length === 0) return undefined;
        const ids = rows.map((r) => r.id);
        const attempts = await deleteAttemptsOfDeliveries(trx, store.caps, ids);
        const deliveries = await deleteFinishedDeliveries(trx, store.caps, ids);
        const events = await deleteEventsWithoutDeliveries(trx, store.caps, rows.map((r) => r.event_id), before);
        return { found: rows.length, attempts, deliveries, events };
      });
      if (!batch) break;
      counts.batches += 1;
      counts.attempts += batch.attempts;
      counts.deliveries += batch.deliveries;
      counts.events += batch.events;
      if (batch.found < size) break;
      await yieldTurn();
    }
    // Events that never had a delivery (no callback wanted them): a walk by age from where it stopped.
    while (more()) {
      const found = await findOldEvents(store.db, accountId, this.cursors.get(accountId) ?? null, before, size);
      if (found.length === 0) break;
      this.cursors.set(accountId, found[found.length - 1]!);
      counts.batches += 1;
      counts.events += await store.relaxed((trx) => deleteEventsWithoutDeliveries(trx, store.caps, found.map((e) => e.id), before));
      if (found.length < size) break;
      await yieldTurn();
    }
    // A statement deleting at most `size` rows, run until it deletes fewer.
    const deleteInBatches = async (count: (n: number) => void, batch: () => Promise<number>) => {
      while (more()) {
        const n = await batch();
        if (n === 0) break;
        counts.batches += 1;
        count(n);
        if (n < size) break;
        await yieldTurn();
      }
    };
    // Test calls (/test) belong to no delivery.
    await deleteInBatches((n) => (counts.attempts += n), () => deleteTestAttempts(store.db, store.caps, accountId, before, size));
    // Raw requests of the inbound gateway (those still to be mapped stay).
    await deleteInBatches((n) => (counts.inbound = (counts.inbound ?? 0) + n), () => deleteExpiredInboundRequests(store.db, store.caps, accountId, before, size));
    // Failure notices, oldest first.
    await deleteInBatches((n) => (counts.notices = (counts.notices ?? 0) + n), () => deleteExpiredNotices(store.db, accountId, before, size));
    // Report runs (one a period: a handful a month).
    if (more()) {
      const n = await deleteExpiredReportRuns(store.db, accountId, before);
      if (n > 0) {
        counts.batches += 1;
        counts.reportRuns = (counts.reportRuns ?? 0) + n;
      }
    }
    // Hourly statistics (delivery_rollups) of hours that ended before the retention, an hour a batch;
    // then the overview's totals, if they summed some of those hours (a retention under 8 days).
    let rollups = 0;
    while (more()) {
      const n = await deleteExpiredRollups(store.db, accountId, before);
      if (n === 0) break;
      counts.batches += 1;
      rollups += n;
      await yieldTurn();
    }
    if (rollups > 0) {
      counts.rollups = (counts.rollups ?? 0) + rollups;
      await store.db.transaction().execute((trx) => refreshRollupTotalsAfterPurge(trx, accountId, before));
    }
  }
}
