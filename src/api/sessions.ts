import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ApiError } from '../errors.js';
import { sha256Hex } from '../lib/crypto.js';
import { randomToken } from '../lib/ids.js';
import { touchApiUser } from '../store/accounts.js';
import { deleteExpiredSessions, deleteSession, findLiveSession, insertSession } from '../store/sessions.js';
import type { AppDeps } from './app.js';
import { SESSION_COOKIE, csrfMatches, sessionToken, type Authenticator } from './auth.js';
import { ErrorBody, isoTime } from './routes/common.js';

const SessionBody = Type.Object({
  api_user: Type.String(),
  account_id: Type.String(),
  csrf_token: Type.String({ description: 'Send it as the X-CSRF-Token header with every POST, PUT, PATCH and DELETE made with the cookie' }),
  expires_at: Type.String({ format: 'date-time' }),
});

/** The cookie's attributes: HttpOnly (no script reads it), SameSite=Strict, Secure over TLS. */
function cookie(req: FastifyRequest, value: string, maxAgeSeconds: number): string {
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${req.protocol === 'https' ? '; Secure' : ''}`;
}

/**
 * Dashboard sign-in: an api user's key is exchanged for a session cookie, so the browser never keeps
 * the key. Outside the /v1 auth hook: POST needs no credentials but the key in its body; the other
 * two read the cookie themselves.
 */
export function sessionRoutes(deps: AppDeps, auth: Authenticator): FastifyPluginAsync {
  return async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const db = deps.store.db;
    const tags = ['sessions'];
    const ttl = deps.config.sessionTtlMs;

    app.post(
      '/sessions',
      {
        schema: {
          tags,
          operationId: 'createSession',
          summary: 'Sign in: exchange an api user and key for a session cookie',
          description: `Sets the HttpOnly, SameSite=Strict cookie \`${SESSION_COOKIE}\` (Secure over https), valid ${Math.round(ttl / 60_000)} minutes. Requests with the cookie need no Authorization header; POST, PUT, PATCH and DELETE also need \`X-CSRF-Token\`.`,
          security: [],
          body: Type.Object(
            { api_user: Type.String({ minLength: 1, maxLength: 64 }), api_key: Type.String({ minLength: 1, maxLength: 512 }) },
            { additionalProperties: false },
          ),
          response: { 201: SessionBody, 401: ErrorBody, 422: ErrorBody },
        },
      },
      async (req, reply) => {
        const principal = await auth.verifyKey(req.body.api_user, req.body.api_key);
        const now = deps.clock.now();
        const token = randomToken(32);
        const row = {
          id: sha256Hex(token),
          api_user_id: principal.apiUserId,
          account_id: principal.accountId,
          csrf_token: randomToken(24),
          created_at: now,
          expires_at: now + ttl,
        };
        await deleteExpiredSessions(db, now);
        await insertSession(db, row);
        await touchApiUser(db, principal.apiUserId, now);
        void reply.header('set-cookie', cookie(req, token, Math.floor(ttl / 1000)));
        void reply.header('cache-control', 'no-store');
        return reply.code(201).send({ api_user: principal.apiUser, account_id: row.account_id, csrf_token: row.csrf_token, expires_at: isoTime(row.expires_at) });
      },
    );

    const current = async (req: FastifyRequest) => {
      const token = sessionToken(req);
      const session = token === undefined ? undefined : await findLiveSession(db, sha256Hex(token), deps.clock.now());
      if (!session) throw new ApiError('unauthorized', 'no session: sign in with POST /v1/sessions');
      return session;
    };

    app.get(
      '/sessions/current',
      {
        schema: {
          tags,
          operationId: 'getCurrentSession',
          summary: 'The session of the cookie sent (who is signed in, and its CSRF token)',
          security: [],
          response: { 200: SessionBody, 401: ErrorBody },
        },
      },
      async (req, reply: FastifyReply) => {
        const s = await current(req);
        void reply.header('cache-control', 'no-store');
        return { api_user: s.api_user, account_id: s.account_id, csrf_token: s.csrf_token, expires_at: isoTime(s.expires_at) };
      },
    );

    app.delete(
      '/sessions/current',
      {
        schema: {
          tags,
          operationId: 'deleteCurrentSession',
          summary: 'Sign out: end the session of the cookie sent and clear the cookie',
          description: 'Needs the X-CSRF-Token header, like every state-changing request made with the cookie.',
          security: [],
          headers: Type.Object({ 'x-csrf-token': Type.Optional(Type.String()) }),
          response: { 204: Type.Null(), 401: ErrorBody, 403: ErrorBody },
        },
      },
      async (req, reply) => {
        const s = await current(req);
        if (!csrfMatches(req.headers['x-csrf-token'], s.csrf_token)) throw new ApiError('csrf_failed', 'signing out needs the header X-CSRF-Token: the csrf_token of the session');
        await deleteSession(db, s.id);
        void reply.header('set-cookie', cookie(req, '', 0));
        return reply.code(204).send(null);
      },
    );
  };
}
