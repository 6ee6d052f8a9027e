import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { FORMAT_MODULES } from '../../formats/registry.js';
import { describeField, type FieldDescription } from '../../formats/module.js';

const fieldProps = {
  key: Type.String(),
  type: Type.String({ description: 'text, url, secret, select, map, events, number, boolean, email, timezone, durations, object (see fields) or list' }),
  label: Type.String(),
  help: Type.String(),
  required: Type.Optional(Type.Boolean()),
  write_only: Type.Optional(Type.Boolean({ description: 'Never shown back; a callback shows only whether it is set' })),
  nullable: Type.Optional(Type.Boolean({ description: 'null removes it on update' })),
  options: Type.Optional(Type.Array(Type.String(), { description: 'The choices of a select' })),
  default: Type.Optional(Type.Unknown()),
};
const PartOut = Type.Object(fieldProps);
// Nested at most once (an object field's parts are plain fields).
const FieldOut = Type.Object({ ...fieldProps, fields: Type.Optional(Type.Array(PartOut)) });

const FormatOut = Type.Object({
  name: Type.String({ description: "The value of a callback's format" }),
  label: Type.String(),
  description: Type.String(),
  doc: Type.String({ description: 'Its document in the repository' }),
  events: Type.Union([Type.Array(Type.String()), Type.Null()], { description: 'The event types it can carry; null: every type' }),
  default_timeout: Type.Number({ description: 'Seconds, when the callback sets no timeout' }),
  https_only: Type.Boolean(),
  secret: Type.String({ description: 'readable, write-only or none: whether GET /v1/callbacks/{id}/secret shows it' }),
  batches: Type.Boolean({ description: 'Several due events may share one request' }),
  fields: Type.Array(FieldOut, { description: 'Its fields of the create and update bodies (besides the common ones)' }),
});

/** Fields of every callback, whatever its format. */
const COMMON: FieldDescription[] = [
  { key: 'title', type: 'text', label: 'Title', help: '1 to 200 characters', required: true },
  { key: 'url', type: 'url', label: 'URL', help: 'The destination (https; plain http only to loopback/private hosts when allowed)', required: true },
  { key: 'events', type: 'events', label: 'Events', help: 'Event type names or codes (GET /v1/event-types); empty: every event the format carries' },
  { key: 'enabled', type: 'boolean', label: 'Enabled', help: 'false: owed deliveries are held', default: true },
  { key: 'headers', type: 'map', label: 'Headers', help: 'Static headers; credential headers are write-only' },
  { key: 'timeout', type: 'number', label: 'Timeout (s)', help: 'Response timeout, 0.1 to 60 s (default: the format\'s)' },
  { key: 'api_user', type: 'text', label: 'API user', help: 'Only events sent by this api user', nullable: true },
  { key: 'retry_schedule', type: 'durations', label: 'Retry schedule', help: 'Delay before each attempt, e.g. ["0s","5m","30m"]; null: the default', nullable: true },
];

/** `GET /v1/formats`: every format with its fields as data, so a form can be drawn for each. */
export function formatRoutes(): FastifyPluginAsync {
  return async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    app.get(
      '/formats',
      {
        schema: {
          tags: ['formats'],
          summary: 'The wire formats, each with its fields (key, type, label, help, required, write-only) for drawing its form',
          response: { 200: Type.Object({ data: Type.Array(FormatOut), common_fields: Type.Array(FieldOut) }) },
        },
      },
      async () => ({
        data: FORMAT_MODULES.map((m) => ({
          name: m.name,
          label: m.label,
          description: m.description,
          doc: m.doc,
          events: m.events === null ? null : [...m.events],
          default_timeout: m.defaultTimeoutMs / 1000,
          https_only: m.httpsOnly === true,
          secret: m.secret,
          batches: m.batch !== undefined,
          fields: m.fields.map(describeField),
        })),
        common_fields: COMMON,
      }),
    );
  };
}
