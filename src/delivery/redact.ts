// Covers the vendor formats' own: X-CALLBACK-ID (engagelab), X-WebHook-Signature (engagelab-email),
// X-Whispir-Callback-Key (whispir; any header ending in -key).
const SECRET_HEADER = /authorization|signature|secret|token|api[-_]?key|password|cookie|x-callback-id|auth|(^|-)key$/i;
const SECRET_PARAM = /^(auth|key|token|secret|password|signature|sig|access_token|api_key|apikey)$/i;

/** Header values that may be secret are replaced, so attempt records and logs never hold them. */
export function redactHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) out[name] = SECRET_HEADER.test(name) ? '[redacted]' : value;
  return out;
}

/** Credentials in the URL (user:password@, ?auth=…) are replaced. */
export function redactUrl(url: string): string {
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
