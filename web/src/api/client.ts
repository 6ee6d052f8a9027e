/**
 * The dashboard's only way to the relay: the public /v1 API through openapi-fetch, typed by
 * schema.d.ts (generated from the relay's OpenAPI document by `npm run gen:api`).
 *
 * The session is an HttpOnly cookie the browser sends by itself; this module adds the CSRF token of
 * the session to every state-changing request and tells the app when the API answers 401.
 *
 * @example
 *   const page = await ok(api.GET('/v1/callbacks', { params: { query: { offset: 0, limit: 20 } } }));
 */
import createClient from 'openapi-fetch';
import type { paths } from './schema';
import type { PendingPaths } from './pending';

export type { paths, components } from './schema';

export const api = createClient<paths & PendingPaths>({ baseUrl: '', credentials: 'same-origin' });

let csrfToken: string | null = null;
const unauthorizedListeners = new Set<() => void>();

/** Kept in memory only (never in storage): it comes back with GET /v1/sessions/current after a reload. */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** `fn` runs whenever the API answers 401 (the session expired or was ended): the app shows sign-in. */
export function onUnauthorized(fn: () => void): () => void {
  unauthorizedListeners.add(fn);
  return () => unauthorizedListeners.delete(fn);
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

api.use({
  onRequest({ request }) {
    // Says "a script, not a person": the relay then sends no Basic challenge (no browser dialog).
    request.headers.set('X-Requested-With', 'fetch');
    if (!SAFE.has(request.method) && csrfToken) request.headers.set('X-CSRF-Token', csrfToken);
    return request;
  },
  onResponse({ request, response }) {
    if (response.status === 401 && !new URL(request.url).pathname.startsWith('/v1/sessions')) {
      for (const fn of unauthorizedListeners) fn();
    }
    return response;
  },
});

/** The API's error body: a stable code, a message, and the field it is about (422). */
export interface ErrorBody {
  code: string;
  message: string;
  field?: string;
}

/** A refused request: `field` names the form field a 422 is about. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ApiFailure';
  }
}

/** The data of an openapi-fetch answer, or an ApiFailure carrying the API's `{code, message, field}`. */
export async function ok<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let answer: { data?: T; error?: unknown; response: Response };
  try {
    answer = await call;
  } catch (err) {
    throw new ApiFailure(0, 'network', `the relay did not answer (${err instanceof Error ? err.message : String(err)})`);
  }
  const { data, error, response } = answer;
  if (!response.ok) {
    const e = (error ?? {}) as Partial<ErrorBody>;
    throw new ApiFailure(response.status, e.code ?? 'http_' + response.status, e.message ?? `${response.status} ${response.statusText}`, e.field);
  }
  return data as T;
}
