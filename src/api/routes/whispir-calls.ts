import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ApiError, invalid, notFound } from '../../errors.js';
import { whispirPayload, type WhispirSettings } from '../../formats/whispir.js';
import { findCallback } from '../../store/callbacks.js';
import { listCallbackCalls, markCallsHandled, type CallRow } from '../../store/attempts.js';
import type { CallbackRow } from '../../store/schema.js';
import type { AppDeps } from '../app.js';
import { ErrorBody, Offset, isoTime } from './common.js';

/**
 * Whispir's callback calls (docs/formats/whispir.md): every attempt of a whispir callback, filtered by
 * status, in Whispir's shape; failed calls can be marked handled (they leave the FAILED list).
 */
const Status = Type.Union([Type.Literal('SUCCESS'), Type.Literal('FAILED'), Type.Literal('HANDLED')]);
const IdParams = Type.Object({ id: Type.String({ maxLength: 100 }) });
const CallIds = Type.Array(Type.Integer({ minimum: 1 }), { minItems: 1, maxItems: 1000 });

function callJson(cb: CallbackRow, row: CallRow) {
  const status = row.outcome === 'success' ? 'SUCCESS' : row.handled === 1 ? 'HANDLED' : 'FAILED';
  let payload: ReturnType<typeof whispirPayload> | null = null;
  if (row.event_type !== null) {
    try {
      payload = whispirPayload(
        {
          id: row.event_id ?? '',
          type: row.event_type,
          createdAt: row.event_created_at ?? row.started_at,
          data: JSON.parse(row.event_data ?? 'null'),
          resourceId: row.event_resource_id,
          customArgs: row.event_custom_args === null ? null : (JSON.parse(row.event_custom_args) as Record<string, unknown>),
        },
        (JSON.parse(cb.settings) as WhispirSettings).timezone,
      );
    } catch {
      // An event the format cannot carry (subscriptions changed since): shown without its payload.
    }
  }
  return {
    id: String(row.id),
    messageId: payload?.messageid ?? null,
    messageLocation: payload?.messagelocation ?? null,
    status,
    via: payload?.responseMessage.channel ?? null,
    from: payload?.from ?? null,
    responseMessage: payload?.responseMessage ?? null,
    customParameters: payload?.customParameters ?? {},
    callback: {
      id: cb.id,
      name: cb.title,
      url: row.request_url,
      attemptedDate: isoTime(row.started_at),
      statusCode: row.response_status,
      statusMessage: row.error_class !== null ? `${row.error_class}${row.error_message ? `: ${row.error_message}` : ''}` : (row.response_body ?? ''),
    },
  };
}

export function whispirCallRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const db = deps.store.db;
    const tags = ['callbacks'];
    const load = async (accountId: string, id: string) => {
      const row = await findCallback(db, accountId, id);
      if (!row) throw notFound(`callback ${id}`);
      if (row.format !== 'whispir') throw new ApiError('conflict', `calls are listed for whispir callbacks; this one is ${row.format} (see /v1/deliveries)`);
      return row;
    };

    app.get(
      '/callbacks/:id/calls',
      {
        schema: {
          tags,
          summary: "A whispir callback's calls (attempts), newest first, in Whispir's shape",
          params: IdParams,
          querystring: Type.Object(
            {
              status: Type.Optional(Status),
              offset: Offset(),
              limit: Type.Integer({ minimum: 1, maximum: 1000, default: 20 }),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (req) => {
        const cb = await load(req.principal.accountId, req.params.id);
        const { offset, limit, status } = req.query;
        const { rows, total } = await listCallbackCalls(db, req.principal.accountId, cb.id, status, offset, limit);
        return {
          calls: rows.map((r) => callJson(cb, r)),
          status: rows.length === 0 ? `0 to 0 of ${total}` : `${offset + 1} to ${offset + rows.length} of ${total}`,
          total,
          link: [],
        };
      },
    );

    app.put(
      '/callbacks/:id/calls',
      {
        schema: {
          tags,
          summary: 'Mark failed calls handled: ids as ?id=1&id=2 or in the body',
          params: IdParams,
          querystring: Type.Object({ id: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), CallIds])) }, { additionalProperties: false }),
          body: Type.Object(
            { status: Type.Literal('HANDLED', { description: 'the new status of the calls' }), ids: Type.Optional(CallIds) },
            { additionalProperties: false },
          ),
          response: { 200: Type.Object({ count: Type.Integer() }), 404: ErrorBody, 409: ErrorBody, 422: ErrorBody },
        },
      },
      async (req) => {
        const cb = await load(req.principal.accountId, req.params.id);
        const fromQuery = req.query.id === undefined ? [] : Array.isArray(req.query.id) ? req.query.id : [req.query.id];
        const ids = [...new Set([...fromQuery, ...(req.body.ids ?? [])])];
        if (ids.length === 0) throw invalid('ids', 'name the calls: ?id=… or {"ids": […]}');
        return { count: await markCallsHandled(db, req.principal.accountId, cb.id, ids) };
      },
    );
  };
}
