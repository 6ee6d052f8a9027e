import type { FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';
import { safeEqualHex, sha256Hex } from '../lib/crypto.js';
import type { Store } from '../store/db.js';
import { findApiUserByName } from '../store/accounts.js';
import type { Principal } from '../ingest/ingest.js';

export interface AuthedPrincipal extends Principal {
  apiUser: string;
  apiUserId: string;
}

const CACHE_MS = 60_000;
const CACHE_MAX = 10_000;

/**
 * HTTP Basic `api_user:api_key`. Keys are random tokens stored as SHA-256 digests; a verified
 * credential is cached for a minute so the hot ingest path does not hit the database per request.
 */
export class Authenticator {
  private cache = new Map<string, { principal: AuthedPrincipal; until: number }>();

  constructor(private readonly store: Store) {}

  async authenticate(req: FastifyRequest): Promise<AuthedPrincipal> {
    const header = req.headers.authorization;
    if (!header) throw new ApiError('unauthorized', 'missing credentials: send Authorization: Basic base64(api_user:api_key)');
    const now = Date.now();
    const hit = this.cache.get(header);
    if (hit && hit.until > now) return hit.principal;
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (!m) throw new ApiError('unauthorized', 'unsupported authorization scheme: use Basic');
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0 || decoded.slice(0, colon).includes('\0')) throw new ApiError('unauthorized', 'malformed Basic credentials');
    const name = decoded.slice(0, colon);
    const key = decoded.slice(colon + 1);
    const user = await findApiUserByName(this.store.db, name);
    if (!user || !safeEqualHex(user.key_hash, sha256Hex(key))) throw new ApiError('unauthorized', 'invalid api_user or api_key');
    const principal: AuthedPrincipal = { accountId: user.account_id, apiUser: user.name, apiUserId: user.id };
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(header, { principal, until: now + CACHE_MS });
    return principal;
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: AuthedPrincipal;
  }
}
