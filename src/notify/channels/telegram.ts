import type { NoticeChannel } from '../channel.js';

const CHAT = /^(-?[0-9]{1,20}|@[A-Za-z0-9_]{5,32})$/;

/**
 * Telegram Bot API (RELAY_TELEGRAM_API): a message per chat, written by the owner's bot — the
 * callback's `telegram_bot_token`, else the account's (sealed columns of their settings, not targets).
 */
export const telegram: NoticeChannel = {
  name: 'telegram',
  address: 'a Telegram chat id (a number as text, or @channelname)',
  check: (address) => (CHAT.test(address) ? null : 'must be a Telegram chat id (a number as text, or @channelname)'),
  secretAddress: false,
  show: (address) => address,
  async send(ctx, notice, targets) {
    const token = ctx.botToken;
    if (!token) return targets.map(() => ({ ok: false, error: 'no Telegram bot token configured' }));
    return Promise.all(targets.map((t) => ctx.telegram.send(token, t.address, `${notice.subject}\n\n${notice.text}`)));
  },
};
