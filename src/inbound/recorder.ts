import type { Store } from '../store/db.js';
import { insertInboundRequests } from '../store/inbound.js';
import type { NewInboundRequest } from '../store/schema.js';

/** Rows one insert takes at most (13 parameters each, well inside SQLite's 32,766). */
const MAX_GROUP = 500;

/**
 * Stores received requests durably before they are answered. Requests arriving together share one
 * insert (group commit, as the Ingestor does for events): each `record` resolves once its row is
 * committed, and a failing group falls back to one insert per row, so one bad row never fails others.
 */
export class InboundRecorder {
  private queue: { row: NewInboundRequest; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private running: Promise<void> | undefined;
  private scheduled = false;

  constructor(private readonly store: Store) {}

  record(row: NewInboundRequest): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ row, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    // One insert at a time; the next group collects while it commits.
    while (this.running) await this.running;
    this.scheduled = false;
    while (this.queue.length > 0) {
      const group = this.queue.splice(0, MAX_GROUP);
      this.running = this.write(group);
      await this.running;
      this.running = undefined;
    }
  }

  private async write(group: typeof this.queue): Promise<void> {
    try {
      await insertInboundRequests(this.store.db, group.map((g) => g.row));
      for (const g of group) g.resolve();
    } catch (err) {
      if (group.length === 1) return group[0]!.reject(err);
      for (const g of group) {
        try {
          await insertInboundRequests(this.store.db, [g.row]);
          g.resolve();
        } catch (e) {
          g.reject(e);
        }
      }
    }
  }

  /** Waits until every request accepted so far is committed (shutdown). */
  async flush(): Promise<void> {
    while (this.queue.length > 0 || this.running || this.scheduled) {
      if (this.running) await this.running;
      else await new Promise((r) => setImmediate(r));
    }
  }
}
