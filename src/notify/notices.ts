import type { Logger } from 'pino';
import type { HttpSender } from '../delivery/http.js';
import type { Clock } from '../lib/clock.js';
import type { Store } from '../store/db.js';
import { findAccount } from '../store/accounts.js';
import { findCallback } from '../store/callbacks.js';
import { findAccountSettings, findCallbackNotifications, insertNotices } from '../store/notices.js';
import type { NewNotice, NoticeTargetRow } from '../store/schema.js';
import { listNoticeTargets, type TargetOwner } from '../store/targets.js';
import type { ChannelContext, ChannelTarget } from './channel.js';
import { CHANNELS } from './channels/index.js';
import type { Mailer, Telegram } from './transports.js';

export type NoticeKind = 'failure' | 'recovery' | 'disabled' | 'alert' | 'report';

export interface Notice {
  accountId: string;
  callbackId: string | null;
  kind: NoticeKind;
  subject: string;
  text: string;
}

export interface Recipients {
  /** Targets by channel name; a channel absent or empty gets nothing. */
  targets: Map<string, ChannelTarget[]>;
  /** The Telegram bot of the owner (its own, else the account's). */
  botToken: string | null;
}

export interface NoticeDeps {
  store: Store;
  mailer: Mailer;
  telegram: Telegram;
  /** Guarded HTTP client of the channels that POST (Slack, webhook). */
  http: HttpSender;
  clock: Clock;
  log: Logger;
}

const BODY_KEPT = 8192;

const asTarget = (r: Pick<NoticeTargetRow, 'id' | 'address' | 'secret'>): ChannelTarget => ({ id: r.id, address: r.address, secret: r.secret });

/**
 * Sends a notice through every channel (src/notify/channels/) to its targets and records every try
 * (who, when, why, delivered or not). Never throws: a notice that cannot go out is a recorded
 * failure, not an error of the caller.
 */
export class NoticeSender {
  constructor(private readonly deps: NoticeDeps) {}

  /**
   * A callback's recipients: its own targets (and the e-mail a Whispir callback carries in its
   * `email` setting), per channel falling back to the account's; its bot token falls back to the account's.
   */
  async forCallback(accountId: string, callbackId: string): Promise<Recipients> {
    const db = this.deps.store.db;
    const [own, notifications, callback] = await Promise.all([
      listNoticeTargets(db, 'callback', callbackId),
      findCallbackNotifications(db, callbackId),
      findCallback(db, accountId, callbackId),
    ]);
    const targets = own.map((r) => ({ channel: r.channel, target: asTarget(r) }));
    const settingsEmail = callback ? noticeEmailOf(callback.settings) : null;
    if (settingsEmail && !own.some((r) => r.channel === 'email' && r.address === settingsEmail)) {
      targets.push({ channel: 'email', target: { id: 'settings.email', address: settingsEmail, secret: null } });
    }
    return this.withAccountDefaults(accountId, targets, notifications?.telegram_bot_token ?? null);
  }

  /** An alert rule's recipients, with the account's as fallback. */
  async forOwner(accountId: string, owner: TargetOwner, ownerId: string): Promise<Recipients> {
    const own = await listNoticeTargets(this.deps.store.db, owner, ownerId);
    return this.withAccountDefaults(accountId, own.map((r) => ({ channel: r.channel, target: asTarget(r) })));
  }

  /** Explicit recipients (a report's e-mails): per channel, these; else the account's; else the channel's defaults. */
  async withAccountDefaults(
    accountId: string,
    own: { channel: string; target: ChannelTarget }[],
    botToken: string | null = null,
    only?: readonly string[],
  ): Promise<Recipients> {
    const db = this.deps.store.db;
    const [settings, accountTargets, account] = await Promise.all([
      findAccountSettings(db, accountId),
      listNoticeTargets(db, 'account', accountId),
      findAccount(db, accountId),
    ]);
    const targets = new Map<string, ChannelTarget[]>();
    for (const channel of CHANNELS) {
      if (only && !only.includes(channel.name)) continue;
      let list = own.filter((o) => o.channel === channel.name).map((o) => o.target);
      if (list.length === 0) list = accountTargets.filter((r) => r.channel === channel.name).map(asTarget);
      if (list.length === 0 && channel.defaults) {
        list = channel.defaults({ adminEmail: account?.admin_email ?? null }).map((address) => ({ id: 'default', address, secret: null }));
      }
      targets.set(channel.name, list);
    }
    return { targets, botToken: botToken ?? settings?.telegram_bot_token ?? null };
  }

  /** Returns how many recipients got it. */
  async send(notice: Notice, to: Recipients): Promise<number> {
    const now = this.deps.clock.now();
    const rows: NewNotice[] = [];
    const row = (channel: string, recipient: string | null, delivered: boolean, error: string | null): NewNotice => ({
      account_id: notice.accountId,
      callback_id: notice.callbackId,
      kind: notice.kind,
      channel,
      recipient,
      subject: notice.subject,
      body: notice.text.length > BODY_KEPT ? notice.text.slice(0, BODY_KEPT) : notice.text,
      delivered: delivered ? 1 : 0,
      error,
      created_at: now,
    });
    const ctx: ChannelContext = { mailer: this.deps.mailer, telegram: this.deps.telegram, http: this.deps.http, botToken: to.botToken, clock: this.deps.clock, log: this.deps.log };
    const tasks: Promise<void>[] = [];
    for (const channel of CHANNELS) {
      const targets = to.targets.get(channel.name);
      if (targets === undefined) continue;
      if (targets.length === 0) {
        if (channel.noTarget) rows.push(row(channel.name, null, false, channel.noTarget));
        continue;
      }
      tasks.push(
        channel
          .send(ctx, { ...notice, at: now }, targets)
          .catch((err: unknown) => targets.map(() => ({ ok: false as const, error: `${channel.name}: ${(err as Error).name}` })))
          .then((outcomes) => {
            targets.forEach((t, i) => {
              const res = outcomes[i] ?? { ok: false, error: 'no outcome' };
              rows.push(row(channel.name, channel.show(t.address), res.ok, res.ok ? null : res.error));
            });
          }),
      );
    }
    await Promise.all(tasks);
    for (const r of rows) {
      if (!r.delivered) this.deps.log.warn({ kind: r.kind, channel: r.channel, callbackId: r.callback_id, error: r.error }, 'notice not delivered');
    }
    try {
      await insertNotices(this.deps.store.db, rows);
    } catch (err) {
      this.deps.log.error({ err, kind: notice.kind }, 'recording notices failed');
    }
    return rows.filter((r) => r.delivered === 1).length;
  }
}

/** A callback's own notice e-mail among its settings (Whispir's `email`), or null. */
function noticeEmailOf(settings: string): string | null {
  try {
    const email = (JSON.parse(settings) as { email?: unknown }).email;
    return typeof email === 'string' && email !== '' ? email : null;
  } catch {
    return null;
  }
}
