import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ApiError, invalid, notFound } from '../../errors.js';
import { newId } from '../../lib/ids.js';
import { newWebhookSecret } from '../../lib/crypto.js';
import { resolveEventType } from '../../catalogue/event-types.js';
import { checkDestinationUrl } from '../../delivery/ssrf.js';
import { FORMATS } from '../../formats/index.js';
import { deleteCallback, findCallback, insertCallback, listCallbacks, updateCallback } from '../../store/callbacks.js';
import { failOwedDeliveries, requeueFailedDeliveries } from '../../store/deliveries.js';
import type { CallbackRow, CallbacksTable } from '../../store/schema.js';
import { findApiUserByName } from '../../store/accounts.js';
import { disableCallback, enableCallback } from '../../routing/lifecycle.js';
import type { AppDeps } from '../app.js';
import { ErrorBody, Paging, isoTime, parseTime } from './common.js';
import type { Updateable } from 'kysely';

/** The previous secret keeps signing this long after a rotation. */
export const ROTATION_GRACE_MS = 24 * 3_600_000;
const DEFAULT_TIMEOUT_S = 15;

const Headers = Type.Record(Type.String(), Type.String(), {
  description: 'Static headers sent with every call. Values may not contain CR or LF.',
});
const Events = Type.Array(Type.Union([Type.String(), Type.Integer()]), {
  maxItems: 200,
  description: 'Event type names or codes; empty or absent: every event.',
});
const Secret = Type.String({ pattern: '^whsec_[A-Za-z0-9+/]{32,}={0,2}$', description: 'whsec_ followed by base64 of 24 to 64 bytes' });

const CallbackFields = {
  title: Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\u0000]*$' }),
  url: Type.String({ minLength: 1, maxLength: 2048 }),
  format: Type.Optional(Type.Union(FORMATS.map((f) => Type.Literal(f)))),
  events: Type.Optional(Events),
  enabled: Type.Optional(Type.Boolean()),
  headers: Type.Optional(Headers),
  secret: Type.Optional(Secret),
  timeout: Type.Optional(Type.Number({ minimum: 0.1, maximum: 60, description: 'Response timeout in seconds (default 15, at most 60)' })),
  api_user: Type.Optional(Type.Union([Type.String({ pattern: '^[^\\u0000]*$' }), Type.Null()], { description: 'Only events sent by this api user' })),
};

const CreateBody = Type.Object(CallbackFields, { additionalProperties: false });
const UpdateBody = Type.Partial(CreateBody, { additionalProperties: false, minProperties: 1 });

const CallbackOut = Type.Object({
  id: Type.String(),
  title: Type.String(),
  url: Type.String(),
  format: Type.String(),
  method: Type.String(),
  events: Type.Array(Type.String()),
  enabled: Type.Boolean(),
  disabled_reason: Type.Union([Type.String(), Type.Null()]),
  headers: Headers,
  timeout: Type.Number(),
  api_user: Type.Union([Type.String(), Type.Null()]),
  status: Type.String(),
  created_at: Type.String(),
  updated_at: Type.String(),
  secret: Type.Optional(Type.String()),
});

const IdParams = Type.Object({ id: Type.String() });

const ListQuery = Type.Object(
  {
    ...Paging,
    title: Type.Optional(Type.String({ description: 'Substring of the title' })),
    enabled: Type.Optional(Type.Boolean()),
    format: Type.Optional(Type.String()),
    created_after: Type.Optional(Type.String({ format: 'date-time' })),
    created_before: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);

const RESERVED_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'content-type', 'keep-alive', 'upgrade', 'te', 'trailer']);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function checkHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name)) throw invalid(`headers.${name}`, 'is not a valid header name');
    const lower = name.toLowerCase();
    if (RESERVED_HEADERS.has(lower) || lower.startsWith('webhook-')) throw invalid(`headers.${name}`, 'is set by callback-relay and cannot be configured');
    if (/[\r\n\0]/.test(value)) throw invalid(`headers.${name}`, 'value may not contain CR, LF or NUL');
    if (value.length > 8192) throw invalid(`headers.${name}`, 'value is longer than 8192 characters');
    out[name] = value;
  }
  if (Object.keys(out).length > 50) throw invalid('headers', 'at most 50 headers');
  return out;
}

function checkEvents(events: (string | number)[]): string[] {
  const names: string[] = [];
  const unknown: string[] = [];
  for (const ref of events) {
    const t = resolveEventType(ref);
    if (t) names.push(t.name);
    else unknown.push(String(ref));
  }
  if (unknown.length > 0) throw invalid('events', `unknown event types: ${unknown.join(', ')} (see GET /v1/event-types)`);
  return [...new Set(names)];
}

