import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { invalid, notFound } from '../../errors.js';
import { eventTypeByCode, eventTypeByName } from '../../catalogue/event-types.js';
import { ENGAGELAB_EMAIL_EVENTS } from '../../formats/engagelab-email.js';
import { listCallbacks } from '../../store/callbacks.js';
import { deleteWebhookId, findCallbackIdByWebhookId, findWebhookIds, insertWebhookIds } from '../../store/webhook-ids.js';
import type { CallbackRow } from '../../store/schema.js';
import type { AppDeps } from '../app.js';
import { callbackService, type CallbackService } from '../services/callbacks.js';
import { ErrorBody, Offset } from './common.js';

/**
 * The EngageLab e-mail WebHooks API (reference/engagelab-email-webhooks-api.txt): `/v1/webhooks` to
 * list, add, modify and delete the callbacks of format `engagelab-email`, with EngageLab's numeric
 * event codes. These are ordinary callbacks, also visible in /v1/callbacks. `id` is an integer, as
 * in the document's answers (store/webhook-ids.ts); the callback's own id (`cb_…`) is accepted too.
 */
const EMAIL_CODES = Object.keys(ENGAGELAB_EMAIL_EVENTS)
  .map((name) => eventTypeByName(name)!.code)
  .sort((a, b) => a - b);

const Webhook = Type.Object({
  url: Type.String(),
  event: Type.Array(Type.Integer()),
  api_user: Type.Union([Type.String(), Type.Null()], { description: 'null: every api user of the account' }),
  id: Type.Integer({ description: "the webhook's id (the callback's own id, cb_…, is accepted too in paths)" }),
});

const Codes = Type.Array(Type.Integer(), { maxItems: 100, description: `event codes (${EMAIL_CODES.join(', ')}); absent or empty: every event` });
const Url = Type.String({ minLength: 1, maxLength: 2048 });
const ApiUser = Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\u0000]*$' });

const AddBody = Type.Object({ url: Url, api_user: Type.Optional(ApiUser), event: Type.Optional(Codes) }, { additionalProperties: false });
const ModifyBody = Type.Object(
  { url: Type.Optional(Url), api_user: Type.Optional(Type.Union([ApiUser, Type.Null()])), event: Type.Optional(Codes) },
  { additionalProperties: false },
);
const IdParams = Type.Object({ id: Type.String({ maxLength: 100, description: "the webhook's integer id (or its callback's id, cb_…)" }) });
const Count = Type.Object({ count: Type.Integer() });

function webhookJson(row: CallbackRow, id: number) {
  const names = JSON.parse(row.events) as string[];
  return {
    url: row.url,
    event: names.map((n) => eventTypeByName(n)?.code ?? 0).filter((c) => c > 0),
    api_user: row.api_user,
    id,
  };
}

function checkCodes(codes: number[]): string[] {
  const unknown = codes.filter((c) => !EMAIL_CODES.includes(c));
  if (unknown.length > 0) throw invalid('event', `unknown event codes: ${unknown.join(', ')} (e-mail codes are ${EMAIL_CODES.join(', ')})`);
  return [...new Set(codes)].map((c) => eventTypeByCode(c)!.name);
}

/** `curl -H 'Content-Type: application/json'` with no body (the document's GET and DELETE): no body to parse. */
const ignoreEmptyJson = async (req: { method: string; headers: Record<string, string | string[] | undefined> }) => {
  if ((req.method === 'GET' || req.method === 'DELETE') && !req.headers['transfer-encoding'] && (req.headers['content-length'] ?? '0') === '0') {
    delete req.headers['content-type'];
  }
};

/** A path id: the integer the API answers with, or (as before) the callback's own id. */
const WEBHOOK_ID = /^[1-9][0-9]{0,14}$/;

/** The webhook ids of these callbacks, giving one to those shown for the first time. */
async function webhookIds(deps: AppDeps, accountId: string, rows: readonly CallbackRow[]): Promise<Map<string, number>> {
  const { db, caps } = deps.store;
  const ids = await findWebhookIds(db, caps, accountId, rows.map((r) => r.id));
  const missing = rows.filter((r) => !ids.has(r.id)).map((r) => r.id);
  if (missing.length === 0) return ids;
  await insertWebhookIds(db, accountId, missing);
  return findWebhookIds(db, caps, accountId, rows.map((r) => r.id));
}

/** Loads the engagelab-email callback a path id names in the account, or 404. */
async function loadWebhook(deps: AppDeps, ops: CallbackService, accountId: string, id: string): Promise<CallbackRow> {
  const callbackId = WEBHOOK_ID.test(id) ? await findCallbackIdByWebhookId(deps.store.db, accountId, Number(id)) : id;
  const row = callbackId === undefined ? undefined : await ops.load(accountId, callbackId).catch(() => undefined);
  if (!row || row.format !== 'engagelab-email') throw notFound(`webhook ${id}`);
  return row;
}

