// The same receiver in a Fastify 5 app: POST /callbacks (and the relay's HEAD check).
//   CALLBACK_SECRET=whsec_… node examples/receiver/fastify.mjs
import Fastify from 'fastify';
import { fastifyInbox, openInbox } from 'callback-relay/receiver';

const inbox = openInbox({
  file: process.env.INBOX_FILE ?? 'callbacks.db',
  format: 'standard',
  verify: { secret: process.env.CALLBACK_SECRET },
  handler: async (event) => {
    console.log(JSON.stringify({ handled: event.id, type: event.type, data: event.data }));
  },
});

const app = Fastify();
// Registered as is (not through fastify-plugin): its raw-body parser stays inside it.
app.register(fastifyInbox(inbox, { path: '/callbacks' }));
app.get('/health', async () => ({ ok: true, dead_letters: inbox.list('dead').length }));
app.addHook('onClose', () => inbox.close());

const address = await app.listen({ port: Number(process.env.PORT ?? 3000), host: process.env.HOST ?? '0.0.0.0' });
console.log(`listening on ${address}`);

process.on('SIGTERM', () => {
  app.close().then(() => process.exit(0));
});
