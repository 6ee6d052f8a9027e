import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { notFound } from '../../errors.js';
import { countDeliveriesOfEvents, findEvent, listEvents } from '../../store/events.js';
import { listDeliveries } from '../../store/deliveries.js';
import type { AppDeps } from '../app.js';
import { ErrorBody, Paging, isoTime, parseTime } from './common.js';
import { COUNT_AHEAD } from '../../store/pieces.js';
import { deliveryJson } from './deliveries.js';

/** Stored as text: no NUL (PostgreSQL text cannot hold one). */
const IdText = Type.String({ minLength: 1, maxLength: 255, pattern: '^[^\\u0000]*$' });

const EventIn = Type.Object(
  {
    type: Type.String({ minLength: 1, maxLength: 100, description: 'An event type name from GET /v1/event-types' }),
    data: Type.Record(Type.String(), Type.Unknown(), { description: 'The event payload' }),
    id: Type.Optional(IdText),
    resource_id: Type.Optional(IdText),
    callback_profile_id: Type.Optional(IdText),
    custom_args: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);

export const MAX_BATCH = 1000;

const Count = Type.Integer({ minimum: 0 });
const EventList = Type.Object({
  data: Type.Array(
    Type.Object({
      id: Type.String(),
      type: Type.String(),
      resource_id: Type.Union([Type.String(), Type.Null()]),
      created_at: Type.String({ format: 'date-time' }),
      data: Type.Record(Type.String(), Type.Unknown()),
      deliveries: Type.Object({ total: Count, delivered: Count, failed: Count, pending: Count, held: Count }),
    }),
  ),
  total: Type.Integer({ description: `The matches, counted up to offset + ${COUNT_AHEAD}` }),
  total_exact: Type.Boolean({ description: 'false: there are more than total' }),
  offset: Type.Integer(),
  limit: Type.Integer(),
});

export function eventRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const tags = ['events'];

    app.post(
      '/events',
      {
        schema: {
          tags,
          summary: 'Publish one event',
          description:
            'Stored durably with one delivery per matching callback before the 202. The same `Idempotency-Key` header (or event `id`) within 24 h returns the original id and stores nothing; the key reused with another request is 409 conflict.',
          headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255 })) }),
          body: EventIn,
          response: { 202: Type.Object({ id: Type.String() }), 409: ErrorBody, 422: ErrorBody },
        },
      },
      async (req, reply) => {
        const key = req.headers['idempotency-key'];
        const [id] = await deps.ingestor.ingest(req.principal, [req.body], typeof key === 'string' ? { idempotencyKey: key } : {});
        deps.metrics.eventsIngested.inc();
        return reply.code(202).send({ id: id! });
      },
    );

    app.post(
      '/events/batch',
      {
        schema: {
          tags,
          summary: `Publish up to ${MAX_BATCH} events at once`,
          description: 'All or nothing: one invalid event refuses the whole batch, naming it. Each event `id` is its idempotency key.',
          body: Type.Object({ events: Type.Array(EventIn, { minItems: 1, maxItems: MAX_BATCH }) }, { additionalProperties: false }),
          response: { 202: Type.Object({ ids: Type.Array(Type.String()) }), 409: ErrorBody, 422: ErrorBody },
        },
      },
      async (req, reply) => {
        const ids = await deps.ingestor.ingest(req.principal, req.body.events, { batch: true });
        deps.metrics.eventsIngested.inc(req.body.events.length);
        return reply.code(202).send({ ids });
      },
    );

    app.get(
      '/events',
      {
        schema: {
          tags,
          operationId: 'listEvents',
          summary: 'List and search events, newest first, each with its deliveries counted by state',
          querystring: Type.Object(
            {
              ...Paging,
              type: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'An event type name' })),
              resource_id: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
              created_after: Type.Optional(Type.String({ format: 'date-time' })),
              created_before: Type.Optional(Type.String({ format: 'date-time' })),
            },
            { additionalProperties: false },
          ),
          response: { 200: EventList, 422: ErrorBody },
        },
      },
      async (req) => {
        const q = req.query;
        const accountId = req.principal.accountId;
        const { rows, total, exact } = await listEvents(
          deps.store.db,
          accountId,
          { type: q.type, resourceId: q.resource_id, createdFrom: parseTime(q.created_after, 'created_after'), createdTo: parseTime(q.created_before, 'created_before') },
          q.offset,
          q.limit,
        );
        const counts = await countDeliveriesOfEvents(deps.store.db, deps.store.caps, rows.map((r) => r.id));
        const data = rows.map((row) => ({
          id: row.id,
          type: row.type,
          resource_id: row.resource_id,
          created_at: isoTime(row.created_at),
          data: JSON.parse(row.data) as Record<string, unknown>,
          deliveries: counts.get(row.id)!,
        }));
        return { data, total, total_exact: exact, offset: q.offset, limit: q.limit };
      },
    );

    app.get(
      '/events/:id',
      { schema: { tags, summary: 'Read an event and its deliveries', params: Type.Object({ id: Type.String() }) } },
      async (req) => {
        const row = await findEvent(deps.store.db, req.principal.accountId, req.params.id);
        if (!row) throw notFound(`event ${req.params.id}`);
        const { rows } = await listDeliveries(deps.store.db, req.principal.accountId, { eventId: row.id }, 0, 1000);
        return {
          id: row.id,
          type: row.type,
          data: JSON.parse(row.data) as unknown,
          resource_id: row.resource_id,
          callback_profile_id: row.callback_profile_id,
          custom_args: row.custom_args === null ? null : (JSON.parse(row.custom_args) as unknown),
          created_at: isoTime(row.created_at),
          deliveries: rows.map(deliveryJson),
        };
      },
    );
  };
}
