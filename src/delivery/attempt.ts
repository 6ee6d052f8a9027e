import type { Callback } from '../routing/callback.js';
import type { RenderedRequest } from '../formats/index.js';
import type { HttpSender, SendResult } from './http.js';
import type { RequestAuthorizer } from './authorizer.js';

/**
 * Sends one rendered request the way every delivery is sent: with credentials from the authorizer
 * where the callback needs them (fetched again once after a 401), through the guarded HTTP sender.
 * Used by the worker and by the API's test calls, so a test exercises the real path.
 * Each callback's requests have connections of their own (see HttpSender), so one that hangs its
 * receiver cannot starve another callback of the same host.
 * Returns the request as actually sent (with its credentials: redact before storing).
 */
export async function sendAttempt(
  deps: { sender: HttpSender; authorizer: RequestAuthorizer },
  cb: Callback,
  request: RenderedRequest,
): Promise<{ sent: RenderedRequest; result: SendResult }> {
  if (!deps.authorizer.applies(cb)) return { sent: request, result: await deps.sender.send({ ...request, timeoutMs: cb.timeoutMs, poolKey: cb.id }) };
  const started = performance.now();
  const failed = (message: string): SendResult => ({ kind: 'error', errorClass: 'auth_failed', message, durationMs: performance.now() - started });
  let auth = await deps.authorizer.authorize(cb, request, { refresh: false });
  if (!auth.ok) return { sent: request, result: failed(auth.message) };
  let result = await deps.sender.send({ ...auth.request, timeoutMs: cb.timeoutMs, poolKey: cb.id });
  if (result.kind === 'response' && result.response.status === 401) {
    auth = await deps.authorizer.authorize(cb, request, { refresh: true });
    if (!auth.ok) return { sent: request, result: failed(auth.message) };
    result = await deps.sender.send({ ...auth.request, timeoutMs: cb.timeoutMs, poolKey: cb.id });
  }
  return { sent: auth.request, result };
}
