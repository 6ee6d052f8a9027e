/**
 * Sign-in state. POST /v1/sessions trades an api user and key for an HttpOnly session cookie and a
 * CSRF token; the key itself is never kept (not in storage, not in memory after the request).
 */
import { useEffect, useState } from 'preact/hooks';
import { ApiFailure, api, ok, onUnauthorized, setCsrfToken, type paths } from './api/client';

/** `{api_user, account_id, csrf_token, expires_at}` */
export type Session = paths['/v1/sessions/current']['get']['responses'][200]['content']['application/json'];

type Listener = (s: Session | null) => void;
let current: Session | null = null;
const listeners = new Set<Listener>();

function set(s: Session | null): void {
  current = s;
  setCsrfToken(s?.csrf_token ?? null);
  for (const fn of listeners) fn(s);
}

onUnauthorized(() => set(null));

/** The session of this browser, if its cookie is still good (after a reload, for instance). */
export async function resumeSession(): Promise<Session | null> {
  try {
    set(await ok(api.GET('/v1/sessions/current')));
  } catch (err) {
    if (!(err instanceof ApiFailure) || err.status !== 401) throw err;
    set(null);
  }
  return current;
}

export async function signIn(apiUser: string, apiKey: string): Promise<Session> {
  const s = await ok(api.POST('/v1/sessions', { body: { api_user: apiUser, api_key: apiKey } }));
  set(s);
  return s;
}

export async function signOut(): Promise<void> {
  try {
    await ok(api.DELETE('/v1/sessions/current'));
  } finally {
    set(null);
  }
}

/** The current session, re-rendering on sign-in, sign-out and 401s. */
export function useSession(): Session | null {
  const [s, setS] = useState(current);
  useEffect(() => {
    listeners.add(setS);
    return () => void listeners.delete(setS);
  }, []);
  return s;
}
