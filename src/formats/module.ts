import { Type, type TSchema } from '@sinclair/typebox';
import { invalid } from '../errors.js';
import type { Callback } from '../routing/callback.js';
import { isTimeZone } from './fields.js';
import type { CheckRequest, RenderEvent, RenderedRequest } from './types.js';

/**
 * One wire format, whole: its fields (as data, for GET /v1/formats and the create body), how a body's
 * fields become stored settings, how the settings are shown, the event types it carries, render (and
 * batching), the URL check, its secrets for sealing and redaction. Every format is one such record,
 * listed once in ./registry.ts; nothing else switches on a format's name. See docs/adding-a-format.md.
 */
export interface FormatModule {
  /** The value of a callback's `format`. */
  name: string;
  label: string;
  /** One sentence: which receivers it is for. */
  description: string;
  /** Its document under docs/formats/. */
  doc: string;
  /** The event types it can carry; null: every type. Subscriptions outside it are refused. */
  events: readonly string[] | null;
  /** Response timeout when the callback sets none, in ms. */
  defaultTimeoutMs: number;
  /** Plain http only to loopback/private hosts (and only with RELAY_ALLOW_PRIVATE_NETWORKS=1). */
  httpsOnly?: boolean;
  /**
   * The `secret` column: `readable` — the API shows it (the relay generated it for signing);
   * `write-only` — the customer's credential, shown only as set or not; `none` — the format signs nothing.
   */
  secret: 'readable' | 'write-only' | 'none';
  /** Only this format signs with a previous secret during a rotation (POST /rotate-secret). */
  rotatesSecret?: boolean;
  /** The format's fields of the create and update bodies, described as data. */
  fields: readonly FieldSpec[];
  /** Secrets among the stored settings: sealed at rest (store/sealing.ts). */
  sealedSettings?: {
    /** Paths of single values. */
    values?: readonly (readonly string[])[];
    /** Paths of objects whose every value is secret, or (`url`) whose URLs may carry credentials. */
    maps?: readonly { path: readonly string[]; url?: true }[];
  };
  /** Headers it sends that carry credentials (redacted in attempt records and logs). */
  secretHeaders?: readonly string[];
  /** Applies a body's fields to the settings being built (`ctx.settings`, mutated); returns the secret. */
  resolve(input: Record<string, unknown>, ctx: ResolveContext): Resolved;
  /** The settings as the API shows them (secrets replaced by whether they are set); default: as stored. */
  view?(settings: Record<string, unknown>, secret: string): Record<string, unknown>;
  render(event: RenderEvent, cb: Callback, now: number): RenderedRequest;
  /** For formats whose envelope carries several events: how many share one request, and that request. */
  batch?: { limit(cb: Callback): number; render(events: readonly RenderEvent[], cb: Callback, now: number): RenderedRequest };
  /** The URL check(s) (`POST /v1/callbacks/{id}/refresh`): one request per distinct URL. */
  check(cb: Callback, now: number): CheckRequest[];
  /** Whether a save must pass the URL check first (Whispir's rule), given the row before (null: a new one) and after. */
  checkOnSave?(before: SavedShape | null, after: SavedShape): boolean;
  /** A URL stored as written and checked once rendered (template); default: checked as a destination. */
  templatedUrl?(url: string): string;
  /** A rule on the callback's title (template). */
  checkTitle?(title: string): void;
}

/** The kinds of field a form draws. */
export type FieldType = 'text' | 'url' | 'secret' | 'select' | 'map' | 'events' | 'number' | 'boolean' | 'email' | 'timezone' | 'durations' | 'object' | 'list';

/** One field of a format, as GET /v1/formats serves it (`schema` is the create body's, not served). */
export interface FieldSpec {
  key: string;
  type: FieldType;
  label: string;
  help: string;
  required?: boolean;
  /** Never shown back (only whether it is set). */
  write_only?: boolean;
  /** null removes it on update. */
  nullable?: boolean;
  options?: readonly string[];
  default?: unknown;
  /** The parts of an `object` field. */
  fields?: readonly FieldSpec[];
  /** The create body's schema for this key (TypeBox); the same key in two formats shares one schema. */
  schema: TSchema;
}

