import type { ChannelNotice, NoticeChannel } from '../channel.js';
import { checkPostUrl, httpOutcome } from './http-outcome.js';

const SLACK_TEXT_MAX = 3000; // a section block's text limit

/**
 * Slack incoming webhooks (https://api.slack.com/messaging/webhooks): POST JSON with `text` (the
 * notification's fallback) and Block Kit `blocks`. The URL is the credential — whoever has it may
 * post to the channel — so it is sealed at rest and shown as its origin only.
 */
export const slack: NoticeChannel = {
  name: 'slack',
  address: 'a Slack incoming-webhook URL (https://hooks.slack.com/services/…); write-only',
  check: checkPostUrl,
  secretAddress: true,
  show: (address) => `${originOf(address)}/[redacted]`,
  async send(ctx, notice, targets) {
    const body = JSON.stringify(slackMessage(notice));
    return Promise.all(
      targets.map(async (t) =>
        httpOutcome(
          'Slack',
          await ctx.http.send({ url: t.address, method: 'POST', headers: { 'content-type': 'application/json' }, body, timeoutMs: 10_000 }),
          [t.address, new URL(t.address).pathname],
        ),
      ),
    );
  },
};

/** The message: a header with the subject, the text as a section, the kind and time as context. */
export function slackMessage(notice: ChannelNotice): { text: string; blocks: unknown[] } {
  const text = notice.text.length > SLACK_TEXT_MAX ? `${notice.text.slice(0, SLACK_TEXT_MAX - 1)}…` : notice.text;
  return {
    text: notice.subject,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: notice.subject.slice(0, 150) } },
      { type: 'section', text: { type: 'plain_text', text } },
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: `${notice.kind} notice${notice.callbackId ? ` · callback ${notice.callbackId}` : ''} · ${new Date(notice.at).toISOString()}` }],
      },
    ],
  };
}

function originOf(address: string): string {
  try {
    return new URL(address).origin;
  } catch {
    return 'slack';
  }
}
