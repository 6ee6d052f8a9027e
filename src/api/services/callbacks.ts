import type { Updateable } from 'kysely';
import { ApiError, invalid, notFound } from '../../errors.js';
import { newId } from '../../lib/ids.js';
import { newWebhookSecret } from '../../lib/crypto.js';
import { resolveEventType } from '../../catalogue/event-types.js';
import { checkDestinationUrl, isBlockedAddress } from '../../delivery/ssrf.js';
import { HttpSender } from '../../delivery/http.js';
import { REDACTED, isSecretHeader, redactUrl } from '../../delivery/redact.js';
import { checkRequests, formatModule, type FormatModule } from '../../formats/index.js';
import { DEFAULT_FORMAT } from '../../formats/registry.js';
import type { SavedShape } from '../../formats/module.js';
import { resolveFormat, type FormatFields } from '../../formats/settings.js';
import { toCallback } from '../../routing/callback.js';
import { disableCallback, enableCallback } from '../../routing/lifecycle.js';
import { deleteCallback, findCallback, insertCallback, listCallbacks, updateCallback, type CallbackFilter } from '../../store/callbacks.js';
import { failOwedDeliveries, requeueFailedDeliveries } from '../../store/deliveries.js';
import type { CallbackRow, CallbacksTable } from '../../store/schema.js';
import { findApiUserByName } from '../../store/accounts.js';
import { deleteCallbackNotifications } from '../../store/notices.js';
import { deleteNoticeTargets } from '../../store/targets.js';
import { deleteCallbackHealth } from '../../store/health.js';
import type { AppDeps } from '../app.js';
import { runUrlChecks } from '../url-check.js';
import { FormatFieldSchemas, readableSecret, type CreateInput, type UpdateInput } from '../schemas/callbacks.js';

/** The previous secret keeps signing this long after a rotation. */
export const ROTATION_GRACE_MS = 24 * 3_600_000;

const RESERVED_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'content-type', 'keep-alive', 'upgrade', 'te', 'trailer']);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Checks the headers of a create or update. Credential headers are shown redacted, so a body built
 * from a read carries "[redacted]" for them: that keeps the stored value (`stored`, the callback's
 * current headers), and is refused where there is none to keep.
 */
