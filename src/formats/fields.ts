/**
 * Reading an event's `data` (free JSON posted by the caller) for the vendor formats: missing or
 * mistyped values become null/defaults, never exceptions. Pure helpers, no domain knowledge.
 */
export type Data = Record<string, unknown>;

export function asData(data: unknown): Data {
  return data !== null && typeof data === 'object' && !Array.isArray(data) ? (data as Data) : {};
}

/** A string field (numbers are stringified); null when absent. */
export function str(d: Data, key: string): string | null {
  const v = d[key];
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}

/** A number field (numeric strings accepted); null when absent. */
export function num(d: Data, key: string): number | null {
  const v = d[key];
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return null;
}

export function obj(d: Data, key: string): Data | null {
  const v = d[key];
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Data) : null;
}

/**
 * A time field as epoch milliseconds: a number (seconds when below 1e11, else milliseconds) or an
 * ISO 8601 string; `fallback` when absent or unreadable.
 */
export function timeMs(d: Data, key: string, fallback: number): number {
  const v = d[key];
  if (typeof v === 'number' && Number.isFinite(v)) return v < 1e11 ? Math.round(v * 1000) : Math.round(v);
  if (typeof v === 'string') {
    if (/^\d+(\.\d+)?$/.test(v)) return timeMs({ t: Number(v) }, 't', fallback);
    const ms = Date.parse(v);
    if (!Number.isNaN(ms)) return ms;
  }
  return fallback;
}

/** The caller's custom args: the event's `custom_args`, else `data.custom_args`, else {}. */
export function customArgs(eventArgs: Record<string, unknown> | null, d: Data): Record<string, unknown> {
  return eventArgs ?? obj(d, 'custom_args') ?? {};
}

const pad = (n: number) => String(n).padStart(2, '0');

/** Wall-clock parts of `ms` in an IANA time zone (default UTC). */
export function wallClock(ms: number, timeZone = 'UTC'): { y: number; mo: number; d: number; h: number; mi: number; s: number } {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(ms));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  return { y: get('year'), mo: get('month'), d: get('day'), h: get('hour'), mi: get('minute'), s: get('second') };
}

/** `Y-m-d H:i:s` (PHP date notation), e.g. `2026-11-21 21:21:15`. */
export function ymdHis(ms: number, timeZone?: string): string {
  const w = wallClock(ms, timeZone);
  return `${w.y}-${pad(w.mo)}-${pad(w.d)} ${pad(w.h)}:${pad(w.mi)}:${pad(w.s)}`;
}

/** `dd/MM/yy HH:mm`, e.g. `21/11/26 21:21`. */
export function dmyHm(ms: number, timeZone?: string): string {
  const w = wallClock(ms, timeZone);
  return `${pad(w.d)}/${pad(w.mo)}/${pad(w.y % 100)} ${pad(w.h)}:${pad(w.mi)}`;
}

/** True when `tz` is an IANA time zone this runtime knows. */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
