import { invalid } from '../errors.js';
import { formatDuration, parseDuration } from '../lib/duration.js';
import type { FormatModule, ResolveContext } from './module.js';
import { FORMAT_MODULES } from './registry.js';

/**
 * The format-specific fields of the callback API (create and update bodies), resolved through the
 * callback's FormatModule: which format each belongs to (the modules' field lists), their validation,
 * and how they are kept (the `settings` JSON column; the format's secret in the `secret` column).
 * Pure: URL checks are passed in.
 */
export type FormatFields = Record<string, unknown>;

/** Fields every format accepts. */
export const COMMON_FORMAT_FIELDS = ['retry_schedule'] as const;

/** The formats each format field applies to (from the modules' field lists); giving one to another format is refused. */
export const FIELD_FORMATS: ReadonlyMap<string, readonly string[]> = (() => {
  const out = new Map<string, string[]>();
  for (const m of FORMAT_MODULES) for (const f of m.fields) out.set(f.key, [...(out.get(f.key) ?? []), m.name]);
  return out;
})();

export { newEmailKey } from './engagelab-email.js';

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
  channel: string | null;
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
 * names) or undefined when the body did not touch it.
 */
export function resolveFormat(
  mod: FormatModule,
  input: FormatFields,
  current: (StoredFormat & { format: string; events: string[]; method?: string }) | null,
  events: string[] | undefined,
  checkUrl: (url: string, field: string) => string,
  /** The callback's URL, headers and title after this change (template checks them as templates). */
  profile?: { url: string; headers: Record<string, string>; title: string },
): ResolvedFormat {
  const format = mod.name;
  for (const [key, v] of Object.entries(input)) {
    if (v === undefined || (COMMON_FORMAT_FIELDS as readonly string[]).includes(key)) continue;
    const allowed = FIELD_FORMATS.get(key);
    if (allowed && !allowed.includes(format)) {
      throw invalid(key, `applies to format${allowed.length > 1 ? 's' : ''} ${allowed.join(', ')} only (this callback is ${format})`);
    }
  }
  const same = current !== null && current.format === format;
  const s: Record<string, unknown> = same ? { ...current.settings } : {};
  const set = (k: string, v: unknown) => {
    if (v === null || v === undefined) delete s[k];
    else s[k] = v;
  };

  // Kept in ms for the worker, and as sent for the API to give back.
  const given = input.retry_schedule as string[] | null | undefined;
  if (given !== undefined) {
    set('retry_schedule', given === null ? null : schedule('retry_schedule', given));
    set('retry_schedule_sent', given);
  }

  const ctx: ResolveContext = {
    settings: s,
    secret: same ? current.secret : '',
    same,
    current: same ? { method: current.method ?? 'POST', events: current.events } : null,
    events,
    checkUrl,
    profile: profile ?? { url: '', headers: {}, title: '' },
    set,
    setRetrySchedule(delays) {
      s.retry_schedule = delays;
      delete s.retry_schedule_sent;
    },
  };
  const r = mod.resolve(input, ctx);
  if (r.final) return { settings: s, secret: r.secret, ...r.final };

  const supported = mod.events;
  let subscribed = r.events ?? events ?? current?.events ?? [];
  if (supported !== null) {
    if (subscribed.length === 0) subscribed = [...supported];
    const outside = subscribed.filter((e) => !supported.includes(e));
    if (outside.length > 0) {
      throw invalid('events', `format ${format} cannot carry ${outside.join(', ')}; it carries ${supported.join(', ')}`);
    }
  }
  return { settings: s, secret: r.secret, events: subscribed, method: 'POST', channel: null };
}

/**
 * The settings as the API shows them: secrets replaced by whether they are set, the retry schedule as
 * sent, or, when the format set it (Whispir's), as durations like those sent ("0s", "5m").
 */
export function settingsView(mod: FormatModule, settings: Record<string, unknown>, secret: string): Record<string, unknown> {
  const { retry_schedule_sent: sent, ...rest } = settings;
  const view = mod.view ? mod.view(rest, secret) : rest;
  if (sent !== undefined) return { ...view, retry_schedule: sent };
  const delays = rest.retry_schedule;
  return Array.isArray(delays) ? { ...view, retry_schedule: (delays as number[]).map(formatDuration) } : view;
}
