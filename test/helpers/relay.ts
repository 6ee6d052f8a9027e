import { pino, type Logger } from 'pino';
import { loadConfig, type Config } from '../../src/config.js';
import { startRelay, type Relay } from '../../src/runtime.js';
import type { Clock } from '../../src/lib/clock.js';
import { createApiUser, type Credentials } from '../../src/admin/accounts.js';

export const ADMIN = { user: 'admin', key: 'test-admin-key-0123456789' };

export interface TestRelay {
  relay: Relay;
  /** The admin's credentials as an Authorization header value. */
  auth: string;
  /** Calls the API in-process (no socket) as the admin, or as `as`. */
  api<T = any>(method: string, url: string, body?: unknown, opts?: { auth?: string; headers?: Record<string, string>; raw?: string }): Promise<{ status: number; body: T; headers: Record<string, unknown> }>;
  /** A second tenant, for isolation checks. */
  newTenant(name: string): Promise<Credentials & { auth: string }>;
  close(): Promise<void>;
}

export function basic(user: string, key: string): string {
  return `Basic ${Buffer.from(`${user}:${key}`).toString('base64')}`;
}

/** Starts a whole relay (API, worker, scheduler) in this process on the given database. */
export async function startTestRelay(
  databaseUrl: string,
  overrides: Partial<Config> & { env?: Record<string, string> } = {},
  opts: { clock?: Clock; log?: Logger } = {},
): Promise<TestRelay> {
  const { env, ...rest } = overrides;
  const config = loadConfig(
    {
      DATABASE_URL: databaseUrl,
      RELAY_ADMIN_USER: ADMIN.user,
      RELAY_ADMIN_KEY: ADMIN.key,
      RELAY_ALLOW_PRIVATE_NETWORKS: '1',
      RELAY_RETRY_SCHEDULE: '0s,200ms,200ms',
      // Suites that fail a receiver on purpose would otherwise wait out circuit cool-downs;
      // the circuit-breaker suite turns it on.
      RELAY_CIRCUIT_FAILURES: '0',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      ...env,
    },
    rest,
  );
  const log = opts.log ?? pino({ level: config.logLevel });
  const relay = await startRelay(config, { listen: false, log, ...(opts.clock ? { clock: opts.clock } : {}) });
  const auth = basic(ADMIN.user, ADMIN.key);
  return {
    relay,
    auth,
    async api(method, url, body, o = {}) {
      const res = await relay.app!.inject({
        method: method as 'GET',
        url,
        headers: {
          authorization: o.auth ?? auth,
          ...(body !== undefined || o.raw !== undefined ? { 'content-type': 'application/json' } : {}),
          ...o.headers,
        },
        ...(o.raw !== undefined ? { payload: o.raw } : body !== undefined ? { payload: JSON.stringify(body) } : {}),
      });
      let parsed: unknown = res.body;
      try {
        parsed = res.body ? JSON.parse(res.body) : undefined;
      } catch {
        // not JSON (metrics, docs)
      }
      return { status: res.statusCode, body: parsed as any, headers: res.headers };
    },
    async newTenant(name) {
      const c = await createApiUser(relay.store, { name });
      return { ...c, auth: basic(c.apiUser, c.apiKey) };
    },
    close: () => relay.close(),
  };
}
