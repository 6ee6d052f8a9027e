import type { Logger } from 'pino';
import type { Clock } from './lib/clock.js';
import type { Store } from './store/db.js';
import { expireIdempotencyKeys } from './store/events.js';
import { IDEMPOTENCY_WINDOW_MS } from './ingest/ingest.js';

/**
 * The session lock that makes one scheduler run among the processes of one schema on PostgreSQL
 * (the store pairs it with its schema: relays on two schemas each run their own).
 */
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
 * The holder asks too, before every job: its session may have ended (a database restart) and the
 * lock gone to another process, which must then be the only one running jobs.
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
        const now = this.deps.clock.now();
        for (const job of this.jobs) {
          if (this.stopping.signal.aborted) break;
          if (now - (this.lastRun.get(job.name) ?? 0) < job.everyMs) continue;
          if (!(await this.lead())) return;
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

  /** Whether this process holds the scheduler lock now (taking it if free); logs changes. */
  private async lead(): Promise<boolean> {
    let leader = false;
    try {
      leader = await this.deps.store.tryLock(SCHEDULER_LOCK_KEY);
    } finally {
      if (leader !== this.leader) {
        if (leader) this.deps.log.info('this process runs the scheduler');
        else this.deps.log.warn('the scheduler lock was lost; another process may run the scheduler now');
      }
      this.leader = leader;
    }
    return leader;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.stopping.abort();
    if (this.running) await this.running;
  }
}
