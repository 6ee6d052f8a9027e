import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { notFound } from '../../errors.js';
import { findCallback } from '../../store/callbacks.js';
import { rollupsThrough } from '../../store/rollups.js';
import { accountActivity, accountQueue, callbackStats, callbackTitles } from '../../store/stats.js';
import type { AppDeps } from '../app.js';
import { ErrorBody, isoTime } from './common.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Each window and the width of its buckets. */
const WINDOWS = { '24h': { ms: DAY, bucketMs: HOUR }, '7d': { ms: 7 * DAY, bucketMs: 6 * HOUR } } as const;

const Rate = Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()], { description: 'delivered / (delivered + failed); null when neither' });
const Ms = Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]);
const Count = Type.Integer({ minimum: 0 });

const CallbackStatsOut = Type.Object({
  callback_id: Type.String(),
  window: Type.Union([Type.Literal('24h'), Type.Literal('7d')]),
  bucket_seconds: Type.Integer(),
  totals: Type.Object({ delivered: Count, failed: Count, pending: Count, held: Count, success_rate: Rate, latency_p50_ms: Ms, latency_p95_ms: Ms }),
  buckets: Type.Array(Type.Object({ start: Type.String({ format: 'date-time' }), delivered: Count, failed: Count, success_rate: Rate, latency_avg_ms: Ms })),
});

const AccountStatsOut = Type.Object({
  queue: Type.Object({
    pending: Count,
    due_now: Count,
    oldest_due_age_seconds: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
    in_flight: Count,
    held: Count,
  }),
  last_24h: Type.Object({ delivered: Count, failed: Count }),
  callbacks: Type.Array(
    Type.Object({ callback_id: Type.String(), title: Type.String(), delivered_24h: Count, failed_24h: Count, pending: Count, delivered_7d: Count, failed_7d: Count }),
    { maxItems: 100 },
  ),
});

const rate = (delivered: number, failed: number) => (delivered + failed === 0 ? null : delivered / (delivered + failed));

/** Statistics for the dashboard's overview and callback pages, aggregated in SQL over indexed ranges. */
export function statsRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const db = deps.store.db;

    app.get(
      '/callbacks/:id/stats',
      {
        schema: {
          tags: ['callbacks'],
          operationId: 'getCallbackStats',
          summary: "A callback's deliveries over time: delivered, failed, success rate and latency per bucket",
          description:
            'The window is whole buckets (1 h for 24h, 6 h for 7d) ending with the current one. Delivered and failed count finished deliveries by completion time; latency is over delivery attempts by start time; pending and held are what the callback owes now. ' +
            'Closed hours are read from hourly rollups (written a few minutes after each hour ends), the rest is aggregated live. latency_p50_ms and latency_p95_ms are nearest-rank percentiles: exact over the hours not rolled up yet; over rolled-up hours each attempt counts as the upper bound of its latency bucket (25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000 ms, above: the hour\'s maximum), capped at that hour\'s maximum, so they may be up to one bucket high. ' +
            'Counts are of what finished in each hour as recorded when the hour was rolled up: a failed delivery retried later still counts as failed in the hour it failed.',
          params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 255 }) }, { additionalProperties: false }),
          querystring: Type.Object({ window: Type.Union([Type.Literal('24h'), Type.Literal('7d')], { default: '24h' }) }, { additionalProperties: false }),
          response: { 200: CallbackStatsOut, 404: ErrorBody, 422: ErrorBody },
        },
      },
      async (req) => {
        const accountId = req.principal.accountId;
        if (!(await findCallback(db, accountId, req.params.id))) throw notFound(`callback ${req.params.id}`);
        const w = WINDOWS[req.query.window];
        const to = Math.floor(deps.clock.now() / w.bucketMs) * w.bucketMs + w.bucketMs;
        const s = await callbackStats(db, accountId, req.params.id, to - w.ms, to, w.bucketMs, await rollupsThrough(db));
        return {
          callback_id: req.params.id,
          window: req.query.window,
          bucket_seconds: w.bucketMs / 1000,
          totals: {
            delivered: s.delivered,
            failed: s.failed,
            pending: s.pending,
            held: s.held,
            success_rate: rate(s.delivered, s.failed),
            latency_p50_ms: s.latencyP50Ms,
            latency_p95_ms: s.latencyP95Ms,
          },
          buckets: s.buckets.map((b) => ({
            start: isoTime(b.start),
            delivered: b.delivered,
            failed: b.failed,
            success_rate: rate(b.delivered, b.failed),
            latency_avg_ms: b.latencyAvgMs,
          })),
        };
      },
    );

    app.get(
      '/stats',
      {
        schema: {
          tags: ['stats'],
          operationId: 'getAccountStats',
          summary: "The account's queue now, its last 24 hours, and its 100 busiest callbacks",
          description:
            'queue: owed deliveries (pending, of which due_now and in_flight; oldest_due_age_seconds of the oldest due one) and held ones, counted live. callbacks: the 100 with the most deliveries finished in 7 days plus pending, busiest first (deleted callbacks left out). ' +
            '24 h is the current hour and the 23 whole hours before it, 7 days the current hour and the 167 before it; closed hours are read from hourly rollups (written a few minutes after each hour ends), the rest is aggregated live.',
          response: { 200: AccountStatsOut },
        },
      },
      async (req) => {
        const accountId = req.principal.accountId;
        const now = deps.clock.now();
        const q = await accountQueue(db, accountId, now);
        // Whole hours: the current one and the 23 (167) before it, as the 24h callback statistics.
        const hour = Math.floor(now / HOUR) * HOUR;
        const activity = await accountActivity(db, accountId, hour - DAY + HOUR, hour - 7 * DAY + HOUR, now, await rollupsThrough(db), q.perCallback);
        const busy = (a: (typeof activity)[number]) => a.delivered7d + a.failed7d + a.pending;
        activity.sort((a, b) => busy(b) - busy(a) || (a.callbackId < b.callbackId ? -1 : 1));
        const top = activity.slice(0, 150);
        const titles = await callbackTitles(db, accountId, top.map((a) => a.callbackId));
        return {
          queue: {
            pending: q.pending,
            due_now: q.dueNow,
            oldest_due_age_seconds: q.oldestDueAt === null ? null : Math.max(0, Math.floor((now - q.oldestDueAt) / 1000)),
            in_flight: q.inFlight,
            held: q.held,
          },
          last_24h: { delivered: activity.reduce((n, a) => n + a.delivered24h, 0), failed: activity.reduce((n, a) => n + a.failed24h, 0) },
          callbacks: top
            .filter((a) => titles.has(a.callbackId))
            .slice(0, 100)
            .map((a) => ({
              callback_id: a.callbackId,
              title: titles.get(a.callbackId)!,
              delivered_24h: a.delivered24h,
              failed_24h: a.failed24h,
              pending: a.pending,
              delivered_7d: a.delivered7d,
              failed_7d: a.failed7d,
            })),
        };
      },
    );
  };
}
