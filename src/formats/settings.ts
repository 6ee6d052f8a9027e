import { randomBytes } from 'node:crypto';
import { invalid } from '../errors.js';
import { parseDuration } from '../lib/duration.js';
import { newWebhookSecret } from '../lib/crypto.js';
import { isTimeZone } from './fields.js';
import { FORMAT_INFO, type Format } from './index.js';
import { WHISPIR_RETRY_SCHEDULE, whispirEvents, type WhispirSettings } from './whispir.js';
import { resolveTemplate, type TemplateInput } from './template-settings.js';
import type { TemplateChannel } from './template.js';

/**
 * Format-specific fields of the callback API (create and update bodies): which format each belongs
 * to, their validation, and how they are kept (the `settings` JSON column; the format's secret in
 * the `secret` column). Pure: URL checks are passed in.
 */
export interface FormatFields extends Omit<TemplateInput, 'auth'> {
  secret?: string | undefined;
  username?: string | null | undefined;
  authorization?: string | null | undefined;
  signature?: 'md5' | 'hmac-sha256' | undefined;
  app_key?: string | undefined;
  urls?: { delivery?: string | null; reply?: string | null; opt_out?: string | null } | undefined;
  encoding?: 'json' | 'form' | undefined;
  /** whispir: querystring | httpheader with key; template: none | basic | bearer | raw. */
  auth?: TemplateInput['auth'];
  content_type?: 'json' | 'xml' | undefined;
  retries_enabled?: boolean | undefined;
  email?: string | null | undefined;
  callbacks?: { reply?: boolean; undeliverable?: boolean } | undefined;
  timezone?: string | undefined;
  retry_schedule?: string[] | null | undefined;
  max_rows?: number | undefined;
}

const ALL: readonly Format[] = ['standard', 'engagelab', 'engagelab-email', 'octopush', 'whispir', 'template'];

/** The formats each field applies to; giving one to another format is refused. */
export const FIELD_FORMATS: Readonly<Record<keyof FormatFields, readonly Format[]>> = {
  secret: ['standard', 'engagelab', 'engagelab-email', 'template'],
  username: ['engagelab'],
  authorization: ['engagelab'],
  max_rows: ['engagelab'],
  signature: ['engagelab-email'],
  app_key: ['engagelab-email'],
  urls: ['octopush'],
  encoding: ['octopush'],
  auth: ['whispir', 'template'],
  content_type: ['whispir'],
  retries_enabled: ['whispir'],
  email: ['whispir'],
  callbacks: ['whispir'],
  timezone: ['octopush', 'whispir'],
  retry_schedule: ALL,
  method: ['template'],
  channel: ['template'],
  query: ['template'],
  body_type: ['template'],
  body: ['template'],
  token_auth: ['template'],
  encryption: ['template'],
  success: ['template'],
};

/** Formats whose secret the API never shows (the customer chose it; it authenticates us to them). */
export const WRITE_ONLY_SECRET: readonly Format[] = ['engagelab', 'whispir'];

const WHSEC = /^whsec_[A-Za-z0-9+/]{32,}={0,2}$/;
const CONTROL = /[\u0000-\u001f\u007f]/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export interface StoredFormat {
  settings: Record<string, unknown>;
  /** The value of the `secret` column. */
  secret: string;
}

export interface ResolvedFormat extends StoredFormat {
  /** Event names the callback subscribes to after this change. */
  events: string[];
  /** template: the HTTP method and channel (columns); other formats: POST and null. */
  method: string;
  channel: TemplateChannel | null;
}

/** A new key for engagelab-email signatures (32 hex characters). */
export function newEmailKey(): string {
  return randomBytes(16).toString('hex');
}

function text(field: string, v: string, max: number): string {
  if (v.length === 0 || v.length > max) throw invalid(field, `must be 1 to ${max} characters`);
  if (CONTROL.test(v)) throw invalid(field, 'may not contain control characters');
  return v;
}

function schedule(field: string, v: string[]): number[] {
  if (v.length === 0 || v.length > 500) throw invalid(field, 'must list 1 to 500 delays (the number of attempts)');
  return v.map((d, i) => {
    try {
      const ms = parseDuration(d);
      if (ms > 7 * 86_400_000) throw new Error('longer than 7 days');
      return ms;
    } catch (err) {
      throw invalid(`${field}[${i}]`, (err as Error).message);
    }
  });
}

