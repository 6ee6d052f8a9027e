// Covers the vendor formats' own: X-CALLBACK-ID (engagelab), X-WebHook-Signature (engagelab-email),
// X-Whispir-Callback-Key (whispir; any header ending in -key).
const SECRET_HEADER = /authorization|signature|secret|token|api[-_]?key|password|cookie|x-callback-id|auth|(^|-)key$/i;
const SECRET_PARAM = /^(auth|key|token|secret|password|signature|sig|access_token|api_key|apikey)$/i;

/** Per header name: whether its value may be secret (the same few names repeat on every attempt). */
const secretNames = new Map<string, boolean>();

/** Header values that may be secret are replaced, so attempt records and logs never hold them. */
export function redactHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in headers) {
    let secret = secretNames.get(name);
    if (secret === undefined) {
      secret = SECRET_HEADER.test(name);
      if (secretNames.size >= 1000) secretNames.clear();
      secretNames.set(name, secret);
    }
    out[name] = secret ? '[redacted]' : headers[name]!;
  }
  return out;
}

const redactedUrls = new Map<string, string>();

/** Credentials in the URL (user:password@, ?auth=…) are replaced. */
export function redactUrl(url: string): string {
  let out = redactedUrls.get(url);
  if (out === undefined) {
    out = redactUrlOnce(url);
    if (redactedUrls.size >= 1000) redactedUrls.clear();
    redactedUrls.set(url, out);
  }
  return out;
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
