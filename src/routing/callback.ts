import type { CallbackRow } from '../store/schema.js';

/** A callback as the pipeline uses it: the row with its JSON columns parsed once. */
export interface Callback {
  id: string;
  accountId: string;
  apiUser: string | null;
  title: string;
  url: string;
  format: string;
  method: string;
  /** Empty: every event type. */
  events: ReadonlySet<string>;
  headers: Readonly<Record<string, string>>;
  settings: Readonly<Record<string, unknown>>;
  secret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: number | null;
  timeoutMs: number;
  enabled: boolean;
  row: CallbackRow;
}

export function toCallback(row: CallbackRow): Callback {
  return {
    id: row.id,
    accountId: row.account_id,
    apiUser: row.api_user,
    title: row.title,
    url: row.url,
    format: row.format,
    method: row.method,
    events: new Set(JSON.parse(row.events) as string[]),
    headers: JSON.parse(row.headers) as Record<string, string>,
    settings: JSON.parse(row.settings) as Record<string, unknown>,
    secret: row.secret,
    previousSecret: row.previous_secret,
    previousSecretExpiresAt: row.previous_secret_expires_at,
    timeoutMs: row.timeout_ms,
    enabled: row.enabled === 1,
    row,
  };
}

/** The secrets that sign right now: the current one, and the previous one during its grace period. */
export function liveSecrets(cb: Callback, now: number): string[] {
  return cb.previousSecret && cb.previousSecretExpiresAt !== null && cb.previousSecretExpiresAt > now
    ? [cb.secret, cb.previousSecret]
    : [cb.secret];
}
