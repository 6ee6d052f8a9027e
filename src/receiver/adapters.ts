import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InboxResponse } from './inbox.js';
import type { HeaderValue, ReceivedRequest } from './request.js';

/** Anything with the framework-neutral handler: an Inbox, or your own. */
export interface RequestHandler {
  handle(req: ReceivedRequest): Promise<InboxResponse>;
}

/** Payload limit of the adapters that read the body themselves (the relay sends at most 1 MiB). */
const MAX_BODY = 2 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('payload too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function write(res: ServerResponse, r: InboxResponse): void {
  res.writeHead(r.status, r.headers);
  res.end(r.body);
}

/**
 * A `node:http` request listener.
 *
 * @example
 * http.createServer(nodeHandler(inbox)).listen(3000);
 */
export function nodeHandler(handler: RequestHandler): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    readBody(req)
      .then((body) => handler.handle({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body }))
      .then((r) => write(res, r))
      .catch((err: unknown) => {
        if (!res.headersSent) write(res, { status: 500, headers: { 'content-type': 'text/plain' }, body: err instanceof Error ? err.message : 'error' });
      });
  };
}

/** The parts of Express's request and response this adapter uses. */
interface ExpressRequestLike extends IncomingMessage {
  originalUrl?: string;
  body?: unknown;
}

/**
 * An Express (4 or 5) route handler. Mount it before any body parser, or after `express.raw({type: '*\/*'})`:
 * signatures cover the bytes as sent, which a parsed-and-re-serialised body no longer are.
 *
 * @example
 * app.post('/callbacks', expressHandler(inbox));
 */
export function expressHandler(handler: RequestHandler): (req: ExpressRequestLike, res: ServerResponse, next: (err?: unknown) => void) => void {
  return (req, res, next) => {
    const raw: Promise<Buffer> = Buffer.isBuffer(req.body)
      ? Promise.resolve(req.body)
      : req.readableEnded
        ? Promise.reject(new Error('the body was already parsed: mount expressHandler before body parsers, or after express.raw({ type: "*/*" })'))
        : readBody(req);
    raw
      .then((body) => handler.handle({ method: req.method ?? 'GET', url: req.originalUrl ?? req.url ?? '/', headers: req.headers, body }))
      .then((r) => write(res, r))
      .catch(next);
  };
}

/** The parts of a Fastify instance the plugin uses (no type import of fastify). */
interface FastifyLike {
  removeAllContentTypeParsers(): void;
  addContentTypeParser(type: string, opts: { parseAs: 'buffer'; bodyLimit?: number }, parser: (req: unknown, body: Buffer, done: (err: Error | null, body?: unknown) => void) => void): void;
  route(opts: {
    method: string[];
    url: string;
    exposeHeadRoute?: boolean;
    handler: (req: { method: string; url: string; headers: Record<string, HeaderValue>; body: unknown }, reply: FastifyReplyLike) => Promise<unknown>;
  }): unknown;
}
interface FastifyReplyLike {
  code(status: number): FastifyReplyLike;
  headers(h: Record<string, string>): FastifyReplyLike;
  send(body: string): FastifyReplyLike;
}

/**
 * A Fastify plugin serving `path` (default `/`) with the handler. Register it as is (not through
 * fastify-plugin): its raw-body parser then stays inside the plugin and the rest of your app keeps its own.
 *
 * @example
 * app.register(fastifyInbox(inbox, { path: '/callbacks' }));
 */
export function fastifyInbox(handler: RequestHandler, opts: { path?: string } = {}): (app: FastifyLike) => Promise<void> {
  return async (app) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_BODY }, (_req, body, done) => done(null, body));
    app.route({
      method: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH'],
      url: opts.path ?? '/',
      exposeHeadRoute: false,
      handler: async (req, reply) => {
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const r = await handler.handle({ method: req.method, url: req.url, headers: req.headers, body });
        return reply.code(r.status).headers(r.headers).send(r.body);
      },
    });
  };
}
