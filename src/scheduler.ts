import type { Logger } from 'pino';
import type { Clock } from './lib/clock.js';
import type { Store } from './store/db.js';
import { expireIdempotencyKeys } from './store/events.js';
import { IDEMPOTENCY_WINDOW_MS } from './ingest/ingest.js';

/** The session lock that makes one scheduler run among many processes on PostgreSQL. */
export const SCHEDULER_LOCK_KEY = 0x5e1a7;

export interface Job {
  name: string;
  everyMs: number;
  /** `signal` is aborted when the scheduler stops: a long job (the retention purge) ends early. */
  run: (signal: AbortSignal) => Promise<unknown>;
}

/**
 * Periodic housekeeping. Only the process holding the scheduler lock runs jobs; the others keep
 * asking, so one takes over when the holder dies (its session, and so its lock, ends with it).
 */
export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private leader = false;
  private lastRun = new Map<string, number>();
  private readonly jobs: Job[];
  private running: Promise<void> | undefined;
  private readonly stopping = new AbortController();

  constructor(private readonly deps: { store: Store; clock: Clock; log: Logger; jobs?: Job[] }) {
    this.jobs = [
      ...(deps.jobs ?? []),
      {
        name: 'expire-idempotency-keys',
        everyMs: 10 * 60_000,
        run: () => expireIdempotencyKeys(deps.store.db, deps.clock.now() - IDEMPOTENCY_WINDOW_MS),
      },
    ];
  }

  start(tickMs = 5000): void {
    this.timer = setInterval(() => void this.tick(), tickMs);
    this.timer.unref();
    void this.tick();
  }

  async tick(): Promise<void> {
    if (this.running) return;
    this.running = (async () => {
      try {
        if (!this.leader) this.leader = await this.deps.store.tryLock(SCHEDULER_LOCK_KEY);
        if (!this.leader) return;
        const now = this.deps.clock.now();
        for (const job of this.jobs) {
          if (this.stopping.signal.aborted) break;
          if (now - (this.lastRun.get(job.name) ?? 0) < job.everyMs) continue;
          this.lastRun.set(job.name, now);
          try {
            await job.run(this.stopping.signal);
          } catch (err) {
            this.deps.log.error({ err, job: job.name }, 'scheduled job failed');
          }
        }
      } catch (err) {
        this.deps.log.warn({ err }, 'scheduler tick failed');
      }
    })();
    await this.running;
    this.running = undefined;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.stopping.abort();
    if (this.running) await this.running;
  }
}
