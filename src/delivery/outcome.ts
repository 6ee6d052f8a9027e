import type { SendResult } from './http.js';
import { parseRetryAfter } from './backoff.js';
import type { SuccessRule } from '../formats/index.js';
import type { Outcome } from '../pipeline/bus.js';

export type { Outcome };

function accepted(status: number, body: string, rule: SuccessRule | undefined): boolean {
  const statusOk = rule?.statuses ? rule.statuses.includes(status) : status >= 200 && status < 300;
  return statusOk && (rule?.bodyContains === undefined || body.includes(rule.bodyContains));
}

export function classifyResult(result: SendResult, now: number, rule?: SuccessRule): Outcome {
  if (result.kind === 'error') {
    // A destination refused by the SSRF guard, or a URL that cannot be sent to, will not get better.
    if (result.errorClass === 'blocked_destination' || result.errorClass === 'invalid_url') {
      return { kind: 'permanent', status: null, reason: result.errorClass, disableCallback: false };
    }
    return { kind: 'retryable', status: null, reason: result.errorClass, retryAfterMs: null };
  }
  const status = result.response.status;
  if (accepted(status, result.response.body, rule)) return { kind: 'success', status };
  if (status === 410) return { kind: 'permanent', status, reason: 'gone', disableCallback: true };
  if (status >= 300 && status < 400) {
    return { kind: 'retryable', status, reason: 'redirect_not_followed', retryAfterMs: null };
  }
  const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(result.response.headers['retry-after'], now) : null;
  const reason =
    status === 401 || status === 403 ? 'auth_rejected' : status >= 200 && status < 300 ? 'success_rule_not_met' : `http_${status}`;
  return { kind: 'retryable', status, reason, retryAfterMs };
}
