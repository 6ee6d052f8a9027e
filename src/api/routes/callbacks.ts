import { Type, type Static, type TOptional, type TSchema } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ApiError, invalid, notFound } from '../../errors.js';
import { newId } from '../../lib/ids.js';
import { newWebhookSecret } from '../../lib/crypto.js';
import { resolveEventType } from '../../catalogue/event-types.js';
import { checkDestinationUrl } from '../../delivery/ssrf.js';
import { checkRequests, FORMAT_MODULES, FORMATS, formatModule, type FormatModule } from '../../formats/index.js';
import { DEFAULT_FORMAT } from '../../formats/registry.js';
import type { SavedShape } from '../../formats/module.js';
import { resolveFormat, settingsView, type FormatFields } from '../../formats/settings.js';
import { toCallback } from '../../routing/callback.js';
import { callbackTestRoutes } from './callback-test.js';
import { HttpSender } from '../../delivery/http.js';
import { isBlockedAddress } from '../../delivery/ssrf.js';
import { REDACTED, isSecretHeader, redactHeaders, redactUrl } from '../../delivery/redact.js';
import { runUrlChecks } from '../url-check.js';
import { deleteCallback, findCallback, insertCallback, listCallbacks, updateCallback } from '../../store/callbacks.js';
import { failOwedDeliveries, requeueFailedDeliveries } from '../../store/deliveries.js';
import type { CallbackRow, CallbacksTable } from '../../store/schema.js';
import { findApiUserByName } from '../../store/accounts.js';
import { deleteCallbackNotifications } from '../../store/notices.js';
import { deleteNoticeTargets } from '../../store/targets.js';
import { deleteCallbackHealth } from '../../store/health.js';
import { disableCallback, enableCallback } from '../../routing/lifecycle.js';
import type { AppDeps } from '../app.js';
import { ErrorBody, Paging, isoTime, parseTime } from './common.js';
import type { Updateable } from 'kysely';

/** The previous secret keeps signing this long after a rotation. */
export const ROTATION_GRACE_MS = 24 * 3_600_000;

const Headers = Type.Record(Type.String(), Type.String(), {
  description:
    'Static headers sent with every call. Values may not contain CR or LF. Credential headers (Authorization, Cookie, X-Api-Key, …) are write-only: shown as "[redacted]"; sending "[redacted]" back keeps the stored value.',
});
const Events = Type.Array(Type.Union([Type.String(), Type.Integer()]), {
  maxItems: 200,
  description: 'Event type names or codes; empty or absent: every event.',
});
const Secret = Type.String({ pattern: '^whsec_[A-Za-z0-9+/]{32,}={0,2}$', description: 'whsec_ followed by base64 of 24 to 64 bytes' });

const Nullable = <T extends import('@sinclair/typebox').TSchema>(t: T) => Type.Union([t, Type.Null()]);

/**
 * Fields of one format or a few, from the formats' modules (see docs/formats/*.md; GET /v1/formats
 * describes them); each is refused on callbacks of other formats. A key several formats share has one schema.
 */
export const FormatFieldSchemas: Record<string, TOptional<TSchema>> = {
  ...Object.fromEntries(FORMAT_MODULES.flatMap((m) => m.fields.map((f) => [f.key, Type.Optional(f.schema)] as const)).reverse()),
  retry_schedule: Type.Optional(
    Nullable(Type.Array(Type.String({ maxLength: 16 }), { description: 'Delay before each attempt, e.g. ["0s","5m","30m"]; its length is the number of attempts; null: the default' })),
  ),
};

const CallbackFields = {
  title: Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\u0000]*$' }),
  url: Type.String({ minLength: 1, maxLength: 2048 }),
  format: Type.Optional(Type.Union(FORMATS.map((f) => Type.Literal(f)))),
  events: Type.Optional(Events),
  enabled: Type.Optional(Type.Boolean()),
  headers: Type.Optional(Headers),
  timeout: Type.Optional(Type.Number({ minimum: 0.1, maximum: 60, description: 'Response timeout in seconds (default 15, at most 60)' })),
  api_user: Type.Optional(Type.Union([Type.String({ pattern: '^[^\\u0000]*$' }), Type.Null()], { description: 'Only events sent by this api user' })),
  ...FormatFieldSchemas,
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
  status: Type.String({ description: 'URL check result: unknown, available or unavailable (POST /refresh)' }),
  status_checked_at: Type.Union([Type.String(), Type.Null()]),
  status_reason: Type.Union([Type.String(), Type.Null()]),
  settings: Type.Record(Type.String(), Type.Unknown(), { description: 'Format-specific settings; secrets shown only as whether they are set' }),
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
    method: Type.Optional(Type.String({ description: 'HTTP method (template callbacks choose theirs; the others POST)' })),
    channel: Type.Optional(Type.String({ description: 'template callbacks of this channel' })),
    created_after: Type.Optional(Type.String({ format: 'date-time' })),
    created_before: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);

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

