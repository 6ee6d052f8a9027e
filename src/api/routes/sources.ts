import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ApiError, invalid, notFound } from '../../errors.js';
import { describeField, Nullable, text } from '../../formats/module.js';
import { newId, randomToken } from '../../lib/ids.js';
import type { InboundMapper } from '../../inbound/mapper.js';
import type { SourceLookup } from '../../inbound/sources.js';
import { SOURCE_FORMATS, SOURCE_FORMAT_NAMES, sourceFormat } from '../../inbound/registry.js';
import { settingsView } from '../../inbound/settings.js';
import type { Store } from '../../store/db.js';
import { findInboundRequest, listInboundRequests } from '../../store/inbound.js';
import type { InboundRequestRow, SourceRow } from '../../store/schema.js';
import { deleteSource, findSource, insertSource, listSources, replaceSourceToken, tokenDigest, updateSource } from '../../store/sources.js';
import type { Clock } from '../../lib/clock.js';
import { ErrorBody, isoTime, Paging } from './common.js';

/** The first bytes of a request body the list shows. */
export const BODY_EXCERPT_CHARS = 4096;

/** Every format's settings as one body schema: each key once (formats sharing a key share its schema). */
const SettingsIn = (() => {
  const props: Record<string, TSchema> = {};
  for (const m of SOURCE_FORMATS) {
    for (const f of m.fields) props[f.key] ??= Type.Optional(f.nullable ? Nullable(f.schema) : f.schema);
  }
  return Type.Object(props, { additionalProperties: false, description: "The format's settings (GET /v1/sources/formats lists each format's); secrets are write-only" });
})();

const Title = Type.String({ minLength: 1, maxLength: 200 });

const SourceOut = Type.Object({
  id: Type.String(),
  title: Type.String(),
  format: Type.String(),
  settings: Type.Record(Type.String(), Type.Unknown(), { description: 'Secrets replaced by <key>_set: true|false' }),
  ingest_path: Type.String({ description: '/inbound/{token}' }),
  ingest_url: Type.String({ description: "Absolute, from the scheme and Host header of this API request (what the relay is reached at); behind a proxy that rewrites them, use ingest_path with the public base URL" }),
  created_at: Type.String(),
  updated_at: Type.String(),
});

const RequestOut = Type.Object({
  id: Type.String(),
  received_at: Type.String(),
  method: Type.String(),
  state: Type.Union(['stored', 'mapped', 'unmapped', 'failed'].map((s) => Type.Literal(s))),
  event_ids: Type.Union([Type.Array(Type.String()), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
  mapped_at: Type.Union([Type.String(), Type.Null()]),
  headers: Type.Record(Type.String(), Type.String(), { description: 'Credential headers as [redacted]' }),
  query: Type.String({ description: 'The query string, credentials (auth=) redacted' }),
  body: Type.String({ description: `The first ${BODY_EXCERPT_CHARS} characters of the body` }),
  body_length: Type.Integer(),
});

const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 255 }) }, { additionalProperties: false });

export function sourceJson(row: SourceRow, base: string) {
  const mod = sourceFormat(row.format);
  const settings = JSON.parse(row.settings) as Record<string, unknown>;
  const path = `/inbound/${row.token}`;
  return {
    id: row.id,
    title: row.title,
    format: row.format,
    settings: mod ? settingsView(mod, settings) : {},
    ingest_path: path,
    ingest_url: `${base}${path}`,
    created_at: isoTime(row.created_at),
    updated_at: isoTime(row.updated_at),
  };
}

export function requestJson(row: InboundRequestRow) {
  return {
    id: row.id,
    received_at: isoTime(row.received_at),
    method: row.method,
    state: row.state as 'stored' | 'mapped' | 'unmapped' | 'failed',
    event_ids: row.event_ids === null ? null : (JSON.parse(row.event_ids) as string[]),
    error: row.error,
    mapped_at: row.mapped_at === null ? null : isoTime(row.mapped_at),
    headers: JSON.parse(row.headers) as Record<string, string>,
    query: row.query,
    body: row.body.slice(0, BODY_EXCERPT_CHARS),
    body_length: row.body.length,
  };
}

