import type { NoticeChannel } from '../channel.js';

// What ajv's `email` format accepts, in short: one @, no spaces, a dot in the domain.
const ADDRESS = /^[^\s@]{1,64}@[^\s@]+\.[^\s@]+$/;

/** E-mail over SMTP (RELAY_SMTP_URL): one message to every target of a notice. */
export const email: NoticeChannel = {
  name: 'email',
  address: 'an e-mail address',
  check: (address) => (address.length <= 254 && ADDRESS.test(address) ? null : 'must be an e-mail address'),
  secretAddress: false,
  show: (address) => address,
  defaults: (account) => (account.adminEmail ? [account.adminEmail] : []),
  noTarget: 'no recipient: set notification e-mails or the account admin_email (PATCH /v1/account)',
  async send(ctx, notice, targets) {
    const res = await ctx.mailer.send({ to: targets.map((t) => t.address), subject: notice.subject, text: notice.text });
    return targets.map(() => res);
  },
};