/** Whether the API ever shows the format's secret (the ones the relay generates for signing). */
function readableSecret(format: string): boolean {
  return formatModule(format).secret === 'readable';
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
    headers: redactHeaders(JSON.parse(row.headers) as Record<string, string>),
    timeout: row.timeout_ms / 1000,
    api_user: row.api_user,
    status: row.status,
    status_checked_at: row.status_checked_at === null ? null : isoTime(row.status_checked_at),
    status_reason: row.status_reason,
    settings: settingsView(formatModule(row.format), JSON.parse(row.settings) as Record<string, unknown>, row.secret),
    created_at: isoTime(row.created_at),
    updated_at: isoTime(row.updated_at),
    ...(withSecret && readableSecret(row.format) ? { secret: row.secret } : {}),
  };
}

export type CreateInput = Static<typeof CreateBody>;
export type UpdateInput = Static<typeof UpdateBody>;

/**
 * Create, update and delete of callbacks with every check, shared by /v1/callbacks and the EngageLab
 * face /v1/webhooks (one table, several API faces). `onClose` registers the cleanup of the URL-check
 * client.
 */
export function callbackOps(deps: AppDeps, onClose: (fn: () => Promise<void>) => void) {
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

  return { load, build, create, update, remove, checkRow, sender: checker };
}

export function callbackRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const { clock } = deps;
    const db = deps.store.db;
    const tags = ['callbacks'];
    const ops = callbackOps(deps, (fn) => fastify.addHook('onClose', fn));
    const { load, checkRow } = ops;
    await fastify.register(callbackTestRoutes(deps, ops, CreateBody));

    app.post(
      '/callbacks',
      { schema: { tags, summary: 'Create a callback', body: CreateBody, response: { 201: CallbackOut, 422: ErrorBody } } },
      async (req, reply) => reply.code(201).send(callbackJson(await ops.create(req.principal.accountId, req.body), true)),
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
            method: q.method?.toUpperCase(),
            channel: q.channel,
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
        if (!readableSecret(row.format)) {
          const unsigned = formatModule(row.format).secret === 'none';
          throw new ApiError('conflict', unsigned ? `${row.format} callbacks are not signed` : `the secret of a ${row.format} callback is write-only`);
        }
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
        return callbackJson(await ops.update(accountId, await load(accountId, req.params.id), req.body));
      },
    );

    app.delete('/callbacks/:id', { schema: { tags, summary: 'Delete a callback', params: IdParams } }, async (req, reply) => {
      const accountId = req.principal.accountId;
      await load(accountId, req.params.id);
      await ops.remove(accountId, req.params.id);
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
        if (!formatModule(row.format).rotatesSecret) throw new ApiError('conflict', `a ${row.format} callback's secret is changed with PATCH (it has no rotation period)`);
        const now = clock.now();
        const secret = req.body?.secret ?? newWebhookSecret();
        if (secret === row.secret) throw new ApiError('conflict', 'the new secret equals the current one');
        const expires = now + ROTATION_GRACE_MS;
        await updateCallback(db, accountId, row.id, { secret, previous_secret: row.secret, previous_secret_expires_at: expires, updated_at: now });
        await deps.registry.reload();
        return { secret, previous_secret_expires_at: isoTime(expires) };
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
      async (req) => {
        const accountId = req.principal.accountId;
        const row = await load(accountId, req.params.id);
        const check = await checkRow(row);
        await updateCallback(db, accountId, row.id, {
          status: check.available ? 'available' : 'unavailable',
          status_checked_at: clock.now(),
          status_reason: check.reason,
        });
        return callbackJson(await load(accountId, row.id));
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

/** Loopback and private hosts: where engagelab accepts plain http when private networks are allowed. */
function isPrivateHost(host: string): boolean {
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const reason = isBlockedAddress(host);
  return reason !== null && reason !== 'invalid';
}
