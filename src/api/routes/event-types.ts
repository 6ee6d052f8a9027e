import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { EVENT_TYPES } from '../../catalogue/event-types.js';

const EventTypeOut = Type.Object({
  name: Type.String(),
  code: Type.Integer(),
  channel: Type.String(),
  description: Type.String(),
  variables: Type.Array(Type.String()),
});

export function eventTypeRoutes(): FastifyPluginAsync {
  return async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    app.get(
      '/event-types',
      {
        schema: {
          tags: ['event-types'],
          summary: 'The event catalogue: names, codes, channels and template variables',
          querystring: Type.Object({ channel: Type.Optional(Type.String()) }, { additionalProperties: false }),
          response: { 200: Type.Object({ data: Type.Array(EventTypeOut) }) },
        },
      },
      async (req) => ({
        data: EVENT_TYPES.filter((t) => req.query.channel === undefined || t.channel === req.query.channel).map((t) => ({
          name: t.name,
          code: t.code,
          channel: t.channel,
          description: t.description,
          variables: [...t.variables],
        })),
      }),
    );
  };
}