export interface SavedShape {
  url: string;
  format: string;
  secret: string;
  settings: Record<string, unknown>;
}

export interface ResolveContext {
  /** The settings being built: the stored ones when the format is unchanged, else empty. */
  settings: Record<string, unknown>;
  /** The stored secret when the format is unchanged, else ''. */
  secret: string;
  /** Whether the callback already had this format. */
  same: boolean;
  /** Stored method and events when the format is unchanged. */
  current: { method: string; events: string[] } | null;
  /** The subscription as given (names), undefined when the body did not touch it. */
  events: string[] | undefined;
  checkUrl(url: string, field: string): string;
  profile: { url: string; headers: Record<string, string>; title: string };
  /** Sets a setting; null or undefined removes it. */
  set(key: string, value: unknown): void;
  /** Replaces the retry schedule (delays in ms) with the format's own, dropping the one as sent. */
  setRetrySchedule(delaysMs: number[]): void;
}

export interface Resolved {
  secret: string;
  /** The subscription, when the format decides it (e.g. from other settings). */
  events?: string[] | undefined;
  /** The format checked the subscription itself and chose the method and channel (template). */
  final?: { events: string[]; method: string; channel: string | null };
}

/** Shown instead of a write-only value. */
export const REDACTED_VALUE = '[redacted]';

const CONTROL = /[\u0000-\u001f\u007f]/;

/** 1 to `max` characters, no control characters. */
export function text(field: string, v: string, max: number): string {
  if (v.length === 0 || v.length > max) throw invalid(field, `must be 1 to ${max} characters`);
  if (CONTROL.test(v)) throw invalid(field, 'may not contain control characters');
  return v;
}

export function timeZone(v: string): string {
  if (!isTimeZone(v)) throw invalid('timezone', `unknown time zone "${v}" (use an IANA name such as Europe/Paris)`);
  return v;
}

/** The served description of a field (its body schema left out). */
export type FieldDescription = Omit<FieldSpec, 'schema' | 'fields' | 'options'> & { options?: string[]; fields?: FieldDescription[] };

export function describeField(f: FieldSpec): FieldDescription {
  const { schema: _schema, fields, options, ...rest } = f;
  return { ...rest, ...(options ? { options: [...options] } : {}), ...(fields ? { fields: fields.map(describeField) } : {}) };
}

/** Body schemas of keys several formats share (one schema per key; each format describes its own use). */
export const SHARED_SCHEMAS = {
  secret: Type.String({ minLength: 1, maxLength: 256, description: 'standard, template: whsec_ + base64; engagelab: the signing secret (write-only); engagelab-email: the signature key' }),
  timezone: Type.String({ minLength: 1, maxLength: 64, description: 'octopush, whispir: IANA time zone of the dates (default UTC)' }),
  auth: Type.Object(
    {
      type: Type.Union(['querystring', 'httpheader', 'none', 'basic', 'bearer', 'raw'].map((t) => Type.Literal(t))),
      key: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'whispir: the key (write-only)' })),
      username: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'template basic' })),
      password: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: 'template basic (write-only)' })),
      token: Type.Optional(Type.String({ minLength: 1, maxLength: 8192, description: 'template bearer (write-only)' })),
      value: Type.Optional(Type.String({ minLength: 1, maxLength: 8192, description: 'template raw: the Authorization header value sent unchanged (write-only)' })),
    },
    {
      additionalProperties: false,
      description:
        'whispir: the key as ?auth=KEY (querystring) or X-Whispir-Callback-Key (httpheader); template: none, basic (username, password), bearer (token) or raw (value)',
    },
  ),
};

/** `t` or null (null removes the setting on update). */
export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
