import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../../errors.js';
import { newId } from '../../lib/ids.js';
import type { Clock } from '../../lib/clock.js';
import type { Metrics } from '../../lib/metrics.js';
import type { NewInboundRequest } from '../../store/schema.js';
import type { Answer, InboundRequest } from '../../inbound/module.js';
import type { InboundMapper } from '../../inbound/mapper.js';
import type { InboundRecorder } from '../../inbound/recorder.js';
import type { SourceLookup } from '../../inbound/sources.js';
import { CREDENTIAL_HEADERS, CREDENTIAL_PARAMS } from '../../inbound/registry.js';
import { REDACTED_VALUE } from '../../formats/module.js';
import { BODY_LIMIT } from '../app.js';
import { ErrorBody } from './common.js';

export interface InboundDeps {
  clock: Clock;
  metrics: Metrics;
  recorder: InboundRecorder;
  mapper: InboundMapper;
  sources: SourceLookup;
}

/** The bodies vendors send; each kept as the text received (parsers scoped to this plugin). */
export const INBOUND_BODY_TYPES = ['application/json', 'application/x-www-form-urlencoded', 'text/xml', 'application/xml', 'text/plain'];

/** Header values as single strings (repeated ones joined), credentials redacted when `redact`. */
function headerMap(req: FastifyRequest, redact: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    out[k] = redact && CREDENTIAL_HEADERS.includes(k) ? REDACTED_VALUE : Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

/** The query string with credential parameters' values redacted (as text: order and encoding kept otherwise). */
export function redactQuery(query: string): string {
  if (query === '') return '';
  return query
    .split('&')
    .map((kv) => {
      const i = kv.indexOf('=');
      const name = decodeURIComponent((i < 0 ? kv : kv.slice(0, i)).replace(/\+/g, ' '));
      return CREDENTIAL_PARAMS.includes(name) ? `${kv.slice(0, i < 0 ? kv.length : i)}=${encodeURIComponent(REDACTED_VALUE)}` : kv;
    })
    .join('&');
}

function send(reply: FastifyReply, answer: Answer): FastifyReply {
  void reply.code(answer.status);
  if (answer.contentType) void reply.type(answer.contentType);
  return reply.send(answer.body === '' ? undefined : answer.body);
}

/**
 * `POST /inbound/{token}` (and GET, where the vendor uses it): no Basic auth — the token and the
 * vendor's signature are the credentials. A bad signature is a 401 and stores nothing; a good
 * request is stored (one insert), answered as its vendor expects, and only then mapped and ingested
 * (InboundMapper), after the answer.
 */
export function inboundRoutes(deps: InboundDeps): FastifyPluginAsync {
  return async (app) => {
    // Raw text for every body a vendor sends; this plugin's parsers only (the API's stay JSON).
    app.removeAllContentTypeParsers();
    app.addContentTypeParser(INBOUND_BODY_TYPES, { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_req, body, done) => done(null, body));

    // One route per method, so each has an operation of its own in the OpenAPI document.
    const receive = (method: 'POST' | 'GET') => app.route({
      method,
      url: '/inbound/:token',
      schema: {
        tags: ['inbound'],
        summary: "A vendor's callback to a source (its ingest_url)",
        description:
          'No Basic auth: the URL token and the vendor signature are the credentials (see GET /v1/sources). Bodies: JSON, form, XML or text. A bad signature answers 401 and stores nothing; a good request is stored, then answered as its vendor expects (e.g. 200 empty for Octopush, empty TwiML for Twilio), and mapped onto catalogue events after the answer.',
        security: [],
        params: Type.Object({ token: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false }),
        response: { 401: ErrorBody, 404: ErrorBody, 405: ErrorBody },
      },
      handler: async (req, reply) => {
        const { token } = req.params as { token: string };
        const known = await deps.sources.find(token);
        if (!known) throw new ApiError('not_found', 'no source has this ingest URL');
        const { row: source, settings, format: mod } = known;
        const method = req.method as 'POST' | 'GET';
        if (!mod.methods.includes(method)) {
          void reply.header('allow', mod.methods.join(', '));
          throw new ApiError('method_not_allowed', `a ${mod.name} source takes ${mod.methods.join(' or ')}`);
        }
        const q = req.url.indexOf('?');
        const query = q < 0 ? '' : req.url.slice(q + 1);
        const body = typeof req.body === 'string' ? req.body : '';
        const request: InboundRequest = {
          method,
          headers: headerMap(req, false),
          query,
          body,
          url: `${req.protocol}://${req.host}${req.url}`,
        };
        const now = deps.clock.now();
        const refused = mod.verify(request, settings, now);
        if (refused !== null) {
          deps.metrics.inboundRequests.inc({ format: mod.name, outcome: 'refused' });
          throw new ApiError('unauthorized', refused);
        }
        if (mod.isCheck?.(request)) {
          deps.metrics.inboundRequests.inc({ format: mod.name, outcome: 'check' });
          return send(reply, mod.answer);
        }
        const row: NewInboundRequest = {
          id: newId('inr', now),
          source_id: source.id,
          account_id: source.account_id,
          received_at: now,
          method,
          headers: JSON.stringify(headerMap(req, true)),
          query: redactQuery(query),
          body,
          state: 'stored',
          event_ids: null,
          error: null,
          mapped_at: null,
        };
        await deps.recorder.record(row);
        deps.metrics.inboundRequests.inc({ format: mod.name, outcome: 'stored' });
        send(reply, mod.answer);
        // The answer is written: mapping (queued, on a later turn) never delays or fails what the vendor is told.
        deps.mapper.enqueue(row, source);
        return reply;
      },
    });
    receive('POST');
    receive('GET');
  };
}
