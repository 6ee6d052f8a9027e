import { Memo } from '../lib/memo.js';
import { FORMAT_MODULES } from '../formats/registry.js';
const SECRET_HEADER = /authorization|signature|secret|token|api[-_]?key|password|cookie|auth|(^|-)key$/i;
/** The formats' own credential headers (FormatModule.secretHeaders), read on first use. */
let formatHeaders: Set<string> | undefined;
const formatSecretHeaders = () => (formatHeaders ??= new Set(FORMAT_MODULES.flatMap((m) => m.secretHeaders ?? []).map((h) => h.toLowerCase())));
const SECRET_PARAM = /^(auth|key|token|secret|password|signature|sig|access_token|api_key|apikey)$/i;

/** What a secret value is shown as (attempt records, logs, a callback's headers). */
export const REDACTED = '[redacted]';

/** Per header name: whether its value may be secret (the same few names repeat on every attempt). */
const secretNames = new Memo<string, boolean>(1000);
const isSecretName = (name: string) => SECRET_HEADER.test(name) || formatSecretHeaders().has(name.toLowerCase());

/**
 * Whether a header's value may be secret: Authorization, Proxy-Authorization, Cookie, X-Api-Key,
 * anything naming a token, secret, signature, password or key. The one rule for attempt records and
 * for the headers a callback shows (write-only there).
 */
export function isSecretHeader(name: string): boolean {
  return secretNames.get(name, isSecretName);
}

/** Header values that may be secret are replaced, so attempt records and logs never hold them. */
export function redactHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in headers) out[name] = isSecretHeader(name) ? REDACTED : headers[name]!;
  return out;
}

const redactedUrls = new Memo<string, string>(1000);

/** Credentials in the URL (user:password@, ?auth=…) are replaced. */
export function redactUrl(url: string): string {
  return redactedUrls.get(url, redactUrlOnce);
}

function redactUrlOnce(url: string): string {
  try {
    const u = new URL(url);
    if (u.username) u.username = 'redacted';
    if (u.password) u.password = 'redacted';
    for (const name of [...u.searchParams.keys()]) if (SECRET_PARAM.test(name)) u.searchParams.set(name, 'redacted');
    return u.toString();
  } catch {
    return url;
  }
}
