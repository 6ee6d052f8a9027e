import { standardHeaders } from '../../formats/standard.js';
import { newId } from '../../lib/ids.js';
import { newWebhookSecret } from '../../lib/crypto.js';
import type { NoticeChannel } from '../channel.js';
import { checkPostUrl, httpOutcome } from './http-outcome.js';

/**
 * A Standard Webhooks POST of the notice (the relay's own default format): body
 * `{"type": "notice.<kind>", "timestamp", "data": {kind, subject, text, callback_id, account_id}}`,
 * signed with a whsec_ secret made for each target (readable once, then through
 * GET /v1/notice-targets/{id}/secret).
 */
export const webhook: NoticeChannel = {
  name: 'webhook',
  address: 'an http(s) URL that receives the notice as a Standard Webhooks POST',
  check: checkPostUrl,
  secretAddress: false,
  show: (address) => address,
  newSecret: newWebhookSecret,
  async send(ctx, notice, targets) {
    const body = JSON.stringify({
      type: `notice.${notice.kind}`,
      timestamp: new Date(notice.at).toISOString(),
      data: { kind: notice.kind, account_id: notice.accountId, callback_id: notice.callbackId, subject: notice.subject, text: notice.text },
    });
    const msgId = newId('ntc', notice.at);
    const ts = Math.floor(ctx.clock.now() / 1000);
    return Promise.all(
      targets.map(async (t) => {
        const headers = t.secret ? standardHeaders([t.secret], msgId, ts, body) : { 'content-type': 'application/json', 'webhook-id': msgId, 'webhook-timestamp': String(ts) };
        return httpOutcome('Webhook', await ctx.http.send({ url: t.address, method: 'POST', headers, body, timeoutMs: 10_000 }), t.secret ? [t.secret] : []);
      }),
    );
  },
};