export function callbackJson(row: CallbackRow, withSecret = false): Static<typeof CallbackOut> {
  return {
    id: row.id,
    title: row.title,
    url: row.url,
    format: row.format,
    method: row.method,
    events: JSON.parse(row.events) as string[],
    enabled: row.enabled === 1,
    disabled_reason: row.disabled_reason,
    headers: JSON.parse(row.headers) as Record<string, string>,
    timeout: row.timeout_ms / 1000,
    api_user: row.api_user,
    status: row.status,
    created_at: isoTime(row.created_at),
    updated_at: isoTime(row.updated_at),
    ...(withSecret ? { secret: row.secret } : {}),
  };
}

export function callbackRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const { store, registry, clock } = deps;
    const db = store.db;
    const tags = ['callbacks'];

    const checkUrl = (url: string) => {
      const res = checkDestinationUrl(url, { allowPrivate: deps.config.allowPrivateNetworks });
      if (!res.ok) throw invalid('url', res.reason);
      return res.url.toString();
    };
    const load = async (accountId: string, id: string) => {
      const row = await findCallback(db, accountId, id);
      if (!row) throw notFound(`callback ${id}`);
      return row;
    };
    const checkApiUser = async (accountId: string, apiUser: string | null | undefined) => {
      if (apiUser === undefined || apiUser === null) return apiUser;
      const user = await findApiUserByName(db, apiUser);
      if (!user || user.account_id !== accountId) throw invalid('api_user', `no api user "${apiUser}"`);
      return user.name;
    };

    app.post(
      '/callbacks',
      { schema: { tags, summary: 'Create a callback', body: CreateBody, response: { 201: CallbackOut, 422: ErrorBody } } },
      async (req, reply) => {
        const b = req.body;
        const now = clock.now();
        const row: CallbackRow = {
          id: newId('cb', now),
          account_id: req.principal.accountId,
          api_user: (await checkApiUser(req.principal.accountId, b.api_user)) ?? null,
          title: b.title,
          url: checkUrl(b.url),
          format: b.format ?? 'standard',
          method: 'POST',
          events: JSON.stringify(checkEvents(b.events ?? [])),
          headers: JSON.stringify(checkHeaders(b.headers ?? {})),
          settings: '{}',
          secret: b.secret ?? newWebhookSecret(),
          previous_secret: null,
          previous_secret_expires_at: null,
          timeout_ms: Math.round((b.timeout ?? DEFAULT_TIMEOUT_S) * 1000),
          enabled: b.enabled === false ? 0 : 1,
          disabled_reason: b.enabled === false ? 'disabled on creation' : null,
          status: 'unknown',
          status_checked_at: null,
          status_reason: null,
          created_at: now,
          updated_at: now,
        };
        await insertCallback(db, row);
        await registry.reload();
        return reply.code(201).send(callbackJson(row, true));
      },
    );

    app.get(
      '/callbacks',
      {
        schema: {
          tags,
          summary: 'List callbacks',
          querystring: ListQuery,
          response: { 200: Type.Object({ data: Type.Array(CallbackOut), total: Type.Integer(), offset: Type.Integer(), limit: Type.Integer() }) },
        },
      },
      async (req) => {
        const q = req.query;
        const { rows, total } = await listCallbacks(
          db,
          req.principal.accountId,
          {
            title: q.title,
            enabled: q.enabled,
            format: q.format,
            createdFrom: parseTime(q.created_after, 'created_after'),
            createdTo: parseTime(q.created_before, 'created_before'),
          },
          q.offset,
          q.limit,
        );
        return { data: rows.map((r) => callbackJson(r)), total, offset: q.offset, limit: q.limit };
      },
    );

    app.get('/callbacks/:id', { schema: { tags, summary: 'Read a callback', params: IdParams, response: { 200: CallbackOut, 404: ErrorBody } } }, async (req) =>
      callbackJson(await load(req.principal.accountId, req.params.id)),
    );

    app.get(
      '/callbacks/:id/secret',
      {
        schema: {
          tags,
          summary: "Read a callback's signing secret",
          params: IdParams,
          response: {
            200: Type.Object({
              secret: Type.String(),
              previous_secret: Type.Union([Type.String(), Type.Null()]),
              previous_secret_expires_at: Type.Union([Type.String(), Type.Null()]),
            }),
          },
        },
      },
      async (req) => {
        const row = await load(req.principal.accountId, req.params.id);
        const live = row.previous_secret_expires_at !== null && row.previous_secret_expires_at > clock.now();
        return {
          secret: row.secret,
          previous_secret: live ? row.previous_secret : null,
          previous_secret_expires_at: live ? isoTime(row.previous_secret_expires_at!) : null,
        };
      },
    );

    app.patch(
      '/callbacks/:id',
      { schema: { tags, summary: 'Update a callback (fields absent stay unchanged)', params: IdParams, body: UpdateBody, response: { 200: CallbackOut } } },
      async (req) => {
        const accountId = req.principal.accountId;
        const current = await load(accountId, req.params.id);
        const b = req.body;
        const patch: Updateable<CallbacksTable> = { updated_at: clock.now() };
        if (b.title !== undefined) patch.title = b.title;
        if (b.url !== undefined) patch.url = checkUrl(b.url);
        if (b.format !== undefined) patch.format = b.format;
        if (b.events !== undefined) patch.events = JSON.stringify(checkEvents(b.events));
        if (b.headers !== undefined) patch.headers = JSON.stringify(checkHeaders(b.headers));
        if (b.secret !== undefined) patch.secret = b.secret;
        if (b.timeout !== undefined) patch.timeout_ms = Math.round(b.timeout * 1000);
        if (b.api_user !== undefined) patch.api_user = (await checkApiUser(accountId, b.api_user)) ?? null;
        await updateCallback(db, accountId, current.id, patch);
        if (b.enabled === false) await disableCallback(deps, accountId, current.id, 'disabled by the API');
        else if (b.enabled === true) {
          await enableCallback(deps, accountId, current.id);
          deps.wake();
        }
        else await registry.reload();
        return callbackJson(await load(accountId, current.id));
      },
    );

    app.delete('/callbacks/:id', { schema: { tags, summary: 'Delete a callback', params: IdParams } }, async (req, reply) => {
      const accountId = req.principal.accountId;
      await load(accountId, req.params.id);
      await db.transaction().execute(async (trx) => {
        await deleteCallback(trx, accountId, req.params.id);
        await failOwedDeliveries(trx, req.params.id, 'callback_deleted', clock.now());
      });
      await registry.reload();
      return reply.code(204).send();
    });

    app.post('/callbacks/:id/enable', { schema: { tags, summary: 'Enable a callback; held deliveries resume', params: IdParams, response: { 200: CallbackOut } } }, async (req) => {
      if (!(await enableCallback(deps, req.principal.accountId, req.params.id))) throw notFound(`callback ${req.params.id}`);
      // Its held deliveries are due now.
      deps.wake();
      return callbackJson(await load(req.principal.accountId, req.params.id));
    });

    app.post('/callbacks/:id/disable', { schema: { tags, summary: 'Disable a callback; owed deliveries are held', params: IdParams, response: { 200: CallbackOut } } }, async (req) => {
      if (!(await disableCallback(deps, req.principal.accountId, req.params.id, 'disabled by the API'))) throw notFound(`callback ${req.params.id}`);
      return callbackJson(await load(req.principal.accountId, req.params.id));
    });

    app.post(
      '/callbacks/:id/rotate-secret',
      {
        schema: {
          tags,
          summary: 'Rotate the signing secret; the old one keeps signing for 24 h',
          params: IdParams,
          body: Type.Optional(Type.Object({ secret: Type.Optional(Secret) }, { additionalProperties: false })),
          response: { 200: Type.Object({ secret: Type.String(), previous_secret_expires_at: Type.String() }) },
        },
        // The body is optional: a bare POST (no body, no content type) rotates to a generated secret.
        preValidation: async (req) => {
          req.body ??= {};
        },
      },
      async (req) => {
        const accountId = req.principal.accountId;
        const row = await load(accountId, req.params.id);
        const now = clock.now();
        const secret = req.body?.secret ?? newWebhookSecret();
        if (secret === row.secret) throw new ApiError('conflict', 'the new secret equals the current one');
        const expires = now + ROTATION_GRACE_MS;
        await updateCallback(db, accountId, row.id, { secret, previous_secret: row.secret, previous_secret_expires_at: expires, updated_at: now });
        await registry.reload();
        return { secret, previous_secret_expires_at: isoTime(expires) };
      },
    );

    app.post(
      '/callbacks/:id/recover',
      {
        schema: {
          tags,
          summary: "Re-queue the callback's failed deliveries created since a time",
          params: IdParams,
          body: Type.Object({ since: Type.String({ format: 'date-time' }) }, { additionalProperties: false }),
          response: { 202: Type.Object({ requeued: Type.Integer() }) },
        },
      },
      async (req, reply) => {
        const accountId = req.principal.accountId;
        const row = await load(accountId, req.params.id);
        const requeued = await requeueFailedDeliveries(db, accountId, row.id, parseTime(req.body.since, 'since')!, clock.now(), row.enabled === 0);
        deps.wake();
        return reply.code(202).send({ requeued });
      },
    );
  };
}
