import { isIP } from 'node:net';
import { parseDuration } from './lib/duration.js';

export type Role = 'api' | 'worker' | 'scheduler';
export const ALL_ROLES: readonly Role[] = ['api', 'worker', 'scheduler'];

export interface Config {
  port: number;
  host: string;
  databaseUrl: string;
  adminUser: string | undefined;
  adminKey: string | undefined;
  allowPrivateNetworks: boolean;
  /** Delay before each attempt: entry 0 before the first, entry k after the k-th failure. */
  retrySchedule: number[];
  smtpUrl: string | undefined;
  telegramApi: string | undefined;
  masterKey: string | undefined;
  /** Keys that only open sealed secrets (the old ones during a rotation of RELAY_MASTER_KEY). */
  previousMasterKeys: string[];
  logLevel: string;
  roles: Role[];
  /** Deliveries in flight at once in one worker process. */
  workerConcurrency: number;
  /** Deliveries in flight at once to one callback: one slow receiver cannot take the others' share. */
  callbackConcurrency: number;
  /** How long SIGTERM waits for in-flight attempts before releasing their leases. */
  shutdownTimeoutMs: number;
  /** API requests per second per api user; 0: unlimited. */
  rateLimit: number;
  /** How often workers read the queue for due times (other processes' retries, dead workers' leases). */
  sweepIntervalMs: number;
  /** How long a worker's claim on a delivery lasts unless renewed (a killed worker's come back after it). */
  leaseMs: number;
  /** From address of notices and reports. */
  smtpFrom: string;
  /** At most one failure notice per callback this often. */
  noticeIntervalMs: number;
  /** Consecutive failures that open a callback's circuit; 0: no circuit breaker. */
  circuitFailures: number;
  /** First cool-down of an open circuit; doubles after each failed probe. */
  circuitCooldownMs: number;
  circuitMaxCooldownMs: number;
  /** Failing without a success this long disables a callback; 0: never. */
  autoDisableAfterMs: number;
  /** This many deliveries exhausted without a success disable a callback; 0: never. */
  autoDisableExhausted: number;
  /** Finished deliveries (with their attempts) and events older than this are purged; 0: kept forever. */
  retentionMs: number;
  /** How long a dashboard session (cookie) lasts after sign-in. */
  sessionTtlMs: number;
  /**
   * Which peers' X-Forwarded-Proto / -Host / -For are believed (a TLS proxy in front): false, none;
   * true, every peer; else these addresses or CIDR ranges. The scheme and host they give make the
   * session cookie Secure, the ingest URLs absolute, and Twilio's signed URL the one it signed.
   */
  trustProxy: boolean | string[];
}

export class ConfigError extends Error {}

const DEFAULT_SCHEDULE = '0s,5s,5m,30m,2h,5h,10h,10h';

/** One entry per environment variable: its default beside it, and how to read it. */
const FIELDS = {
  PORT: { def: '8080', read: (v: string) => int(v, 'PORT', 0, 65535) },
  HOST: { def: '0.0.0.0', read: (v: string) => v },
  DATABASE_URL: { def: 'sqlite:./data/relay.db', read: databaseUrl },
  RELAY_ADMIN_USER: { def: undefined, read: (v: string) => v },
  RELAY_ADMIN_KEY: { def: undefined, read: adminKey },
  RELAY_ALLOW_PRIVATE_NETWORKS: { def: '0', read: (v: string) => bool(v, 'RELAY_ALLOW_PRIVATE_NETWORKS') },
  RELAY_RETRY_SCHEDULE: { def: DEFAULT_SCHEDULE, read: retrySchedule },
  RELAY_SMTP_URL: { def: undefined, read: (v: string) => v },
  RELAY_TELEGRAM_API: { def: undefined, read: (v: string) => v.replace(/\/+$/, '') },
  RELAY_MASTER_KEY: { def: undefined, read: (v: string) => v },
  RELAY_PREVIOUS_MASTER_KEY: { def: '', read: (v: string) => v.split(',').map((k) => k.trim()).filter(Boolean) },
  LOG_LEVEL: { def: 'info', read: logLevel },
  RELAY_ROLES: { def: 'api,worker,scheduler', read: roles },
  RELAY_WORKER_CONCURRENCY: { def: '512', read: (v: string) => int(v, 'RELAY_WORKER_CONCURRENCY', 1, 10_000) },
  RELAY_CALLBACK_CONCURRENCY: { def: '64', read: (v: string) => int(v, 'RELAY_CALLBACK_CONCURRENCY', 1, 1000) },
  RELAY_SHUTDOWN_TIMEOUT: { def: '20s', read: (v: string) => parseDuration(v) },
  RELAY_SWEEP_INTERVAL: { def: '5s', read: (v: string) => parseDuration(v) },
  RELAY_LEASE: { def: '30s', read: lease },
  RELAY_RATE_LIMIT: { def: '0', read: (v: string) => int(v, 'RELAY_RATE_LIMIT', 0, 10_000_000) },
  RELAY_SMTP_FROM: { def: 'callback-relay <noreply@localhost>', read: (v: string) => v },
  RELAY_NOTICE_INTERVAL: { def: '1h', read: (v: string) => duration(v, 'RELAY_NOTICE_INTERVAL') },
  RELAY_CIRCUIT_FAILURES: { def: '5', read: (v: string) => int(v, 'RELAY_CIRCUIT_FAILURES', 0, 1_000_000) },
  RELAY_CIRCUIT_COOLDOWN: { def: '30s', read: (v: string) => duration(v, 'RELAY_CIRCUIT_COOLDOWN') },
  RELAY_CIRCUIT_MAX_COOLDOWN: { def: '10m', read: (v: string) => duration(v, 'RELAY_CIRCUIT_MAX_COOLDOWN') },
  RELAY_AUTO_DISABLE_AFTER: { def: '5d', read: (v: string) => duration(v, 'RELAY_AUTO_DISABLE_AFTER') },
  RELAY_AUTO_DISABLE_EXHAUSTED: { def: '100', read: (v: string) => int(v, 'RELAY_AUTO_DISABLE_EXHAUSTED', 0, 100_000_000) },
  RELAY_RETENTION: { def: '30d', read: retention },
  RELAY_SESSION_TTL: { def: '12h', read: sessionTtl },
  RELAY_TRUST_PROXY: { def: '0', read: trustProxy },
} as const;