function checkHeaders(headers: Record<string, string>, stored: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, given] of Object.entries(headers)) {
    if (!TOKEN.test(name)) throw invalid(`headers.${name}`, 'is not a valid header name');
    const lower = name.toLowerCase();
    if (RESERVED_HEADERS.has(lower) || lower.startsWith('webhook-')) throw invalid(`headers.${name}`, 'is set by callback-relay and cannot be configured');
    let value = given;
    if (value === REDACTED && isSecretHeader(name)) {
      const kept = Object.entries(stored).find(([k]) => k.toLowerCase() === lower)?.[1];
      if (kept === undefined) throw invalid(`headers.${name}`, `is "${REDACTED}", which keeps a stored value, and this callback has none: send the value itself`);
      value = kept;
    }
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

/** Body keys that are format fields (of some format, or of every one). */
const FORMAT_FIELD_KEYS: readonly string[] = Object.keys(FormatFieldSchemas);

/** What a format's save rule looks at (FormatModule.checkOnSave). */
function saved(row: CallbackRow): SavedShape {
  return { url: row.url, format: row.format, secret: row.secret, settings: JSON.parse(row.settings) as Record<string, unknown> };
}

/** The format-specific fields of a body. */
function formatFields(b: Record<string, unknown>): FormatFields {
  const out: FormatFields = {};
  for (const k of FORMAT_FIELD_KEYS) {
    if (b[k] !== undefined) out[k] = b[k];
  }
  return out;
}

/** Loopback and private hosts: where engagelab accepts plain http when private networks are allowed. */
function isPrivateHost(host: string): boolean {
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const reason = isBlockedAddress(host);
  return reason !== null && reason !== 'invalid';
}

export type CallbackService = ReturnType<typeof callbackService>;

/**
 * What can be done to an account's callbacks, with every check, apart from HTTP: shared by
 * /v1/callbacks and the EngageLab face /v1/webhooks (one table, several API faces). Each change
 * reloads the routing registry (or goes through routing/lifecycle.ts, which announces it) and wakes
 * the workers when deliveries fall due. `onClose` registers the cleanup of the URL-check client.
 */
export function callbackService(deps: AppDeps, onClose: (fn: () => Promise<void>) => void) {
  const { store, registry, clock } = deps;
  const db = store.db;
  const allowPrivate = deps.config.allowPrivateNetworks;
  const checkUrl = (url: string, mod: FormatModule, field = 'url') => {
    const format = mod.name;
    const res = checkDestinationUrl(url, { allowPrivate });
    if (!res.ok) throw invalid(field, res.reason);
    if (mod.httpsOnly && res.url.protocol !== 'https:' && !(allowPrivate && isPrivateHost(res.url.hostname))) {
      throw invalid(field, `${format} callbacks require an https URL (plain http only to loopback/private hosts with RELAY_ALLOW_PRIVATE_NETWORKS=1)`);
    }
    // Kept as sent (clients compare what they read back with what they wrote), unless parsing had to
    // drop whitespace or control characters from it.
    return /^[^\s\u0000-\u001f\u007f]+$/.test(url) ? url : res.url.toString();
  };
  // URL checks (refresh, Whispir's check on create) are sent from the API process.
  let sender: HttpSender | undefined;
  const checker = () => (sender ??= new HttpSender({ allowPrivate }));
  onClose(async () => {
    await sender?.close();
  });
  /** Runs the format's URL check of a callback row (stored or about to be). */
  const checkRow = (row: CallbackRow) => runUrlChecks(checker(), checkRequests(toCallback(row), clock.now()), redactUrl);
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

  /** A new callback's row, every check done, not stored (also the draft of POST /callbacks/test). */
  async function build(accountId: string, b: CreateInput): Promise<CallbackRow> {
    const now = clock.now();
    const mod = b.format === undefined ? DEFAULT_FORMAT : formatModule(b.format);
    const format = mod.name;
    mod.checkTitle?.(b.title);
    // A templated URL is stored as written; it is checked rendered (resolveFormat).
    const url = mod.templatedUrl ? mod.templatedUrl(b.url) : checkUrl(b.url, mod);
    const headers = checkHeaders(b.headers ?? {});
    const f = resolveFormat(mod, formatFields(b), null, b.events === undefined ? undefined : checkEvents(b.events), (u, field) => checkUrl(u, mod, field), {
      url,
      headers,
      title: b.title,
    });
    const row: CallbackRow = {
      id: newId('cb', now),
      account_id: accountId,
      api_user: (await checkApiUser(accountId, b.api_user)) ?? null,
      title: b.title,
      url,
      format,
      method: f.method,
      channel: f.channel,
      events: JSON.stringify(f.events),
      headers: JSON.stringify(headers),
      settings: JSON.stringify(f.settings),
      secret: f.secret,
      previous_secret: null,
      previous_secret_expires_at: null,
      timeout_ms: b.timeout !== undefined ? Math.round(b.timeout * 1000) : mod.defaultTimeoutMs,
      enabled: b.enabled === false ? 0 : 1,
      disabled_reason: b.enabled === false ? 'disabled on creation' : null,
      status: 'unknown',
      status_checked_at: null,
      status_reason: null,
      created_at: now,
      updated_at: now,
    };
    return row;
  }

  async function create(accountId: string, b: CreateInput): Promise<CallbackRow> {
    const row = await build(accountId, b);
    if (formatModule(row.format).checkOnSave?.(null, saved(row))) {
      // The format's rule (Whispir's): a callback whose URL fails the check is not created.
      const check = await checkRow(row);
      if (!check.available) throw invalid('url', `the check GET failed: ${check.reason}`);
      Object.assign(row, { status: 'available', status_checked_at: clock.now() });
    }
    await insertCallback(db, row);
    await registry.reload();
    return row;
  }

  async function update(accountId: string, current: CallbackRow, b: UpdateInput): Promise<CallbackRow> {
    const patch: Updateable<CallbacksTable> = { updated_at: clock.now() };
    const mod = formatModule(b.format ?? current.format);
    const format = mod.name;
    const changed = current.format !== format;
    if (b.title !== undefined) patch.title = b.title;
    if (mod.checkTitle && (b.title !== undefined || changed)) mod.checkTitle(b.title ?? current.title);
    if (mod.templatedUrl) {
      if (b.url !== undefined || changed) patch.url = mod.templatedUrl(b.url ?? current.url);
    } else if (b.url !== undefined || b.format !== undefined) patch.url = checkUrl(b.url ?? current.url, mod);
    if (b.format !== undefined) patch.format = b.format;
    if (b.headers !== undefined) patch.headers = JSON.stringify(checkHeaders(b.headers, JSON.parse(current.headers) as Record<string, string>));
    const f = resolveFormat(
      mod,
      formatFields(b),
      {
        format: current.format,
        settings: JSON.parse(current.settings) as Record<string, unknown>,
        secret: current.secret,
        events: JSON.parse(current.events) as string[],
        method: current.method,
      },
      b.events === undefined ? undefined : checkEvents(b.events),
      (u, field) => checkUrl(u, mod, field),
      { url: patch.url ?? current.url, headers: JSON.parse(patch.headers ?? current.headers) as Record<string, string>, title: patch.title ?? current.title },
    );
    patch.events = JSON.stringify(f.events);
    patch.settings = JSON.stringify(f.settings);
    patch.method = f.method;
    patch.channel = f.channel;
    if (f.secret !== current.secret) {
      patch.secret = f.secret;
      // Only a rotating format signs with a previous secret during a rotation; the others have one key.
      if (!mod.rotatesSecret) Object.assign(patch, { previous_secret: null, previous_secret_expires_at: null });
    }
    if (b.timeout !== undefined) patch.timeout_ms = Math.round(b.timeout * 1000);
    else if (b.format !== undefined && b.format !== current.format) patch.timeout_ms = mod.defaultTimeoutMs;
    if (b.api_user !== undefined) patch.api_user = (await checkApiUser(accountId, b.api_user)) ?? null;
    const next = { ...current, ...patch } as CallbackRow;
    if (mod.checkOnSave?.(saved(current), saved(next))) {
      const check = await checkRow(next);
      if (!check.available) throw invalid(b.url !== undefined ? 'url' : 'auth', `the check GET failed: ${check.reason}`);
      Object.assign(patch, { status: 'available', status_checked_at: clock.now(), status_reason: null });
    }
    await updateCallback(db, accountId, current.id, patch);
    if (b.enabled === false) await disableCallback(deps, accountId, current.id, 'disabled by the API');
    else if (b.enabled === true) {
      await enableCallback(deps, accountId, current.id);
      deps.wake();
    }
    else await registry.reload();
    return load(accountId, current.id);
  }

  async function remove(accountId: string, id: string): Promise<void> {
    await db.transaction().execute(async (trx) => {
      await deleteCallback(trx, accountId, id);
      await failOwedDeliveries(trx, id, 'callback_deleted', clock.now());
      // Its notice settings and failure episode go with it (its deliveries and attempts stay readable).
      await deleteCallbackNotifications(trx, id);
      await deleteNoticeTargets(trx, 'callback', id);
      await deleteCallbackHealth(trx, id);
    });
    await registry.reload();
  }

  function list(accountId: string, filter: CallbackFilter, offset: number, limit: number) {
    return listCallbacks(db, accountId, filter, offset, limit);
  }

  /** The signing secret, and the previous one while it still signs; 409 where the format's is not readable. */
  async function secrets(accountId: string, id: string): Promise<{ secret: string; previous: { secret: string | null; expiresAt: number } | null }> {
    const row = await load(accountId, id);
    if (!readableSecret(row.format)) {
      const unsigned = formatModule(row.format).secret === 'none';
      throw new ApiError('conflict', unsigned ? `${row.format} callbacks are not signed` : `the secret of a ${row.format} callback is write-only`);
    }
    const live = row.previous_secret_expires_at !== null && row.previous_secret_expires_at > clock.now();
    return { secret: row.secret, previous: live ? { secret: row.previous_secret, expiresAt: row.previous_secret_expires_at! } : null };
  }

  /** Enables the callback; its held deliveries are due now. */
  async function enable(accountId: string, id: string): Promise<CallbackRow> {
    if (!(await enableCallback(deps, accountId, id))) throw notFound(`callback ${id}`);
    deps.wake();
    return load(accountId, id);
  }

  /** Disables the callback; its owed deliveries are held. */
  async function disable(accountId: string, id: string): Promise<CallbackRow> {
    if (!(await disableCallback(deps, accountId, id, 'disabled by the API'))) throw notFound(`callback ${id}`);
    return load(accountId, id);
  }

  /** A new signing secret (given, or generated); the current one keeps signing for ROTATION_GRACE_MS. */
  async function rotateSecret(accountId: string, id: string, given: string | undefined): Promise<{ secret: string; previousExpiresAt: number }> {
    const row = await load(accountId, id);
    if (!formatModule(row.format).rotatesSecret) throw new ApiError('conflict', `a ${row.format} callback's secret is changed with PATCH (it has no rotation period)`);
    const now = clock.now();
    const secret = given ?? newWebhookSecret();
    if (secret === row.secret) throw new ApiError('conflict', 'the new secret equals the current one');
    const expires = now + ROTATION_GRACE_MS;
    await updateCallback(db, accountId, row.id, { secret, previous_secret: row.secret, previous_secret_expires_at: expires, updated_at: now });
    await registry.reload();
    return { secret, previousExpiresAt: expires };
  }

  /** Runs the format's URL check now and keeps its result as the callback's status. */
  async function refresh(accountId: string, id: string): Promise<CallbackRow> {
    const row = await load(accountId, id);
    const check = await checkRow(row);
    await updateCallback(db, accountId, row.id, {
      status: check.available ? 'available' : 'unavailable',
      status_checked_at: clock.now(),
      status_reason: check.reason,
    });
    return load(accountId, row.id);
  }

  /** Re-queues the callback's failed deliveries created since `since`; held ones stay held while it is disabled. */
  async function recover(row: CallbackRow, since: number): Promise<number> {
    const accountId = row.account_id;
    const requeued = await requeueFailedDeliveries(db, accountId, row.id, since, clock.now(), row.enabled === 0);
    deps.wake();
    return requeued;
  }

  return { load, build, create, update, remove, list, secrets, enable, disable, rotateSecret, refresh, recover, checkRow, sender: checker };
}
