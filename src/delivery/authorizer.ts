import type { Callback } from '../routing/callback.js';
import type { RenderedRequest } from '../formats/index.js';

export type AuthorizeResult = { ok: true; request: RenderedRequest } | { ok: false; message: string };

/**
 * Adds credentials that must be fetched before calling back (an OAuth-style token from the
 * customer's token URL). The worker asks it before sending and, once, again with `refresh` after a
 * 401. A failure is recorded as the attempt's error `auth_failed`, never thrown.
 */
export interface RequestAuthorizer {
  applies(cb: Callback): boolean;
  authorize(cb: Callback, request: RenderedRequest, opts: { refresh: boolean }): Promise<AuthorizeResult>;
}

export const NO_AUTHORIZER: RequestAuthorizer = {
  applies: () => false,
  authorize: async (_cb, request) => ({ ok: true, request }),
};