type Env = Record<string, string | undefined>;

/**
 * Reads and validates the configuration once, at start-up. Unknown `RELAY_*` variables are refused
 * (a typo would otherwise be silently ignored); every error names the variable and how to fix it.
 */
export function loadConfig(env: Env = process.env, overrides: Partial<Config> = {}): Config {
  const unknown = Object.keys(env).filter((k) => k.startsWith('RELAY_') && !(k in FIELDS));
  if (unknown.length > 0) {
    throw new ConfigError(
      `unknown setting ${unknown.join(', ')}; known RELAY_* settings: ${Object.keys(FIELDS)
        .filter((k) => k.startsWith('RELAY_'))
        .join(', ')}`,
    );
  }
  const get = <K extends keyof typeof FIELDS>(key: K): ReturnType<(typeof FIELDS)[K]['read']> | undefined => {
    const field = FIELDS[key];
    const raw = env[key] !== undefined && env[key] !== '' ? env[key] : field.def;
    return raw === undefined ? undefined : (field.read(raw) as ReturnType<(typeof FIELDS)[K]['read']>);
  };
  const config: Config = {
    port: get('PORT')!,
    host: get('HOST')!,
    databaseUrl: get('DATABASE_URL')!,
    adminUser: get('RELAY_ADMIN_USER'),
    adminKey: get('RELAY_ADMIN_KEY'),
    allowPrivateNetworks: get('RELAY_ALLOW_PRIVATE_NETWORKS')!,
    retrySchedule: get('RELAY_RETRY_SCHEDULE')!,
    smtpUrl: get('RELAY_SMTP_URL'),
    telegramApi: get('RELAY_TELEGRAM_API'),
    masterKey: get('RELAY_MASTER_KEY'),
    previousMasterKeys: get('RELAY_PREVIOUS_MASTER_KEY')!,
    logLevel: get('LOG_LEVEL')!,
    roles: get('RELAY_ROLES')!,
    workerConcurrency: get('RELAY_WORKER_CONCURRENCY')!,
    callbackConcurrency: get('RELAY_CALLBACK_CONCURRENCY')!,
    shutdownTimeoutMs: get('RELAY_SHUTDOWN_TIMEOUT')!,
    rateLimit: get('RELAY_RATE_LIMIT')!,
    sweepIntervalMs: get('RELAY_SWEEP_INTERVAL')!,
    leaseMs: get('RELAY_LEASE')!,
    smtpFrom: get('RELAY_SMTP_FROM')!,
    noticeIntervalMs: get('RELAY_NOTICE_INTERVAL')!,
    circuitFailures: get('RELAY_CIRCUIT_FAILURES')!,
    circuitCooldownMs: get('RELAY_CIRCUIT_COOLDOWN')!,
    circuitMaxCooldownMs: get('RELAY_CIRCUIT_MAX_COOLDOWN')!,
    autoDisableAfterMs: get('RELAY_AUTO_DISABLE_AFTER')!,
    autoDisableExhausted: get('RELAY_AUTO_DISABLE_EXHAUSTED')!,
    retentionMs: get('RELAY_RETENTION')!,
    sessionTtlMs: get('RELAY_SESSION_TTL')!,
    trustProxy: get('RELAY_TRUST_PROXY')!,
    ...overrides,
  };
  if ((config.adminUser === undefined) !== (config.adminKey === undefined)) {
    throw new ConfigError('set both RELAY_ADMIN_USER and RELAY_ADMIN_KEY, or neither');
  }
  if (config.previousMasterKeys.length > 0 && config.masterKey === undefined) {
    throw new ConfigError('RELAY_PREVIOUS_MASTER_KEY is set without RELAY_MASTER_KEY: set RELAY_MASTER_KEY to the current key');
  }
  return config;
}