/**
 * Applies the format fields of a create (`current` null) or update body to what is stored, for the
 * callback's (possibly new) format. `events` are the subscription as given (already resolved to
 * names) or undefined when the body did not touch it; `currentEvents` what is stored.
 */
export function resolveFormat(
  format: Format,
  input: FormatFields,
  current: (StoredFormat & { format: string; events: string[]; method?: string }) | null,
  events: string[] | undefined,
  checkUrl: (url: string, field: string) => string,
  /** The callback's URL, headers and title after this change (template checks them as templates). */
  profile?: { url: string; headers: Record<string, string>; title: string },
): ResolvedFormat {
  for (const [key, v] of Object.entries(input)) {
    const allowed = FIELD_FORMATS[key as keyof FormatFields];
    if (v !== undefined && allowed && !allowed.includes(format)) {
      throw invalid(key, `applies to format${allowed.length > 1 ? 's' : ''} ${allowed.join(', ')} only (this callback is ${format})`);
    }
  }
  const same = current !== null && current.format === format;
  const s: Record<string, unknown> = same ? { ...current.settings } : {};
  let secret = same ? current.secret : '';
  const set = (k: string, v: unknown) => {
    if (v === null || v === undefined) delete s[k];
    else s[k] = v;
  };

  if (input.retry_schedule !== undefined) set('retry_schedule', input.retry_schedule === null ? null : schedule('retry_schedule', input.retry_schedule));

  switch (format) {
    case 'standard':
      if (input.secret !== undefined) {
        if (!WHSEC.test(input.secret)) throw invalid('secret', 'must be whsec_ followed by base64 of 24 to 64 bytes');
        secret = input.secret;
      }
      if (!WHSEC.test(secret)) secret = newWebhookSecret();
      break;
    case 'engagelab':
      if (input.secret !== undefined) secret = text('secret', input.secret, 256);
      if (input.username !== undefined) {
        if (input.username !== null && /[;=\s]/.test(text('username', input.username, 128))) throw invalid('username', 'may not contain ";", "=" or spaces');
        set('username', input.username);
      }
      if (input.authorization !== undefined) set('authorization', input.authorization === null ? null : text('authorization', input.authorization, 8192));
      if (input.max_rows !== undefined) set('max_rows', input.max_rows);
      if (s.username !== undefined && secret === '') throw invalid('secret', 'is required when a username is set (it keys the X-CALLBACK-ID signature)');
      break;
    case 'engagelab-email':
      if (input.secret !== undefined) secret = text('secret', input.secret, 256);
      if (secret === '') secret = newEmailKey();
      if (input.signature !== undefined) set('signature', input.signature);
      if (input.app_key !== undefined) {
        if (!TOKEN.test(input.app_key) || input.app_key.length > 64) throw invalid('app_key', 'must be 1 to 64 letters, digits or -._~');
        set('app_key', input.app_key);
      }
      break;
    case 'octopush': {
      if (input.urls !== undefined) {
        const urls: Record<string, string> = { ...((s.urls as Record<string, string> | undefined) ?? {}) };
        for (const [k, u] of Object.entries(input.urls)) {
          if (u === null || u === undefined) delete urls[k];
          else urls[k] = checkUrl(u, `urls.${k}`);
        }
        set('urls', Object.keys(urls).length > 0 ? urls : null);
      }
      if (input.encoding !== undefined) set('encoding', input.encoding);
      if (input.timezone !== undefined) set('timezone', tz(input.timezone));
      secret = '';
      break;
    }
    case 'template': {
      if (input.secret !== undefined) {
        if (!WHSEC.test(input.secret)) throw invalid('secret', 'must be whsec_ followed by base64 of 24 to 64 bytes');
        secret = input.secret;
      }
      if (!WHSEC.test(secret)) secret = newWebhookSecret();
      const t = resolveTemplate(
        input,
        s,
        same ? { method: current.method ?? 'POST', events: current.events } : null,
        events,
        profile ?? { url: '', headers: {}, title: '' },
        checkUrl,
      );
      return { settings: s, secret, events: t.events, method: t.method, channel: t.channel };
    }
    case 'whispir': {
      if (input.auth !== undefined && input.auth.type !== 'querystring' && input.auth.type !== 'httpheader') {
        throw invalid('auth.type', 'must be querystring or httpheader for whispir callbacks');
      }
      if (input.auth !== undefined) {
        set('auth_type', input.auth.type);
        if (input.auth.key !== undefined) secret = text('auth.key', input.auth.key, 256);
      }
      if (s.auth_type === undefined) throw invalid('auth', 'is required for whispir callbacks: {type: querystring | httpheader, key}');
      if (secret === '') throw invalid('auth.key', 'is required');
      if (input.content_type !== undefined) set('content_type', input.content_type);
      s.content_type ??= 'json';
      if (input.retries_enabled !== undefined) set('retries_enabled', input.retries_enabled);
      s.retries_enabled ??= true;
      if (input.email !== undefined) {
        if (input.email !== null && !EMAIL.test(input.email)) throw invalid('email', 'is not an e-mail address');
        set('email', input.email);
      }
      if (input.timezone !== undefined) set('timezone', tz(input.timezone));
      const prev = (s.callbacks as WhispirSettings['callbacks']) ?? { reply: true, undeliverable: true };
      const kinds = { reply: input.callbacks?.reply ?? prev.reply, undeliverable: input.callbacks?.undeliverable ?? prev.undeliverable };
      if (!kinds.reply && !kinds.undeliverable) throw invalid('callbacks', 'at least one of reply and undeliverable must be true');
      s.callbacks = kinds;
      if (s.retries_enabled === false) {
        if (input.retry_schedule) throw invalid('retry_schedule', 'retries are disabled (retries_enabled: false): one attempt');
        s.retry_schedule = [0];
      } else {
        // An explicit schedule survives unrelated updates; otherwise (or after re-enabling) Whispir's own.
        const kept = s.retry_schedule as number[] | undefined;
        if (!kept || (input.retries_enabled === true && !input.retry_schedule && kept.length === 1)) s.retry_schedule = [...WHISPIR_RETRY_SCHEDULE];
      }
      if (events === undefined && (input.callbacks !== undefined || !same)) events = whispirEvents(kinds);
      break;
    }
  }

  const supported = FORMAT_INFO[format].events;
  let subscribed = events ?? current?.events ?? [];
  if (supported !== null) {
    if (subscribed.length === 0) subscribed = [...supported];
    const outside = subscribed.filter((e) => !supported.includes(e));
    if (outside.length > 0) {
      throw invalid('events', `format ${format} cannot carry ${outside.join(', ')}; it carries ${supported.join(', ')}`);
    }
  }
  return { settings: s, secret, events: subscribed, method: 'POST', channel: null };
}