/** Scheme and host this API request came to: the base of an absolute ingest URL. */
const baseOf = (req: FastifyRequest) => `${req.protocol}://${req.host}`;

/**
 * `/v1/sources`: sources of inbound callbacks (a vendor format, its verification settings, an ingest
 * URL), the requests each received and what they became, and the replay of one that could not be mapped.
 */
export function sourceRoutes(deps: { store: Store; clock: Clock; mapper: InboundMapper; sources: SourceLookup }): FastifyPluginAsync {
  return async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const tags = ['sources'];
    const own = async (accountId: string, id: string) => {
      const row = await findSource(deps.store.db, accountId, id);
      if (!row) throw notFound(`source ${id}`);
      return row;
    };

    app.get(
      '/sources/formats',
      {
        schema: {
          tags,
          summary: 'The inbound formats, each with its settings fields (key, type, label, help, required, write-only) for drawing its form',
          response: {
            200: Type.Object({
              data: Type.Array(Type.Object({ name: Type.String(), label: Type.String(), description: Type.String(), methods: Type.Array(Type.String()), fields: Type.Array(Type.Unknown()) })),
            }),
          },
        },
      },
      async () => ({
        data: SOURCE_FORMATS.map((m) => ({ name: m.name, label: m.label, description: m.description, methods: [...m.methods], fields: m.fields.map(describeField) })),
      }),
    );

    app.post(
      '/sources',
      {
        schema: {
          tags,
          summary: 'Create a source: a vendor posting its callbacks to the returned ingest_url',
          body: Type.Object(
            { title: Title, format: Type.Union(SOURCE_FORMAT_NAMES.map((n) => Type.Literal(n))), settings: Type.Optional(SettingsIn) },
            { additionalProperties: false },
          ),
          response: { 201: SourceOut, 422: ErrorBody },
        },
      },
      async (req, reply) => {
        const mod = sourceFormat(req.body.format)!;
        const settings = resolveSettings(mod.name, req.body.settings ?? {}, {});
        const now = deps.clock.now();
        const token = randomToken(24);
        const row: SourceRow = {
          id: newId('src', now),
          account_id: req.principal.accountId,
          title: text('title', req.body.title, 200),
          format: mod.name,
          settings: JSON.stringify(settings),
          token,
          token_digest: tokenDigest(token),
          created_at: now,
          updated_at: now,
        };
        await insertSource(deps.store.db, row);
        return reply.code(201).send(sourceJson(row, baseOf(req)));
      },
    );

    app.get(
      '/sources',
      {
        schema: {
          tags,
          summary: "The account's sources, newest first",
          querystring: Type.Object(Paging, { additionalProperties: false }),
          response: { 200: Type.Object({ data: Type.Array(SourceOut), total: Type.Integer(), offset: Type.Integer(), limit: Type.Integer() }) },
        },
      },
      async (req) => {
        const { rows, total } = await listSources(deps.store.db, req.principal.accountId, req.query.offset, req.query.limit);
        return { data: rows.map((r) => sourceJson(r, baseOf(req))), total, offset: req.query.offset, limit: req.query.limit };
      },
    );

    app.get(
      '/sources/:id',
      { schema: { tags, summary: 'Read a source', params: Params, response: { 200: SourceOut, 404: ErrorBody } } },
      async (req) => sourceJson(await own(req.principal.accountId, req.params.id), baseOf(req)),
    );

    app.patch(
      '/sources/:id',
      {
        schema: {
          tags,
          summary: "Change a source's title or settings (absent: unchanged; null removes an optional setting). The format and the ingest URL stay.",
          params: Params,
          body: Type.Object({ title: Type.Optional(Title), settings: Type.Optional(SettingsIn) }, { additionalProperties: false }),
          response: { 200: SourceOut, 404: ErrorBody, 422: ErrorBody },
        },
      },
      async (req) => {
        const row = await own(req.principal.accountId, req.params.id);
        const settings = req.body.settings === undefined ? row.settings : JSON.stringify(resolveSettings(row.format, req.body.settings, JSON.parse(row.settings) as Record<string, unknown>));
        const next: SourceRow = { ...row, title: req.body.title === undefined ? row.title : text('title', req.body.title, 200), settings, updated_at: deps.clock.now() };
        const updated = await updateSource(deps.store.db, next);
        deps.sources.forget();
        if (!updated) throw notFound(`source ${row.id}`);
        return sourceJson(next, baseOf(req));
      },
    );

    app.post(
      '/sources/:id/rotate-token',
      {
        schema: {
          tags,
          summary: 'Give the source a new ingest URL (a new token); the old one answers 404 from then on',
          params: Params,
          response: { 200: SourceOut, 404: ErrorBody },
        },
      },
      async (req) => {
        const row = await own(req.principal.accountId, req.params.id);
        const token = randomToken(24);
        const now = deps.clock.now();
        const replaced = await replaceSourceToken(deps.store.db, row, token, now);
        deps.sources.forget();
        if (!replaced) throw notFound(`source ${row.id}`);
        return sourceJson({ ...row, token, token_digest: tokenDigest(token), updated_at: now }, baseOf(req));
      },
    );

    app.delete(
      '/sources/:id',
      { schema: { tags, summary: 'Delete a source and the requests it received; its ingest URL answers 404 from then on', params: Params, response: { 204: Type.Null(), 404: ErrorBody } } },
      async (req, reply) => {
        const deleted = await deleteSource(deps.store.db, req.principal.accountId, req.params.id);
        deps.sources.forget();
        if (!deleted) throw notFound(`source ${req.params.id}`);
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/sources/:id/requests',
      {
        schema: {
          tags,
          summary: 'The requests a source received, newest first, with what each became (events) or why it could not be mapped',
          params: Params,
          querystring: Type.Object(Paging, { additionalProperties: false }),
          response: { 200: Type.Object({ data: Type.Array(RequestOut), total: Type.Integer(), offset: Type.Integer(), limit: Type.Integer() }), 404: ErrorBody },
        },
      },
      async (req) => {
        const source = await own(req.principal.accountId, req.params.id);
        const { rows, total } = await listInboundRequests(deps.store.db, source.id, req.query.offset, req.query.limit);
        return { data: rows.map(requestJson), total, offset: req.query.offset, limit: req.query.limit };
      },
    );

    app.post(
      '/sources/:id/requests/:rid/replay',
      {
        schema: {
          tags,
          summary: "Map a request again with the source's current settings (one that was unmapped or failed, e.g. after fixing the settings)",
          description: 'A mapped request is refused (409): its events went through ingest already (retry their deliveries instead).',
          params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 255 }), rid: Type.String({ minLength: 1, maxLength: 255 }) }, { additionalProperties: false }),
          response: { 200: RequestOut, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (req) => {
        const source = await own(req.principal.accountId, req.params.id);
        const found = await findInboundRequest(deps.store.db, source.id, req.params.rid);
        if (!found) throw notFound(`request ${req.params.rid}`);
        if (found.state === 'mapped') {
          throw new ApiError('conflict', `request ${found.id} was mapped already (events ${(JSON.parse(found.event_ids ?? '[]') as string[]).join(', ') || 'none'}); only unmapped or failed requests are replayed`);
        }
        await deps.mapper.mapById(found.id, ['stored', 'unmapped', 'failed']);
        const after = await findInboundRequest(deps.store.db, source.id, found.id);
        if (!after) throw notFound(`request ${req.params.rid}`);
        return requestJson(after);
      },
    );
  };
}

/** A body's settings applied to the stored ones by the format; keys of other formats refused, naming the field. */
function resolveSettings(format: string, input: Record<string, unknown>, current: Record<string, unknown>): Record<string, unknown> {
  const mod = sourceFormat(format)!;
  for (const key of Object.keys(input)) {
    if (input[key] !== undefined && !mod.fields.some((f) => f.key === key)) {
      const owners = SOURCE_FORMATS.filter((m) => m.fields.some((f) => f.key === key)).map((m) => m.name);
      throw invalid(`settings.${key}`, `applies to format${owners.length > 1 ? 's' : ''} ${owners.join(', ')} only (this source is ${format})`);
    }
  }
  return mod.resolve(input, current);
}
