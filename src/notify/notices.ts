import type { Logger } from 'pino';
import type { Clock } from '../lib/clock.js';
import type { Store } from '../store/db.js';
import { findAccount } from '../store/accounts.js';
import { findAccountSettings, findCallbackNotifications, insertNotices } from '../store/notices.js';
import type { NewNotice } from '../store/schema.js';
import type { Mailer, Telegram } from './channels.js';

export type NoticeKind = 'failure' | 'recovery' | 'disabled' | 'alert' | 'report';

export interface Notice {
  accountId: string;
  callbackId: string | null;
  kind: NoticeKind;
  subject: string;
  text: string;
}

export interface Recipients {
  emails: string[];
  /** Telegram chats, each with the bot that writes to it (null: no bot configured). */
  chats: { botToken: string | null; chatId: string }[];
}

export interface NoticeDeps {
  store: Store;
  mailer: Mailer;
  telegram: Telegram;
  clock: Clock;
  log: Logger;
}

const BODY_KEPT = 8192;

/**
 * Sends a notice by e-mail and Telegram and records every try (who, when, why, delivered or not).
 * Never throws: a notice that cannot go out is a recorded failure, not an error of the caller.
 */
export class NoticeSender {
  constructor(private readonly deps: NoticeDeps) {}

  /**
   * A callback's recipients: its own notification settings, falling back to the account's admin
   * e-mail and Telegram chats; its bot token falls back to the account's.
   */
  async forCallback(accountId: string, callbackId: string): Promise<Recipients> {
    const own = await findCallbackNotifications(this.deps.store.db, callbackId);
    const emails = own ? (JSON.parse(own.emails) as string[]) : [];
    const chatIds = own ? (JSON.parse(own.telegram_chat_ids) as string[]) : [];
    return this.withAccountDefaults(accountId, emails, chatIds, own?.telegram_bot_token ?? null);
  }

  /** Explicit recipients (an alert rule's, a report's), with the account's as fallback. */
  async withAccountDefaults(accountId: string, emails: string[], chatIds: string[], botToken: string | null = null): Promise<Recipients> {
    const db = this.deps.store.db;
    const settings = await findAccountSettings(db, accountId);
    let to = emails;
    if (to.length === 0) {
      const account = await findAccount(db, accountId);
      to = account?.admin_email ? [account.admin_email] : [];
    }
    const chats = chatIds.length > 0 ? chatIds : settings ? (JSON.parse(settings.telegram_chat_ids) as string[]) : [];
    const token = botToken ?? settings?.telegram_bot_token ?? null;
    return { emails: to, chats: chats.map((chatId) => ({ botToken: token, chatId })) };
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
    const tasks: Promise<void>[] = [];
    if (to.emails.length === 0) {
      rows.push(row('email', null, false, 'no recipient: set notification e-mails or the account admin_email (PATCH /v1/account)'));
    } else {
      tasks.push(
        this.deps.mailer.send({ to: to.emails, subject: notice.subject, text: notice.text }).then((res) => {
          for (const address of to.emails) rows.push(row('email', address, res.ok, res.ok ? null : res.error));
        }),
      );
    }
    for (const chat of to.chats) {
      if (!chat.botToken) {
        rows.push(row('telegram', chat.chatId, false, 'no Telegram bot token configured'));
        continue;
      }
      tasks.push(
        this.deps.telegram.send(chat.botToken, chat.chatId, `${notice.subject}\n\n${notice.text}`).then((res) => {
          rows.push(row('telegram', chat.chatId, res.ok, res.ok ? null : res.error));
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
