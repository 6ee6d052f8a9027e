import http from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { ApiError, ERRORS, type ErrorCode } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import type { Metrics } from '../lib/metrics.js';
import type { Store } from '../store/db.js';
import { describeDiskFailure } from '../store/failure.js';
import type { CallbackRegistry } from '../routing/registry.js';
import type { Ingestor } from '../ingest/ingest.js';
import type { PipelineBus } from '../pipeline/bus.js';
import { Authenticator, sessionToken } from './auth.js';
import { sessionRoutes } from './sessions.js';
import { documentRoute } from './openapi.js';
import { Throttle } from './throttle.js';
import { describeValidationError, validatorCompiler } from './validation.js';
import { callbackRoutes } from './routes/callbacks.js';
import type { RequestAuthorizer } from '../delivery/authorizer.js';
import { eventRoutes } from './routes/events.js';
import { deliveryRoutes } from './routes/deliveries.js';
import { eventTypeRoutes } from './routes/event-types.js';
import { formatRoutes } from './routes/formats.js';
import { opsRoutes } from './routes/ops.js';
import { dashboardRoutes } from './dashboard.js';
import { webhookRootRoutes, webhookRoutes } from './routes/webhooks.js';
import { whispirCallRoutes } from './routes/whispir-calls.js';
import { notificationRoutes } from './routes/notifications.js';
import { alertRoutes } from './routes/alerts.js';
import { noticeTargetRoutes } from './routes/targets.js';
import { reportRoutes } from './routes/reports.js';
import { apiUserRoutes } from './routes/api-users.js';
import { statsRoutes } from './routes/stats.js';
import type { Notify } from '../notify/index.js';
import type { InboundMapper } from '../inbound/mapper.js';
import type { InboundRecorder } from '../inbound/recorder.js';
import type { SourceLookup } from '../inbound/sources.js';
import { sourceRoutes } from './routes/sources.js';
import { INBOUND_BODY_TYPES, inboundRoutes } from './routes/inbound.js';

export interface AppDeps {
  config: Pick<Config, 'allowPrivateNetworks' | 'retrySchedule' | 'rateLimit' | 'sessionTtlMs' | 'trustProxy'>;
  store: Store;
  registry: CallbackRegistry;
  ingestor: Ingestor;
  bus: PipelineBus;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  /** Tell the delivery workers that deliveries fell due now. */
  wake: () => void;
  /** Circuit state and alert-rule caches, where this process runs them. */
  notify?: Notify | undefined;
  /** Fetched credentials (advanced auth) for test calls, shared with the worker's. */
  authorizer?: RequestAuthorizer | undefined;
  /** The inbound gateway: stores requests at /inbound/{token}, maps them after the answer. */
  inbound?: { recorder: InboundRecorder; mapper: InboundMapper; sources: SourceLookup } | undefined;
  /** The built dashboard (default: dist/web at the package root). */
  dashboardDir?: string | undefined;
}

export type App = FastifyInstance<any, any, any, any, TypeBoxTypeProvider>;
export type OpsApp = FastifyInstance<any, any, any, any>;

export const BODY_LIMIT = 1024 * 1024;

/** The HTTP API, built without listening: tests call `app.inject()`, `serve` calls `listen()`. */
/**
 * What a process without the API role serves: /healthz, /readyz and /metrics, so a worker or a
 * scheduler can be probed and scraped like the API.
 */
