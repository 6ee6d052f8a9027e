import nodemailer from 'nodemailer';
import type { Transporter } from 'nodemailer';

/** What a channel reports back: delivered, or why not (never holding a password or a bot token). */
export type SendOutcome = { ok: true } | { ok: false; error: string };

export interface Mailer {
  send(mail: { to: string[]; subject: string; text: string }): Promise<SendOutcome>;
  close(): void;
}

/** E-mail over SMTP (`RELAY_SMTP_URL`, e.g. smtp://user:pass@mail.example.com:587 or smtps://…:465). */
export function smtpMailer(url: string | undefined, from: string): Mailer {
  if (!url) {
    return { send: async () => ({ ok: false, error: 'no SMTP server configured (RELAY_SMTP_URL)' }), close: () => {} };
  }
  const transport: Transporter = nodemailer.createTransport({
    url,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
    logger: false,
  } as never);
  const secrets = secretsOfUrl(url);
  return {
    async send(mail) {
      try {
        await transport.sendMail({ from, to: mail.to, subject: mail.subject, text: mail.text });
        return { ok: true };
      } catch (err) {
        return { ok: false, error: scrub(`SMTP: ${(err as Error).message}`, secrets) };
      }
    },
    close: () => transport.close(),
  };
}

export interface Telegram {
  send(botToken: string, chatId: string, text: string): Promise<SendOutcome>;
}

const TELEGRAM_MAX_TEXT = 4096;

/** Bot API `sendMessage` (POST {base}/bot<token>/sendMessage, JSON {chat_id, text}), plain text. */
export function telegramClient(baseUrl: string | undefined, timeoutMs = 10_000): Telegram {
  const base = baseUrl ?? 'https://api.telegram.org';
  return {
    async send(botToken, chatId, text) {
      const body = JSON.stringify({ chat_id: chatId, text: text.length > TELEGRAM_MAX_TEXT ? `${text.slice(0, TELEGRAM_MAX_TEXT - 1)}…` : text });
      try {
        const res = await fetch(`${base}/bot${encodeURIComponent(botToken)}/sendMessage`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(timeoutMs),
        });
        const answer = await res.text().catch(() => '');
        if (res.ok) return { ok: true };
        let description = answer.slice(0, 300);
        try {
          description = String((JSON.parse(answer) as { description?: unknown }).description ?? description);
        } catch {
          // not JSON
        }
        return { ok: false, error: scrub(`Telegram answered HTTP ${res.status}: ${description}`, [botToken]) };
      } catch (err) {
        // The URL holds the token; error messages must not.
        const cause = (err as { cause?: { code?: string } }).cause?.code;
        return { ok: false, error: scrub(`Telegram unreachable: ${(err as Error).name}${cause ? ` (${cause})` : ''}`, [botToken]) };
      }
    },
  };
}

function secretsOfUrl(url: string): string[] {
  try {
    const u = new URL(url);
    return [u.password, decodeURIComponent(u.password)].filter((s) => s.length > 0);
  } catch {
    return [];
  }
}

/** Removes every secret from a message before it is stored or logged. */
export function scrub(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const s of secrets) if (s) out = out.split(s).join('[redacted]');
  return out;
}
