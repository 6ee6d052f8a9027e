// The same receiver in an Express 5 app: POST /callbacks (and the relay's HEAD check).
//   CALLBACK_SECRET=whsec_… node examples/receiver/express.mjs
import express from 'express';
import { expressHandler, openInbox } from 'callback-relay/receiver';

const inbox = openInbox({
  file: process.env.INBOX_FILE ?? 'callbacks.db',
  format: 'standard',
  verify: { secret: process.env.CALLBACK_SECRET },
  handler: async (event) => {
    console.log(JSON.stringify({ handled: event.id, type: event.type, data: event.data }));
  },
});

const app = express();
// Before any body parser: the signature covers the body's bytes as sent.
app.all('/callbacks', expressHandler(inbox));
// The rest of the app keeps its parsers.
app.use(express.json());
app.get('/health', (_req, res) => res.json({ ok: true, dead_letters: inbox.list('dead').length }));

const server = app.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '0.0.0.0', () => {
  const { address, port } = server.address();
  console.log(`listening on http://${address}:${port}`);
});

process.on('SIGTERM', () => {
  server.close();
  inbox.close().then(() => process.exit(0));
});