function int(v: string, name: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got "${v}"`);
  }
  return n;
}

/** At least a second: the heartbeat renews leases every third of one, and each renewal is a write. */
function lease(v: string): number {
  const ms = duration(v, 'RELAY_LEASE');
  if (ms < 1000) throw new ConfigError(`RELAY_LEASE: at least 1s, got "${v}"`);
  return ms;
}

/**
 * 0 (keep forever) or at least a day: an event purged sooner would take its idempotency key with it
 * while the key still protects against a repeat (24 h).
 */
function retention(v: string): number {
  const ms = duration(v, 'RELAY_RETENTION');
  if (ms !== 0 && ms < 86_400_000) throw new ConfigError(`RELAY_RETENTION: 0 (keep forever) or at least 1d, got "${v}"`);
  return ms;
}

function sessionTtl(v: string): number {
  const ms = duration(v, 'RELAY_SESSION_TTL');
  if (ms < 60_000 || ms > 30 * 86_400_000) throw new ConfigError(`RELAY_SESSION_TTL: between 1m and 30d, got "${v}"`);
  return ms;
}

function duration(v: string, name: string): number {
  try {
    return parseDuration(v);
  } catch (err) {
    throw new ConfigError(`${name}: ${(err as Error).message}`);
  }
}

/** 1 / true / yes, 0 / false / no (any case); undefined for anything else. */
function yesNo(v: string): boolean | undefined {
  if (['1', 'true', 'yes'].includes(v.toLowerCase())) return true;
  if (['0', 'false', 'no'].includes(v.toLowerCase())) return false;
  return undefined;
}

function bool(v: string, name: string): boolean {
  const b = yesNo(v);
  if (b === undefined) throw new ConfigError(`${name} must be 1 or 0, got "${v}"`);
  return b;
}

/** 0 / 1, or the proxies' addresses and CIDR ranges, comma-separated (`10.0.0.0/8,127.0.0.1`). */
function trustProxy(v: string): boolean | string[] {
  const b = yesNo(v);
  if (b !== undefined) return b;
  const list = v.split(',').map((a) => a.trim()).filter(Boolean);
  const bad = list.find((a) => {
    const [addr, bits, ...rest] = a.split('/');
    const family = isIP(addr ?? '');
    if (family === 0 || rest.length > 0) return true;
    return bits !== undefined && !(/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
  });
  if (list.length === 0 || bad !== undefined) {
    throw new ConfigError(`RELAY_TRUST_PROXY must be 0, 1 or the proxies' addresses or CIDR ranges, comma-separated (e.g. 10.0.0.0/8,127.0.0.1); ${bad === undefined ? 'got none' : `"${bad}" is none`}`);
  }
  return list;
}

function databaseUrl(v: string): string {
  if (v.startsWith('sqlite:') || v.startsWith('postgres://') || v.startsWith('postgresql://')) return v;
  throw new ConfigError(
    `DATABASE_URL must start with sqlite: (e.g. sqlite:./data/relay.db) or postgres:// (e.g. postgres://user@host:5432/db), got "${v}"`,
  );
}

function adminKey(v: string): string {
  if (v.length < 16) throw new ConfigError('RELAY_ADMIN_KEY must be at least 16 characters');
  return v;
}

function retrySchedule(v: string): number[] {
  const parts = v.split(',').map((p) => p.trim());
  try {
    const delays = parts.map(parseDuration);
    if (delays.length === 0 || delays.length > 50) throw new Error('between 1 and 50 entries');
    return delays;
  } catch (err) {
    throw new ConfigError(`RELAY_RETRY_SCHEDULE: ${(err as Error).message}; example: ${DEFAULT_SCHEDULE}`);
  }
}

function logLevel(v: string): string {
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  if (!levels.includes(v)) throw new ConfigError(`LOG_LEVEL must be one of ${levels.join(', ')}`);
  return v;
}

function roles(v: string): Role[] {
  const list = v.split(',').map((r) => r.trim()).filter(Boolean);
  const bad = list.filter((r) => !(ALL_ROLES as readonly string[]).includes(r));
  if (bad.length > 0 || list.length === 0) {
    throw new ConfigError(`roles must be a comma list of ${ALL_ROLES.join(', ')}; got "${v}"`);
  }
  return [...new Set(list)] as Role[];
}

export function parseRoles(v: string): Role[] {
  return roles(v);
}
