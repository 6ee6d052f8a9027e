import type { FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import { safeEqualHex, sha256Hex } from '../lib/crypto.js';
import type { Store } from '../store/db.js';
import { findApiUserByName } from '../store/accounts.js';
import { findLiveSession } from '../store/sessions.js';
import type { Principal } from '../ingest/ingest.js';

export interface AuthedPrincipal extends Principal {
  apiUser: string;
  apiUserId: string;
  /** Set when the request was authenticated by a session cookie rather than Basic credentials. */
  sessionId?: string | undefined;
}

/** The dashboard's session cookie. */
export const SESSION_COOKIE = 'relay_session';
/** Methods that change nothing: a session cookie alone is enough for them. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const CACHE_MS = 60_000;
const CACHE_MAX = 10_000;

/**
 * Two ways to present the same principal:
 * - HTTP Basic `api_user:api_key`. Keys are random tokens stored as SHA-256 digests; a verified
 *   credential is cached for a minute so the hot ingest path does not hit the database per request
 *   (a key revoked or rotated in this process is forgotten at once; in another process, within that minute).
 * - The `relay_session` cookie the dashboard's sign-in sets. Looked up on every request (a
 *   primary-key read), so signing out or revoking ends it at once in every process. Requests that
 *   change something must also carry the session's `X-CSRF-Token`: a cookie is sent by the browser
 *   whoever made the page, the token only by our own.
 */
export class Authenticator {
  private cache = new Map<string, { principal: AuthedPrincipal; until: number }>();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  async authenticate(req: FastifyRequest): Promise<AuthedPrincipal> {
    const header = req.headers.authorization;
    if (!header) {
      const token = sessionToken(req);
      if (token !== undefined) return this.fromSession(req, token);
      throw new ApiError('unauthorized', 'missing credentials: send Authorization: Basic base64(api_user:api_key), or sign in (POST /v1/sessions)');
    }
    const now = Date.now();
    const hit = this.cache.get(header);
    if (hit && hit.until > now) return hit.principal;
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (!m) throw new ApiError('unauthorized', 'unsupported authorization scheme: use Basic');
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0 || decoded.slice(0, colon).includes('\0')) throw new ApiError('unauthorized', 'malformed Basic credentials');
    const principal = await this.verifyKey(decoded.slice(0, colon), decoded.slice(colon + 1));
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(header, { principal, until: now + CACHE_MS });
    return principal;
  }

  /** Checks an api user's key (uncached): Basic credentials, and the sign-in of a session. */
  async verifyKey(name: string, key: string): Promise<AuthedPrincipal> {
    const user = name.includes('\0') ? undefined : await findApiUserByName(this.store.db, name);
    if (!user || user.revoked_at !== null || !safeEqualHex(user.key_hash, sha256Hex(key))) throw new ApiError('unauthorized', 'invalid api_user or api_key');
    return { accountId: user.account_id, apiUser: user.name, apiUserId: user.id };
  }

  /** Forgets the cached credentials of an api user whose key was revoked or rotated in this process. */
  forget(apiUserId: string): void {
    for (const [header, entry] of this.cache) if (entry.principal.apiUserId === apiUserId) this.cache.delete(header);
  }

  private async fromSession(req: FastifyRequest, token: string): Promise<AuthedPrincipal> {
    const session = await findLiveSession(this.store.db, sha256Hex(token), this.clock.now());
    if (!session) throw new ApiError('unauthorized', 'the session has ended (signed out, expired or its key revoked): sign in again');
    if (!SAFE_METHODS.has(req.method)) {
      const sent = req.headers['x-csrf-token'];
      if (!csrfMatches(sent, session.csrf_token)) {
        throw new ApiError('csrf_failed', `a ${req.method} made with the session cookie needs the header X-CSRF-Token: the csrf_token of POST /v1/sessions or GET /v1/sessions/current`);
      }
    }
    return { accountId: session.account_id, apiUser: session.api_user, apiUserId: session.api_user_id, sessionId: session.id };
  }
}

/** Compares a sent X-CSRF-Token with the session's, in constant time. */
export function csrfMatches(sent: unknown, expected: string): boolean {
  return typeof sent === 'string' && safeEqualHex(sha256Hex(sent), sha256Hex(expected));
}

/** The session token of the request's `relay_session` cookie, if it has one. */
export function sessionToken(req: FastifyRequest): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) {
      const value = part.slice(eq + 1).trim();
      return /^[A-Za-z0-9_-]{16,128}$/.test(value) ? value : undefined;
    }
  }
  return undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: AuthedPrincipal;
  }
}
