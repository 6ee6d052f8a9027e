import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../app.js';
import { callbackService } from '../services/callbacks.js';
import {
  CallbackList,
  CallbackOut,
  CreateBody,
  IdParams,
  ListQuery,
  RecoverBody,
  RecoverOut,
  RotateBody,
  RotateOut,
  SecretsOut,
  UpdateBody,
  callbackJson,
} from '../schemas/callbacks.js';
import { callbackTestRoutes } from './callback-test.js';
import { ErrorBody, isoTime, parseTime } from './common.js';

/** `/v1/callbacks`: HTTP to the callbacks service (api/services/callbacks.ts), answers as api/schemas/callbacks.ts shows them. */
export function callbackRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const tags = ['callbacks'];
    const ops = callbackService(deps, (fn) => fastify.addHook('onClose', fn));
    await fastify.register(callbackTestRoutes(deps, ops));

    app.post(
      '/callbacks',
      { schema: { tags, summary: 'Create a callback', body: CreateBody, response: { 201: CallbackOut, 422: ErrorBody } } },
      async (req, reply) => reply.code(201).send(callbackJson(await ops.create(req.principal.accountId, req.body), true)),
    );

    app.get('/callbacks', { schema: { tags, summary: 'List callbacks', querystring: ListQuery, response: { 200: CallbackList } } }, async (req) => {
      const q = req.query;
      const { rows, total } = await ops.list(
        req.principal.accountId,
        {
          title: q.title,
          enabled: q.enabled,
          format: q.format,
          method: q.method?.toUpperCase(),
          channel: q.channel,
          createdFrom: parseTime(q.created_after, 'created_after'),
          createdTo: parseTime(q.created_before, 'created_before'),
        },
        q.offset,
        q.limit,
      );
      return { data: rows.map((r) => callbackJson(r)), total, offset: q.offset, limit: q.limit };
    });

    app.get('/callbacks/:id', { schema: { tags, summary: 'Read a callback', params: IdParams, response: { 200: CallbackOut, 404: ErrorBody } } }, async (req) =>
      callbackJson(await ops.load(req.principal.accountId, req.params.id)),
    );

    app.get(
      '/callbacks/:id/secret',
      { schema: { tags, summary: "Read a callback's signing secret", params: IdParams, response: { 200: SecretsOut } } },
      async (req) => {
        const { secret, previous } = await ops.secrets(req.principal.accountId, req.params.id);
        return {
          secret,
          previous_secret: previous ? previous.secret : null,
          previous_secret_expires_at: previous ? isoTime(previous.expiresAt) : null,
        };
      },
    );

    app.patch(
      '/callbacks/:id',
      { schema: { tags, summary: 'Update a callback (fields absent stay unchanged)', params: IdParams, body: UpdateBody, response: { 200: CallbackOut } } },
      async (req) => {
        const accountId = req.principal.accountId;
        return callbackJson(await ops.update(accountId, await ops.load(accountId, req.params.id), req.body));
      },
    );

    app.delete('/callbacks/:id', { schema: { tags, summary: 'Delete a callback', params: IdParams } }, async (req, reply) => {
      const accountId = req.principal.accountId;
      await ops.load(accountId, req.params.id);
      await ops.remove(accountId, req.params.id);
      return reply.code(204).send();
    });

    app.post('/callbacks/:id/enable', { schema: { tags, summary: 'Enable a callback; held deliveries resume', params: IdParams, response: { 200: CallbackOut } } }, async (req) =>
      callbackJson(await ops.enable(req.principal.accountId, req.params.id)),
    );

    app.post('/callbacks/:id/disable', { schema: { tags, summary: 'Disable a callback; owed deliveries are held', params: IdParams, response: { 200: CallbackOut } } }, async (req) =>
      callbackJson(await ops.disable(req.principal.accountId, req.params.id)),
    );

    app.post(
      '/callbacks/:id/rotate-secret',
      {
        schema: { tags, summary: 'Rotate the signing secret; the old one keeps signing for 24 h', params: IdParams, body: RotateBody, response: { 200: RotateOut } },
        // The body is optional: a bare POST (no body, no content type) rotates to a generated secret.
        preValidation: async (req) => {
          req.body ??= {};
        },
      },
      async (req) => {
        const { secret, previousExpiresAt } = await ops.rotateSecret(req.principal.accountId, req.params.id, req.body?.secret);
        return { secret, previous_secret_expires_at: isoTime(previousExpiresAt) };
      },
    );

    app.post(
      '/callbacks/:id/refresh',
      {
        schema: {
          tags,
          summary: "Check the callback's URL now (the format's check: see docs/formats); the result is its status",
          params: IdParams,
          response: { 200: CallbackOut },
        },
      },
      async (req) => callbackJson(await ops.refresh(req.principal.accountId, req.params.id)),
    );

    app.post(
      '/callbacks/:id/recover',
      {
        schema: {
          tags,
          summary: "Re-queue the callback's failed deliveries created since a time",
          params: IdParams,
          body: RecoverBody,
          response: { 202: RecoverOut },
        },
      },
      async (req, reply) => {
        const row = await ops.load(req.principal.accountId, req.params.id);
        const requeued = await ops.recover(row, parseTime(req.body.since, 'since')!);
        return reply.code(202).send({ requeued });
      },
    );
  };
}