/** Deletes a webhook: its callback, then its id. */
async function removeWebhook(deps: AppDeps, ops: CallbackService, accountId: string, row: CallbackRow): Promise<{ count: number }> {
  await ops.remove(accountId, row.id);
  await deleteWebhookId(deps.store.db, row.id);
  return { count: 1 };
}

/** The routes under /v1 (GET, POST, PUT and POST-for-modify, DELETE). */
export function webhookRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const ops = callbackService(deps, (fn) => fastify.addHook('onClose', fn));
    const tags = ['webhooks (EngageLab e-mail)'];
    app.addHook('onRequest', ignoreEmptyJson);

    const load = (accountId: string, id: string) => loadWebhook(deps, ops, accountId, id);

    app.get(
      '/webhooks',
      {
        schema: {
          tags,
          summary: 'Query webhooks',
          querystring: Type.Object(
            {
              api_user: Type.Optional(ApiUser),
              offset: Offset('start position, ≥ 0'),
              limit: Type.Integer({ minimum: 0, maximum: 100, default: 100, description: 'amount, 0 to 100' }),
            },
            { additionalProperties: false },
          ),
          response: { 200: Type.Object({ result: Type.Array(Webhook), count: Type.Integer(), total: Type.Integer() }), 422: ErrorBody },
        },
      },
      async (req) => {
        const q = req.query;
        const { rows, total } = await listCallbacks(
          deps.store.db,
          req.principal.accountId,
          { format: 'engagelab-email', ...(q.api_user !== undefined ? { apiUser: q.api_user } : {}) },
          q.offset,
          q.limit,
        );
        const ids = await webhookIds(deps, req.principal.accountId, rows);
        return { result: rows.map((r) => webhookJson(r, ids.get(r.id)!)), count: rows.length, total };
      },
    );

    app.post(
      '/webhooks',
      { schema: { tags, summary: 'Add a webhook', body: AddBody, response: { 200: Type.Object({ result: Type.Array(Webhook) }), 422: ErrorBody } } },
      async (req) => {
        const b = req.body;
        const row = await ops.create(req.principal.accountId, {
          title: 'EngageLab e-mail webhook',
          url: b.url,
          format: 'engagelab-email',
          events: b.event && b.event.length > 0 ? checkCodes(b.event) : [],
          ...(b.api_user !== undefined ? { api_user: b.api_user } : {}),
        });
        const ids = await webhookIds(deps, req.principal.accountId, [row]);
        return { result: [webhookJson(row, ids.get(row.id)!)] };
      },
    );

    const modify = async (req: { principal: { accountId: string }; params: { id: string }; body: { url?: string; api_user?: string | null; event?: number[] } }) => {
      const accountId = req.principal.accountId;
      const current = await load(accountId, req.params.id);
      const b = req.body;
      if (b.url === undefined && b.api_user === undefined && b.event === undefined) return { count: 1 };
      await ops.update(accountId, current, {
        ...(b.url !== undefined ? { url: b.url } : {}),
        ...(b.api_user !== undefined ? { api_user: b.api_user } : {}),
        ...(b.event !== undefined ? { events: b.event.length > 0 ? checkCodes(b.event) : [] } : {}),
      });
      return { count: 1 };
    };
    const modifySchema = { tags, params: IdParams, body: ModifyBody, response: { 200: Count, 404: ErrorBody, 422: ErrorBody } };
    app.put('/webhooks/:id', { schema: { ...modifySchema, summary: 'Modify a webhook (absent fields unchanged)' } }, modify);
    // The document's own modify example uses POST.
    app.post('/webhooks/:id', { schema: { ...modifySchema, summary: 'Modify a webhook (POST form of PUT)' } }, modify);

    app.delete('/webhooks/:id', { schema: { tags, summary: 'Delete a webhook', params: IdParams, response: { 200: Count, 404: ErrorBody } } }, async (req) => {
      const accountId = req.principal.accountId;
      return removeWebhook(deps, ops, accountId, await load(accountId, req.params.id));
    });
  };
}

/** The document's delete URL has no /v1 (`/webhooks/{id}`): the same delete, registered at the root. */
export function webhookRootRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const ops = callbackService(deps, (fn) => fastify.addHook('onClose', fn));
    app.addHook('onRequest', ignoreEmptyJson);
    app.delete(
      '/webhooks/:id',
      { schema: { tags: ['webhooks (EngageLab e-mail)'], summary: 'Delete a webhook (path without /v1, as in the EngageLab document)', params: IdParams, response: { 200: Count } } },
      async (req) => {
        const accountId = req.principal.accountId;
        return removeWebhook(deps, ops, accountId, await loadWebhook(deps, ops, accountId, req.params.id));
      },
    );
  };
}
