import { Type, type Static, type TOptional, type TSchema } from '@sinclair/typebox';
import { FORMAT_MODULES, FORMATS, formatModule } from '../../formats/index.js';
import { settingsView } from '../../formats/settings.js';
import { redactHeaders } from '../../delivery/redact.js';
import type { CallbackRow } from '../../store/schema.js';
import { Paging, isoTime } from '../routes/common.js';

/** The bodies, answers and parameters of /v1/callbacks (and the create body of /v1/callbacks/test), and its JSON views. */

const Headers = Type.Record(Type.String(), Type.String(), {
  description:
    'Static headers sent with every call. Values may not contain CR or LF. Credential headers (Authorization, Cookie, X-Api-Key, …) are write-only: shown as "[redacted]"; sending "[redacted]" back keeps the stored value.',
});
const Events = Type.Array(Type.Union([Type.String(), Type.Integer()]), {
  maxItems: 200,
  description: 'Event type names or codes; empty or absent: every event.',
});
const Secret = Type.String({ pattern: '^whsec_[A-Za-z0-9+/]{32,}={0,2}$', description: 'whsec_ followed by base64 of 24 to 64 bytes' });

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

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

export const CreateBody = Type.Object(CallbackFields, { additionalProperties: false });
export const UpdateBody = Type.Partial(CreateBody, { additionalProperties: false, minProperties: 1 });
export type CreateInput = Static<typeof CreateBody>;
export type UpdateInput = Static<typeof UpdateBody>;

export const CallbackOut = Type.Object({
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

export const CallbackList = Type.Object({ data: Type.Array(CallbackOut), total: Type.Integer(), offset: Type.Integer(), limit: Type.Integer() });

export const IdParams = Type.Object({ id: Type.String() });

export const ListQuery = Type.Object(
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

export const SecretsOut = Type.Object({
  secret: Type.String(),
  previous_secret: Type.Union([Type.String(), Type.Null()]),
  previous_secret_expires_at: Type.Union([Type.String(), Type.Null()]),
});

export const RotateBody = Type.Optional(Type.Object({ secret: Type.Optional(Secret) }, { additionalProperties: false }));
export const RotateOut = Type.Object({ secret: Type.String(), previous_secret_expires_at: Type.String() });

export const RecoverBody = Type.Object({ since: Type.String({ format: 'date-time' }) }, { additionalProperties: false });
export const RecoverOut = Type.Object({ requeued: Type.Integer() });

/** Whether the API ever shows the format's secret (the ones the relay generates for signing). */
export function readableSecret(format: string): boolean {
  return formatModule(format).secret === 'readable';
}

/** A callback as the API shows it: credential headers redacted, secrets only as whether they are set (or, `withSecret`, a readable one once). */
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
