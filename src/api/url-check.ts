import type { HttpSender } from '../delivery/http.js';
import type { CheckRequest } from '../formats/index.js';

export interface CheckResult {
  available: boolean;
  /** Why not, e.g. `HTTP 500 from https://…` or `connect_timeout: …`; null when available. */
  reason: string | null;
}

/** Runs a callback's URL checks (see `checkRequests` in formats); available when every one succeeds. */
export async function runUrlChecks(sender: HttpSender, requests: readonly CheckRequest[], redact: (url: string) => string): Promise<CheckResult> {
  for (const req of requests) {
    const res = await sender.send({ method: req.method, url: req.url, headers: req.headers, ...(req.body !== '' ? { body: req.body } : {}), timeoutMs: req.timeoutMs });
    const where = `${req.method} ${redact(req.url)}`;
    if (res.kind === 'error') return { available: false, reason: `${where}: ${res.errorClass} (${res.message})` };
    const status = res.response.status;
    const statuses = req.success.statuses;
    if (statuses ? !statuses.includes(status) : status < 200 || status >= 300) {
      return { available: false, reason: `${where} answered HTTP ${status}${statuses && statuses.length <= 3 ? `; expected ${statuses.join(' or ')}` : ''}` };
    }
  }
  return { available: true, reason: null };
}
