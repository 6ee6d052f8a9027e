import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The Prometheus metrics of one relay instance (own registry, so tests can run several). */
export class Metrics {
  readonly registry = new Registry();
  readonly deliveries = new Counter({
    name: 'relay_deliveries_total',
    help: 'Finished delivery attempts by outcome (success, retryable, permanent)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly attemptSeconds = new Histogram({
    name: 'relay_attempt_duration_seconds',
    help: 'Duration of delivery attempts, from request start to response body read',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60],
    registers: [this.registry],
  });
  readonly eventsIngested = new Counter({
    name: 'relay_events_ingested_total',
    help: 'Events accepted (acknowledged durable)',
    registers: [this.registry],
  });

  readonly inboundRequests = new Counter({
    name: 'relay_inbound_requests_total',
    help: 'Requests at /inbound/{token} by source format and outcome (stored, refused: bad signature, check: a vendor URL check answered)',
    labelNames: ['format', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly inboundMapped = new Counter({
    name: 'relay_inbound_mapped_total',
    help: 'Stored inbound requests mapped, by resulting state (mapped, unmapped, failed)',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  constructor(queue?: () => Promise<{ depth: number; oldestDueAt: number | null }>, now: () => number = Date.now) {
    collectDefaultMetrics({ register: this.registry });
    if (queue) {
      let last: Promise<{ depth: number; oldestDueAt: number | null }> | undefined;
      // Both gauges read one query per scrape.
      const read = () => (last ??= queue().finally(() => setTimeout(() => (last = undefined), 50)));
      new Gauge({
        name: 'relay_queue_depth',
        help: 'Deliveries owed (pending, including in flight)',
        registers: [this.registry],
        async collect() {
          this.set((await read()).depth);
        },
      });
      new Gauge({
        name: 'relay_queue_oldest_due_age_seconds',
        help: 'How long the oldest owed delivery has been due (0 when none is late)',
        registers: [this.registry],
        async collect() {
          const { oldestDueAt } = await read();
          this.set(oldestDueAt === null ? 0 : Math.max(0, (now() - oldestDueAt) / 1000));
        },
      });
    }
  }
}