export async function buildOpsApp(deps: Pick<AppDeps, 'store' | 'metrics' | 'log'>): Promise<OpsApp> {
  const app = Fastify({
    loggerInstance: deps.log.child({ component: 'ops' }),
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    clientErrorHandler,
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ code: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]} (this process serves no API: roles without api)` });
  });
  await app.register(opsRoutes(deps));
  return app;
}

export async function buildApp(deps: AppDeps): Promise<App> {
  const app = Fastify({
    loggerInstance: deps.log.child({ component: 'api' }),
    // Requests are not logged one by one (the ingest path is hot); errors are, by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    // Behind a TLS proxy: its X-Forwarded-Proto and -Host are the scheme and host vendors and browsers used.
    trustProxy: deps.config.trustProxy,
    ajv: undefined,
    return503OnClosing: true,
    clientErrorHandler,
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setErrorHandler((error: FastifyError | ApiError, req, reply) => handleError(error, req as FastifyRequest, reply as FastifyReply));
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ code: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` });
  });
  // No id or filter value holds a NUL (and PostgreSQL text cannot): refuse one before any query runs.
  app.addHook('onRequest', async (req) => {
    const q = req.url.indexOf('?');
    if (/%00|\0/.test(q < 0 ? req.url : req.url.slice(0, q))) throw new ApiError('not_found', 'no resource has a NUL character in its path');
    if (q >= 0 && /%00|\0/.test(req.url.slice(q))) throw new ApiError('invalid', 'querystring: may not contain NUL characters', 'querystring');
  });

  app.addHook('onRoute', documentRoute);
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'callback-relay',
        version: '0.1.0',
        description:
          'Self-hosted callback (webhook) platform. Every /v1 route takes HTTP Basic auth (api_user:api_key) or the session cookie of POST /v1/sessions; with the cookie, POST, PUT, PATCH and DELETE also need the X-CSRF-Token header.',
      },
      servers: [{ url: '/' }],
      components: {
        securitySchemes: {
          basic: { type: 'http', scheme: 'basic' },
          session: { type: 'apiKey', in: 'cookie', name: 'relay_session' },
        },
      },
      security: [{ basic: [] }, { session: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const auth = new Authenticator(deps.store, deps.clock);
  await app.register(opsRoutes(deps));
  await app.register(dashboardRoutes(deps.dashboardDir));
  const throttle = new Throttle(deps.config.rateLimit, () => deps.clock.now());
  const authenticate = async (req: FastifyRequest, reply: FastifyReply) => {
    req.principal = await auth.authenticate(req);
    const waitMs = throttle.take(req.principal.apiUser);
    if (waitMs > 0) {
      void reply.header('retry-after', String(Math.ceil(waitMs / 1000)));
      throw new ApiError('throttled', `more than ${deps.config.rateLimit} requests per second; retry after ${waitMs} ms`);
    }
  };
  // Sign-in and sign-out: outside the auth hook (the key is in the body, the session in the cookie).
  await app.register(sessionRoutes(deps, auth), { prefix: '/v1' });
  await app.register(
    async (v1) => {
      v1.decorateRequest('principal', undefined as never);
      v1.addHook('onRequest', authenticate);
      await v1.register(callbackRoutes(deps));
      await v1.register(eventRoutes(deps));
      await v1.register(deliveryRoutes(deps));
      await v1.register(eventTypeRoutes());
      await v1.register(formatRoutes());
      await v1.register(notificationRoutes(deps));
      await v1.register(alertRoutes(deps));
      await v1.register(noticeTargetRoutes(deps));
      await v1.register(reportRoutes(deps));
      await v1.register(webhookRoutes(deps));
      await v1.register(whispirCallRoutes(deps));
      await v1.register(apiUserRoutes(deps, auth));
      await v1.register(statsRoutes(deps));
      if (deps.inbound) await v1.register(sourceRoutes({ store: deps.store, clock: deps.clock, mapper: deps.inbound.mapper, sources: deps.inbound.sources }));
    },
    { prefix: '/v1' },
  );
  // EngageLab's WebHooks document deletes at /webhooks/{id} (no /v1): same auth, that one route.
  await app.register(async (root) => {
    root.decorateRequest('principal', undefined as never);
    root.addHook('onRequest', authenticate);
    await root.register(webhookRootRoutes(deps));
  });
  // Vendors' callbacks: outside /v1 and its Basic auth (the token and the vendor's signature are the credentials).
  if (deps.inbound) await app.register(inboundRoutes({ clock: deps.clock, metrics: deps.metrics, ...deps.inbound }));
  return app;
}

/**
 * Requests Node's HTTP parser refuses before any route sees them (headers over `maxHeaderSize`, a
 * malformed request line, a request that took too long to arrive) get the API's `{code, message}`
 * too, instead of Fastify's default shape. The connection is closed: its stream cannot be trusted.
 */
function clientErrorHandler(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  let code: ErrorCode;
  let message: string;
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    code = 'headers_too_large';
    message = `the request line and headers are larger than ${http.maxHeaderSize} bytes`;
  } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    code = 'request_timeout';
    message = 'the request did not arrive in time';
  } else {
    code = 'bad_request';
    message = `malformed HTTP request${err.code ? ` (${err.code})` : ''}`;
  }
  const status = ERRORS[code];
  const body = JSON.stringify({ code, message });
  this.log.info({ code, err: err.code }, message);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

