import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ApiError, notFound } from '../../errors.js';
import { createApiUser, revokeApiUser, rotateApiUserKey } from '../../admin/accounts.js';
import { findApiUserByName, listApiUsers } from '../../store/accounts.js';
import type { ApiUserRow } from '../../store/schema.js';
import type { AppDeps } from '../app.js';
import type { Authenticator } from '../auth.js';
import { ErrorBody, Paging, isoTime } from './common.js';

const Name = Type.String({ pattern: '^[A-Za-z0-9._@-]{1,64}$', description: '1-64 of A-Z a-z 0-9 . _ @ -' });
const NameParams = Type.Object({ name: Name }, { additionalProperties: false });

const ApiUserOut = Type.Object({
  name: Type.String(),
  created_at: Type.String({ format: 'date-time' }),
  revoked_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  last_used_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'The last dashboard sign-in with it' }),
});

function apiUserJson(u: ApiUserRow) {
  return {
    name: u.name,
    created_at: isoTime(u.created_at),
    revoked_at: u.revoked_at === null ? null : isoTime(u.revoked_at),
    last_used_at: u.last_used_at === null ? null : isoTime(u.last_used_at),
  };
}

/**
 * The caller's account's api users: list, create (the key shown once), revoke, rotate the key.
 * Revoking or rotating ends the user's sessions, and its cached Basic credentials in this process
 * (other API processes forget them within the cache's minute).
 */
export function apiUserRoutes(deps: AppDeps, auth: Authenticator): FastifyPluginAsync {
  return async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const tags = ['api-users'];
    const store = deps.store;

    /** An api user of the caller's account, or 404 (another account's users are not found either). */
    const load = async (accountId: string, name: string) => {
      const u = await findApiUserByName(store.db, name);
      if (!u || u.account_id !== accountId) throw notFound(`api user ${name}`);
      return u;
    };

    app.get(
      '/api-users',
      {
        schema: {
          tags,
          operationId: 'listApiUsers',
          summary: "List the account's api users (revoked ones too), oldest first",
          querystring: Type.Object(Paging, { additionalProperties: false }),
          response: { 200: Type.Object({ data: Type.Array(ApiUserOut), total: Type.Integer(), offset: Type.Integer(), limit: Type.Integer() }), 422: ErrorBody },
        },
      },
      async (req) => {
        const { rows, total } = await listApiUsers(store.db, req.principal.accountId, req.query.offset, req.query.limit);
        return { data: rows.map(apiUserJson), total, offset: req.query.offset, limit: req.query.limit };
      },
    );

    app.post(
      '/api-users',
      {
        schema: {
          tags,
          operationId: 'createApiUser',
          summary: "Create an api user in the caller's account; its key is shown this once",
          body: Type.Object(
            { name: Name, key: Type.Optional(Type.String({ minLength: 16, maxLength: 512, pattern: '^[\\x21-\\x7e]+$', description: 'Default: 32 random characters' })) },
            { additionalProperties: false },
          ),
          response: { 201: Type.Object({ name: Type.String(), api_key: Type.String(), created_at: Type.String({ format: 'date-time' }) }), 409: ErrorBody, 422: ErrorBody },
        },
      },
      async (req, reply) => {
        if (await findApiUserByName(store.db, req.body.name)) throw new ApiError('conflict', `an api user named "${req.body.name}" exists already (names are never reused)`);
        const c = await createApiUser(store, { name: req.body.name, key: req.body.key, accountId: req.principal.accountId });
        const u = await findApiUserByName(store.db, c.apiUser);
        return reply.code(201).send({ name: c.apiUser, api_key: c.apiKey, created_at: isoTime(u!.created_at) });
      },
    );

    app.post(
      '/api-users/:name/rotate-key',
      {
        schema: {
          tags,
          operationId: 'rotateApiUserKey',
          summary: 'Give an api user a new key (shown this once); the old one stops working and its sessions end',
          params: NameParams,
          response: { 200: Type.Object({ name: Type.String(), api_key: Type.String() }), 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (req) => {
        const u = await load(req.principal.accountId, req.params.name);
        if (u.revoked_at !== null) throw new ApiError('conflict', `api user ${u.name} is revoked: create a new one`);
        const c = await rotateApiUserKey(store, u.name, { accountId: req.principal.accountId });
        if (!c) throw new ApiError('conflict', `api user ${u.name} was revoked meanwhile`);
        auth.forget(u.id);
        return { name: c.apiUser, api_key: c.apiKey };
      },
    );

    app.delete(
      '/api-users/:name',
      {
        schema: {
          tags,
          operationId: 'revokeApiUser',
          summary: 'Revoke an api user: its key stops working and its sessions end (it stays listed, revoked)',
          params: NameParams,
          response: { 204: Type.Null(), 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (req, reply) => {
        const u = await load(req.principal.accountId, req.params.name);
        if (u.id === req.principal.apiUserId) throw new ApiError('conflict', 'you cannot revoke the api user you are signed in as: use another api user of the account');
        await revokeApiUser(store, u.name, req.principal.accountId);
        auth.forget(u.id);
        return reply.code(204).send(null);
      },
    );
  };
}