function tz(v: string): string {
  if (!isTimeZone(v)) throw invalid('timezone', `unknown time zone "${v}" (use an IANA name such as Europe/Paris)`);
  return v;
}

/** The settings as the API shows them: secrets replaced by whether they are set. */
export function settingsView(format: string, settings: Record<string, unknown>, secret: string): Record<string, unknown> {
  const view: Record<string, unknown> = { ...settings };
  if (format === 'engagelab') {
    if (view.authorization !== undefined) view.authorization = '[redacted]';
    view.secret_set = secret !== '';
  }
  if (format === 'whispir') {
    view.auth = { type: view.auth_type, key_set: secret !== '' };
    delete view.auth_type;
  }
  if (format === 'template') {
    const auth = view.auth as Record<string, unknown> | undefined;
    if (auth) {
      const { password, token, value, ...rest } = auth;
      view.auth = { ...rest, ...(password !== undefined ? { password_set: true } : {}), ...(token !== undefined ? { token_set: true } : {}), ...(value !== undefined ? { value_set: true } : {}) };
    } else view.auth = { type: 'none' };
    const ta = view.token_auth as Record<string, unknown> | undefined;
    if (ta) {
      const { client_secret, ...rest } = ta;
      view.token_auth = { ...rest, client_secret_set: client_secret !== undefined };
    }
    const enc = view.encryption as Record<string, unknown> | undefined;
    if (enc) {
      const { key, ...rest } = enc;
      view.encryption = { ...rest, key_set: key !== undefined };
    }
  }
  return view;
}
