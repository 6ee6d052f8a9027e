import { Type, type TObject } from '@sinclair/typebox';
import type { RouteOptions } from 'fastify';
import { ErrorBody } from './routes/common.js';

/**
 * Every operation's `operationId`, for client generators: one table, so names stay consistent
 * (list/create/get/update/delete + noun). A route may also set its own in its schema.
 */
const OPERATION_IDS: Record<string, string> = {
  'POST /v1/events': 'createEvent',
  'POST /v1/events/batch': 'createEventBatch',
  'GET /v1/events': 'listEvents',
  'GET /v1/events/:id': 'getEvent',
  'POST /v1/callbacks': 'createCallback',
  'GET /v1/callbacks': 'listCallbacks',
  'GET /v1/callbacks/:id': 'getCallback',
  'PATCH /v1/callbacks/:id': 'updateCallback',
  'DELETE /v1/callbacks/:id': 'deleteCallback',
  'GET /v1/callbacks/:id/secret': 'getCallbackSecret',
  'POST /v1/callbacks/:id/enable': 'enableCallback',
  'POST /v1/callbacks/:id/disable': 'disableCallback',
  'POST /v1/callbacks/:id/rotate-secret': 'rotateCallbackSecret',
  'POST /v1/callbacks/:id/refresh': 'refreshCallbackStatus',
  'POST /v1/callbacks/:id/recover': 'recoverCallback',
  'POST /v1/callbacks/:id/test': 'testCallback',
  'POST /v1/callbacks/test': 'testCallbackDraft',
  'GET /v1/callbacks/:id/stats': 'getCallbackStats',
  'GET /v1/callbacks/:id/notifications': 'getCallbackNotifications',
  'PUT /v1/callbacks/:id/notifications': 'setCallbackNotifications',
  'GET /v1/callbacks/:id/calls': 'listWhispirCalls',
  'PUT /v1/callbacks/:id/calls': 'markWhispirCallsHandled',
  'GET /v1/deliveries': 'listDeliveries',
  'GET /v1/deliveries/:id': 'getDelivery',
  'POST /v1/deliveries/:id/retry': 'retryDelivery',
  'POST /v1/deliveries/retry': 'retryFailedDeliveries',
  'GET /v1/event-types': 'listEventTypes',
  'GET /v1/formats': 'listFormats',
  'GET /v1/account': 'getAccount',
  'PATCH /v1/account': 'updateAccount',
  'GET /v1/notices': 'listNotices',
  'POST /v1/alert-rules': 'createAlertRule',
  'GET /v1/alert-rules': 'listAlertRules',
  'GET /v1/alert-rules/:id': 'getAlertRule',
  'PATCH /v1/alert-rules/:id': 'updateAlertRule',
  'DELETE /v1/alert-rules/:id': 'deleteAlertRule',
  'GET /v1/reports/settings': 'getReportSettings',
  'PUT /v1/reports/settings': 'setReportSettings',
  'GET /v1/notice-targets/:id/secret': 'getNoticeTargetSecret',
  'GET /v1/webhooks': 'listEngagelabWebhooks',
  'POST /v1/webhooks': 'addEngagelabWebhook',
  'PUT /v1/webhooks/:id': 'modifyEngagelabWebhook',
  'POST /v1/webhooks/:id': 'modifyEngagelabWebhookByPost',
  'DELETE /v1/webhooks/:id': 'deleteEngagelabWebhook',
  'DELETE /webhooks/:id': 'deleteEngagelabWebhookUnversioned',
  'GET /v1/stats': 'getAccountStats',
  'GET /v1/api-users': 'listApiUsers',
  'POST /v1/api-users': 'createApiUser',
  'POST /v1/api-users/:name/rotate-key': 'rotateApiUserKey',
  'DELETE /v1/api-users/:name': 'revokeApiUser',
};

/** Operations that can answer 409 conflict (the state of a resource forbids it). */
const CONFLICTS = new Set([
  'POST /v1/events',
  'POST /v1/events/batch',
  'GET /v1/callbacks/:id/secret',
  'POST /v1/callbacks/:id/rotate-secret',
  'POST /v1/deliveries/:id/retry',
  'GET /v1/callbacks/:id/calls',
  'PUT /v1/callbacks/:id/calls',
  'POST /v1/api-users',
  'POST /v1/api-users/:name/rotate-key',
  'DELETE /v1/api-users/:name',
]);

/** Routes that take no credentials (sign-in); they list their own errors. */
const PUBLIC = new Set(['POST /v1/sessions', 'GET /v1/sessions/current', 'DELETE /v1/sessions/current']);

const error = (description: string): TObject => Type.Object(ErrorBody.properties, { description });

const ERRORS = {
  401: error('unauthorized: no or bad credentials (Basic api_user:api_key, or an ended session)'),
  403: error('csrf_failed: made with the session cookie without its X-CSRF-Token'),
  404: error('not_found: no such resource in this account (another account\'s ids too)'),
  409: error('conflict: the resource\'s state does not allow it'),
  422: error('invalid: the field named is wrong; nothing was changed'),
  429: error('throttled: over RELAY_RATE_LIMIT; see Retry-After'),
};

/** camelCase from method and path, for a route the table does not name (GET /v1/foo-bars/:id → getFooBars). */
function derivedId(method: string, url: string): string {
  const words = url
    .split('/')
    .filter((s) => s && s !== 'v1' && !s.startsWith(':') && !s.startsWith('*'))
    .flatMap((s) => s.split(/[-_.]/));
  return [method.toLowerCase(), ...words.map((w) => w.charAt(0).toUpperCase() + w.slice(1))].join('');
}

/**
 * An onRoute hook completing each documented route's schema for the OpenAPI document: its
 * operationId, and the 4xx answers it can give (401 and 429 behind auth, 403 for a change made
 * with the session cookie, 404 where the path names a resource, 409 where its state can refuse,
 * 422 where it takes input), each an ErrorBody. Answers a route lists itself are kept.
 */
export function documentRoute(route: RouteOptions): void {
  const schema = (route.schema ?? {}) as Record<string, unknown>;
  if (schema.hide || typeof route.method !== 'string' || route.method === 'HEAD') return;
  const key = `${route.method} ${route.url}`;
  const responses = { ...((schema.response as Record<string, unknown> | undefined) ?? {}) };
  const add = (code: keyof typeof ERRORS) => {
    if (!(code in responses)) responses[code] = ERRORS[code];
  };
  // A route without a declared success answer: documented as one (any JSON; none for a DELETE), serialized as before.
  if (!Object.keys(responses).some((c) => /^2/.test(c))) {
    if (route.method === 'DELETE') responses[204] = Type.Null({ description: 'Done; no body' });
    else responses[200] = Type.Any({ description: 'Success' });
  }
  const authed = !PUBLIC.has(key) && (route.url.startsWith('/v1/') || route.url.startsWith('/webhooks/'));
  if (authed) {
    add(401);
    add(429);
    if (route.method !== 'GET') add(403);
  }
  if (route.url.includes('/:')) add(404);
  if (CONFLICTS.has(key)) add(409);
  if (schema.body || schema.querystring || (schema.params && route.url.includes('/:'))) add(422);
  route.schema = { ...schema, operationId: (schema.operationId as string | undefined) ?? OPERATION_IDS[key] ?? derivedId(route.method, route.url), response: responses };
}