/** One handler for every error: stable `{code, message}`, < 500 logged at info, ≥ 500 at error. */
function handleError(error: FastifyError | ApiError, req: FastifyRequest, reply: FastifyReply): void {
  let status: number;
  let body: { code: string; message: string; field?: string };
  if (error instanceof ApiError) {
    status = error.statusCode;
    body = { code: error.code, message: error.message, ...(error.field ? { field: error.field } : {}) };
  } else if ((error as FastifyError).validation) {
    const fe = error as FastifyError;
    const { field, message } = describeValidationError(fe.validation as never[], fe.validationContext ?? 'body');
    status = ERRORS.invalid;
    body = { code: 'invalid', message: `${field}: ${message}`, field };
  } else if ((error as FastifyError).code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    status = 413;
    body = { code: 'payload_too_large', message: `the body is larger than ${BODY_LIMIT} bytes` };
  } else if ((error as FastifyError).code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    status = 415;
    // The inbound gateway takes vendors' bodies; the API, JSON.
    const inbound = req.url.startsWith('/inbound/');
    body = { code: 'unsupported_media_type', message: inbound ? `Content-Type ${String(req.headers['content-type'])} is none of ${INBOUND_BODY_TYPES.join(', ')}` : 'send JSON with Content-Type: application/json' };
  } else if ((error as FastifyError).statusCode === 400 || error instanceof SyntaxError) {
    status = 400;
    const json = error instanceof SyntaxError || /JSON/i.test(error.message);
    body = { code: json ? 'malformed_json' : 'bad_request', message: json ? `malformed JSON: ${error.message}` : error.message };
  } else if ((error as FastifyError).statusCode && (error as FastifyError).statusCode! < 500) {
    status = (error as FastifyError).statusCode!;
    body = { code: 'bad_request', message: error.message };
  } else if (isStorageUnavailable(error)) {
    status = 503;
    const disk = describeDiskFailure(error);
    body = { code: 'storage_unavailable', message: disk ? `${disk}; retry the request later` : 'the database is unavailable; retry the request' };
  } else {
    status = 500;
    body = { code: 'internal', message: 'internal error' };
  }
  if (status >= 500) req.log.error({ err: error, url: req.url }, `request failed: ${body.message}`);
  else req.log.info({ code: body.code, url: req.url, status }, body.message);
  // Not to the dashboard (a session, signing in, or a script saying so with X-Requested-With): a
  // browser answers that header with its own login dialog over the page.
  const dashboard = !req.headers.authorization && (sessionToken(req) !== undefined || req.url.startsWith('/v1/sessions') || req.headers['x-requested-with'] !== undefined);
  if (status === 401 && !dashboard) void reply.header('www-authenticate', 'Basic realm="callback-relay"');
  void reply.code(status).send(body);
}

/** Errors meaning "the database cannot serve now" (busy, full, unreachable), as opposed to our bugs. */
const STORAGE_CODES = new Set([
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_FULL',
  'SQLITE_IOERR',
  'SQLITE_CANTOPEN',
  'SQLITE_READONLY',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  '53100', // disk_full
  '58030', // io_error
  '57P01', // admin_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
  '08006', // connection_failure
  '08001', // sqlclient_unable_to_establish_sqlconnection
]);

function isStorageUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (STORAGE_CODES.has(code) || code.startsWith('SQLITE_IOERR'))) return true;
  return error instanceof Error && /Connection terminated|connection timeout|database connection is not open/i.test(error.message);
}
