import { Memo } from '../lib/memo.js';
import { invalid } from '../errors.js';
import { currentKeyId, isSealed, seal, unseal } from '../lib/seal.js';
import { FORMAT_MODULES } from '../formats/registry.js';
import { sourceFormat } from '../inbound/registry.js';
import type { AccountSettingsRow, CallbackNotificationsRow, CallbackRow, NoticeTargetRow, SourceRow } from './schema.js';

/**
 * Which stored values are secrets, in one place: the repositories seal them on the way in and open
 * them on the way out (lib/seal.ts), so the API, the registry and the worker only ever see plain
 * values and cannot forget to seal one. Without RELAY_MASTER_KEY both directions leave values as they are.
 *
 * Secrets of a callback: `secret` and `previous_secret` (whsec_ signing secrets, the engagelab secret,
 * the engagelab-email key, the whispir key); every value of its static `headers` (which of them carry
 * credentials cannot be told from the name); its `url` when it may carry credentials (user:password@,
 * a query string); in `settings`, the paths each format declares (FormatModule.sealedSettings).
 */
let settingsPaths: { values: (readonly string[])[]; maps: { path: readonly string[]; url?: true }[] } | undefined;
/** Every format's secret settings (read on first use: the format modules import much of the code). */
function secretSettings() {
  if (!settingsPaths) {
    settingsPaths = { values: [], maps: [] };
    for (const m of FORMAT_MODULES) {
      settingsPaths.values.push(...(m.sealedSettings?.values ?? []));
      settingsPaths.maps.push(...(m.sealedSettings?.maps ?? []));
    }
  }
  return settingsPaths;
}

/** A URL with user:password@ or a query string (?token=…) may carry credentials; others stay readable. */
const URL_CREDENTIALS = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@|\?/i;
const urlSecret = (f: Change): Change => (url, field) => (URL_CREDENTIALS.test(url) || isSealed(url) ? f(url, field) : url);

/** A change of one stored secret; `field` names it as the API does (for errors). */
type Change = (value: string, field: string) => string;

/** `value` changed by `f`, unless empty (nothing to hide) or not a string. */
function one<T>(value: T, f: Change, field: string): T {
  return typeof value === 'string' && value !== '' ? (f(value, field) as T) : value;
}

function eachValue(obj: Record<string, unknown>, f: Change, field: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) out[k] = one(v, f, `${field}.${k}`);
  return out;
}

/**
 * Sealing a value on its way in. Without a master key it is stored as given, so a value that looks
 * sealed is refused: read back, it would be taken for a sealed secret (and a start would demand a key).
 */
const sealInput: Change = (value, field) => {
  if (currentKeyId() === null && isSealed(value)) throw invalid(field, 'may not begin with "sealed:" (the mark of secrets sealed at rest)');
  return seal(value);
};

function at(obj: Record<string, unknown>, path: readonly string[]): Record<string, unknown> | undefined {
  let o: unknown = obj;
  for (const p of path.slice(0, -1)) o = o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[p] : undefined;
  return o !== null && typeof o === 'object' && !Array.isArray(o) ? (o as Record<string, unknown>) : undefined;
}

/** The settings JSON with `f` applied to every secret in it (copied where changed). */
function settingsSecrets(json: string, f: Change): string {
  const s = JSON.parse(json) as Record<string, unknown>;
  const { values, maps } = secretSettings();
  for (const path of values) {
    const parent = at(s, path);
    const last = path[path.length - 1]!;
    if (parent && last in parent) parent[last] = one(parent[last], f, path.join('.'));
  }
  for (const { path, url } of maps) {
    const parent = at(s, path);
    const last = path[path.length - 1]!;
    const map = parent?.[last];
    if (parent && map !== null && typeof map === 'object' && !Array.isArray(map)) parent[last] = eachValue(map as Record<string, unknown>, url ? urlSecret(f) : f, path.join('.'));
  }
  return JSON.stringify(s);
}

function headersSecrets(json: string, f: Change): string {
  return JSON.stringify(eachValue(JSON.parse(json) as Record<string, unknown>, f, 'headers'));
}

type CallbackSecrets = Pick<CallbackRow, 'url' | 'secret' | 'previous_secret' | 'headers' | 'settings'>;

