import type { SendResult } from '../../delivery/http.js';
import { checkDestinationUrl } from '../../delivery/ssrf.js';
import type { SendOutcome } from '../channel.js';

/**
 * The address rule of channels whose address is a URL they POST to (`NoticeChannel.check`): a
 * destination the SSRF guard allows, over https unless private networks are allowed (local use).
 */
export function checkPostUrl(address: string, opts: { allowPrivate: boolean }): string | null {
  const c = checkDestinationUrl(address, opts);
  if (!c.ok) return c.reason;
  if (c.url.protocol !== 'https:' && !opts.allowPrivate) return 'must be an https URL';
  return null;
}

/** A guarded HTTP exchange as a channel's outcome: 2xx delivered, anything else why not (with no secret). */
export function httpOutcome(service: string, res: SendResult, secrets: readonly string[]): SendOutcome {
  if (res.kind === 'response') {
    if (res.response.status >= 200 && res.response.status < 300) return { ok: true };
    return { ok: false, error: scrubAll(`${service} answered HTTP ${res.response.status}: ${res.response.body.slice(0, 300)}`, secrets) };
  }
  return { ok: false, error: scrubAll(`${service} unreachable: ${res.errorClass}: ${res.message}`, secrets) };
}

function scrubAll(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const s of secrets) if (s) out = out.split(s).join('[redacted]');
  return out;
}
