// A receiver of callback-relay's Standard Webhooks callbacks on plain node:http.
//   CALLBACK_SECRET=whsec_… node examples/receiver/node-http.mjs
// Each request is verified, stored in callbacks.db and answered 200 at once; `handler` runs after,
// retried on failure, never twice for one event id.
import { createServer } from 'node:http';
import { nodeHandler, openInbox } from 'callback-relay/receiver';

const inbox = openInbox({
  file: process.env.INBOX_FILE ?? 'callbacks.db',
  format: 'standard',
  verify: { secret: process.env.CALLBACK_SECRET },
  handler: async (event) => {
    // Your work goes here: update an order, notify a user… A throw is retried later.
    console.log(JSON.stringify({ handled: event.id, type: event.type, data: event.data }));
  },
});

const server = createServer(nodeHandler(inbox));
server.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '0.0.0.0', () => {
  const { address, port } = server.address();
  console.log(`listening on http://${address}:${port}`);
});

process.on('SIGTERM', () => {
  server.close();
  inbox.close().then(() => process.exit(0));
});
