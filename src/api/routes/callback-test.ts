import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { invalid } from '../../errors.js';
import { toCallback } from '../../routing/callback.js';
import { formatModule, renderRequest, type RenderEvent, type RenderedRequest } from '../../formats/index.js';
import { sampleEvent, type TemplateChannel } from '../../formats/template/index.js';
import { sendAttempt } from '../../delivery/attempt.js';
import { NO_AUTHORIZER } from '../../delivery/authorizer.js';
import { classifyResult } from '../../delivery/outcome.js';
import { redactHeaders, redactUrl } from '../../delivery/redact.js';
import { insertAttempt } from '../../store/attempts.js';
import type { CallbackRow } from '../../store/schema.js';
import type { AppDeps } from '../app.js';
import { CreateBody } from '../schemas/callbacks.js';
import type { CallbackService } from '../services/callbacks.js';
import { ErrorBody } from './common.js';

/** Kept of a test's request body in the answer and the attempt record (as for deliveries). */
const REQUEST_BODY_KEPT = 65_536;

const TestResult = Type.Object({
  attempt_id: Type.Integer({ description: 'The test attempt recorded (kind test, no delivery)' }),
  outcome: Type.String({ description: 'success, retryable or permanent: what a delivery would make of it' }),
  reason: Type.Union([Type.String(), Type.Null()]),
  event: Type.Object({ id: Type.String(), type: Type.String(), data: Type.Unknown() }),
  request: Type.Object({ method: Type.String(), url: Type.String(), headers: Type.Record(Type.String(), Type.String()), body: Type.String() }),
  response: Type.Union([
    Type.Object({ status: Type.Integer(), headers: Type.Record(Type.String(), Type.String()), body: Type.String(), body_truncated: Type.Boolean() }),
    Type.Null(),
  ]),
  error: Type.Union([Type.Object({ class: Type.String(), message: Type.String() }), Type.Null()]),
  duration_ms: Type.Number(),
});

type Ops = Pick<CallbackService, 'load' | 'build' | 'sender'>;

/**
 * `POST /v1/callbacks/{id}/test` and `POST /v1/callbacks/test` (an unsaved draft, the create body):
 * a sample event of the callback's channel through the very path of deliveries — render, sign,
 * authorize (advanced auth included), guarded send, success rule — answered with the request as
 * sent (secrets redacted) and the response or error, and recorded as a test attempt.
 */
export function callbackTestRoutes(deps: AppDeps, ops: Ops): FastifyPluginAsync {
  return async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const tags = ['callbacks'];

    async function runTest(row: CallbackRow, draft: boolean) {
      const cb = toCallback(row);
      const now = deps.clock.now();
      const settings = cb.settings as { channel?: TemplateChannel };
      const supported = formatModule(cb.format).events;
      const event: RenderEvent = sampleEvent(settings.channel ?? 'none', cb.events.size > 0 ? [...cb.events] : (supported ?? []), now);
      let request: RenderedRequest;
      try {
        request = renderRequest(event, cb, now);
      } catch (err) {
        throw invalid('format', `the sample event ${event.type} cannot be rendered: ${(err as Error).message}`);
      }
      const { sent, result } = await sendAttempt({ sender: ops.sender(), authorizer: deps.authorizer ?? NO_AUTHORIZER }, cb, request);
      const outcome = classifyResult(result, deps.clock.now(), request.success);
      const response = result.kind === 'response' ? result.response : null;
      const url = redactUrl(sent.url);
      const headers = redactHeaders(sent.headers);
      const body = sent.body.slice(0, REQUEST_BODY_KEPT);
      const attemptId = await insertAttempt(deps.store.db, {
        delivery_id: null,
        account_id: row.account_id,
        // A draft has no row: its tests are kept under "draft".
        callback_id: draft ? 'draft' : row.id,
        event_id: null,
        kind: 'test',
        attempt: 1,
        started_at: now,
        duration_ms: Math.round(result.durationMs),
        request_method: sent.method,
        request_url: url,
        request_headers: JSON.stringify(headers),
        request_body: body,
        response_status: response?.status ?? null,
        response_headers: response ? JSON.stringify(response.headers) : null,
        response_body: response?.body ?? null,
        error_class: result.kind === 'error' ? result.errorClass : null,
        error_message: result.kind === 'error' ? result.message : null,
        outcome: outcome.kind,
      });
      return {
        attempt_id: Number(attemptId),
        outcome: outcome.kind,
        reason: outcome.kind === 'success' ? null : outcome.reason,
        event: { id: event.id, type: event.type, data: event.data },
        request: { method: sent.method, url, headers, body },
        response: response ? { status: response.status, headers: response.headers, body: response.body, body_truncated: response.bodyTruncated } : null,
        error: result.kind === 'error' ? { class: result.errorClass, message: result.message } : null,
        duration_ms: Math.round(result.durationMs),
      };
    }

    app.post(
      '/callbacks/:id/test',
      {
        schema: {
          tags,
          summary: 'Send a sample event to the callback now, exactly as a delivery would be sent',
          params: Type.Object({ id: Type.String() }),
          response: { 200: TestResult, 404: ErrorBody },
        },
      },
      async (req) => runTest(await ops.load(req.principal.accountId, req.params.id), false),
    );

    app.post(
      '/callbacks/test',
      {
        schema: {
          tags,
          summary: 'Send a sample event to an unsaved callback (the create body), exactly as a delivery would be sent',
          body: CreateBody,
          response: { 200: TestResult, 422: ErrorBody },
        },
      },
      async (req) => runTest(await ops.build(req.principal.accountId, req.body), true),
    );
  };
}
