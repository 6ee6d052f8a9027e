import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ApiError, notFound } from '../../errors.js';
import { findDelivery, listDeliveries, retryDelivery, retryFailedDeliveries, type DeliveryWithEvent } from '../../store/deliveries.js';
import { findCallback } from '../../store/callbacks.js';
import { listAttemptsForDelivery } from '../../store/attempts.js';
import type { AttemptRow } from '../../store/schema.js';
import type { AppDeps } from '../app.js';
import { ErrorBody, Paging, isoTime, parseTime } from './common.js';
import { COUNT_AHEAD } from '../../store/pieces.js';

const States = ['pending', 'delivered', 'failed', 'held'] as const;

export function deliveryJson(row: DeliveryWithEvent) {
  return {
    id: row.id,
    event_id: row.event_id,
    event_type: row.event_type,
    callback_id: row.callback_id,
    state: row.state,
    /** True while a worker holds it (an attempt is under way). */
    in_flight: row.state === 'pending' && row.lease_owner !== null,
    attempts: row.attempts,
    next_attempt_at: row.state === 'pending' && row.lease_owner === null ? isoTime(row.next_attempt_at) : null,
    last_status: row.last_status,
    last_error: row.last_error,
    created_at: isoTime(row.created_at),
    updated_at: isoTime(row.updated_at),
    completed_at: row.completed_at === null ? null : isoTime(row.completed_at),
  };
}

function attemptJson(a: AttemptRow) {
  return {
    id: a.id,
    attempt: a.attempt,
    kind: a.kind,
    started_at: isoTime(a.started_at),
    duration_ms: a.duration_ms,
    outcome: a.outcome,
    request: {
      method: a.request_method,
      url: a.request_url,
      headers: JSON.parse(a.request_headers) as Record<string, string>,
      body: a.request_body,
    },
    response:
      a.response_status === null
        ? null
        : {
            status: a.response_status,
            headers: a.response_headers === null ? {} : (JSON.parse(a.response_headers) as Record<string, string>),
            body: a.response_body,
          },
    error: a.error_class === null ? null : { class: a.error_class, message: a.error_message },
  };
}

const IdParams = Type.Object({ id: Type.String({ pattern: '^[0-9]{1,15}$' }) });

export function deliveryRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const db = deps.store.db;
    const tags = ['deliveries'];

    app.get(
      '/deliveries',
      {
        schema: {
          tags,
          summary: 'List deliveries, newest first',
          description: `\`total\` counts the matches up to \`offset\` + ${COUNT_AHEAD}; beyond, it is that bound and \`total_exact\` is false.`,
          querystring: Type.Object(
            {
              ...Paging,
              callback_id: Type.Optional(Type.String()),
              state: Type.Optional(Type.Union(States.map((s) => Type.Literal(s)))),
              event_type: Type.Optional(Type.String()),
              event_id: Type.Optional(Type.String()),
              created_after: Type.Optional(Type.String({ format: 'date-time' })),
              created_before: Type.Optional(Type.String({ format: 'date-time' })),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (req) => {
        const q = req.query;
        const { rows, total, exact } = await listDeliveries(
          db,
          req.principal.accountId,
          {
            callbackId: q.callback_id,
            state: q.state,
            eventType: q.event_type,
            eventId: q.event_id,
            createdFrom: parseTime(q.created_after, 'created_after'),
            createdTo: parseTime(q.created_before, 'created_before'),
          },
          q.offset,
          q.limit,
        );
        return { data: rows.map(deliveryJson), total, total_exact: exact, offset: q.offset, limit: q.limit };
      },
    );

    app.get(
      '/deliveries/:id',
      { schema: { tags, summary: 'Read a delivery with its attempts', params: IdParams } },
      async (req) => {
        const row = await findDelivery(db, req.principal.accountId, Number(req.params.id));
        if (!row) throw notFound(`delivery ${req.params.id}`);
        const attempts = await listAttemptsForDelivery(db, req.principal.accountId, row.id);
        return { ...deliveryJson(row), attempt_log: attempts.map(attemptJson) };
      },
    );

    app.post(
      '/deliveries/retry',
      {
        schema: {
          tags,
          operationId: 'retryFailedDeliveries',
          summary: 'Attempt again now every failed delivery matching the filters (all of the account\'s when none is given)',
          description:
            'Only failed deliveries change: they become pending, due now (held where the callback is disabled; they resume on enable). Deliveries in any other state, and those of deleted callbacks, are left alone. Done in batches.',
          body: Type.Object(
            {
              callback_id: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
              event_type: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
              created_after: Type.Optional(Type.String({ format: 'date-time' })),
              created_before: Type.Optional(Type.String({ format: 'date-time' })),
            },
            { additionalProperties: false },
          ),
          response: { 202: Type.Object({ retried: Type.Integer({ minimum: 0 }) }), 404: ErrorBody, 422: ErrorBody },
        },
      },
      async (req, reply) => {
        const accountId = req.principal.accountId;
        const b = req.body;
        if (b.callback_id !== undefined && !(await findCallback(db, accountId, b.callback_id))) throw notFound(`callback ${b.callback_id}`);
        const filter = {
          callbackId: b.callback_id,
          eventType: b.event_type,
          createdFrom: parseTime(b.created_after, 'created_after'),
          createdTo: parseTime(b.created_before, 'created_before'),
        };
        const retried = await retryFailedDeliveries(db, deps.store.caps, accountId, filter, deps.clock.now());
        if (retried > 0) deps.wake();
        return reply.code(202).send({ retried });
      },
    );

    app.post(
      '/deliveries/:id/retry',
      { schema: { tags, summary: 'Attempt a delivery again now', params: IdParams } },
      async (req, reply) => {
        const accountId = req.principal.accountId;
        const row = await findDelivery(db, accountId, Number(req.params.id));
        if (!row) throw notFound(`delivery ${req.params.id}`);
        if (row.state === 'held') throw new ApiError('conflict', 'the callback is disabled: enable it to resume its deliveries');
        if (!(await retryDelivery(db, accountId, row.id, deps.clock.now()))) {
          throw new ApiError('conflict', 'the delivery is being attempted right now');
        }
        deps.wake();
        const updated = await findDelivery(db, accountId, row.id);
        return reply.code(202).send(deliveryJson(updated!));
      },
    );
  };
}