/** A callback row or patch with `f` applied to each secret among the columns it has. */
export function callbackSecrets<T extends Partial<CallbackSecrets>>(row: T, f: Change): T {
  const out = { ...row };
  if (row.url !== undefined) out.url = one(row.url, urlSecret(f), 'url');
  if (row.secret !== undefined) out.secret = one(row.secret, f, 'secret');
  if (row.previous_secret !== undefined) out.previous_secret = one(row.previous_secret, f, 'previous_secret');
  if (row.headers !== undefined) out.headers = headersSecrets(row.headers, f);
  if (row.settings !== undefined) out.settings = settingsSecrets(row.settings, f);
  return out;
}

/** Sealed values are recognisable by their prefix, also inside the JSON columns. */
const mayHoldSealed = (json: string) => json.includes('"sealed:');

// A stored JSON column opens to the same text every time (the registry reloads every callback after
// each write): parsed and opened once.
const openedHeaders = new Memo<string, string>(50_000);
const openedSettings = new Memo<string, string>(50_000);
const openHeaders = (json: string) => headersSecrets(json, unseal);
const openSettings = (json: string) => settingsSecrets(json, unseal);

/** A callback row or patch as stored: its secrets sealed. */
export function sealCallback<T extends Partial<CallbackSecrets>>(row: T): T {
  return callbackSecrets(row, sealInput);
}

/** A stored callback row with its secrets opened (the JSON columns parsed only when they hold sealed values). */
export function openCallback(row: CallbackRow): CallbackRow {
  return {
    ...row,
    url: one(row.url, unseal, 'url'),
    secret: one(row.secret, unseal, 'secret'),
    previous_secret: one(row.previous_secret, unseal, 'previous_secret'),
    headers: mayHoldSealed(row.headers) ? openedHeaders.get(row.headers, openHeaders) : row.headers,
    settings: mayHoldSealed(row.settings) ? openedSettings.get(row.settings, openSettings) : row.settings,
  };
}

/** Telegram bot tokens (a callback's notification settings, an account's): a sealed or opened copy. */
export function botTokenSecret<T extends { telegram_bot_token?: string | null | undefined }>(row: T, f: Change): T {
  return row.telegram_bot_token === undefined ? row : { ...row, telegram_bot_token: one(row.telegram_bot_token, f, 'telegram_bot_token') };
}

export function sealBotToken<T extends { telegram_bot_token?: string | null | undefined }>(row: T): T {
  return botTokenSecret(row, sealInput);
}

export function openBotToken<T extends CallbackNotificationsRow | AccountSettingsRow>(row: T): T {
  return botTokenSecret(row, unseal);
}

/** A notice target's secrets: its per-target `secret`, and its address when the channel says it is one (a Slack URL). */
export function noticeTargetSecrets<T extends Pick<NoticeTargetRow, 'address' | 'address_secret' | 'secret'>>(row: T, f: Change): T {
  return { ...row, address: row.address_secret === 1 ? one(row.address, f, 'targets.address') : row.address, secret: one(row.secret, f, 'targets.secret') };
}

export function sealNoticeTarget<T extends Pick<NoticeTargetRow, 'address' | 'address_secret' | 'secret'>>(row: T): T {
  return noticeTargetSecrets(row, sealInput);
}

export function openNoticeTarget(row: NoticeTargetRow): NoticeTargetRow {
  return noticeTargetSecrets(row, unseal);
}

/**
 * A source's secrets: its URL token, and in `settings` the values its inbound format names
 * (SourceFormat.secretSettings: an auth token, a key, a signing secret).
 */
export function sourceSecrets<T extends Pick<SourceRow, 'format' | 'settings' | 'token'>>(row: T, f: Change): T {
  const keys = sourceFormat(row.format)?.secretSettings ?? [];
  let settings = row.settings;
  if (keys.length > 0) {
    const s = JSON.parse(row.settings) as Record<string, unknown>;
    for (const k of keys) if (k in s) s[k] = one(s[k], f, `settings.${k}`);
    settings = JSON.stringify(s);
  }
  return { ...row, token: one(row.token, f, 'token'), settings };
}

export function sealSource<T extends Pick<SourceRow, 'format' | 'settings' | 'token'>>(row: T): T {
  return sourceSecrets(row, sealInput);
}

const openedSourceSettings = new Memo<string, string>(10_000);

/** A stored source with its secrets opened (settings opened once per stored text: every request reads them). */
export function openSource(row: SourceRow): SourceRow {
  return {
    ...row,
    token: one(row.token, unseal, 'token'),
    settings: mayHoldSealed(row.settings) ? openedSourceSettings.get(`${row.format}\0${row.settings}`, () => sourceSecrets({ ...row, token: '' }, unseal).settings) : row.settings,
  };
}
