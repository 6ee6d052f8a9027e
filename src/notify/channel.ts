import type { Logger } from 'pino';
import type { HttpSender } from '../delivery/http.js';
import type { Clock } from '../lib/clock.js';
import type { Mailer, SendOutcome, Telegram } from './transports.js';

export type { SendOutcome } from './transports.js';

/** One notice, as every channel gets it. */
export interface ChannelNotice {
  accountId: string;
  callbackId: string | null;
  /** failure | recovery | disabled | alert | report */
  kind: string;
  subject: string;
  text: string;
  /** When it was made (ms since the epoch). */
  at: number;
}

/** One target of a channel, secrets opened. */
export interface ChannelTarget {
  id: string;
  address: string;
  /** The per-target secret the channel made (`newSecret`), or null. */
  secret: string | null;
}

/** What the relay lends every channel to send with. */
export interface ChannelContext {
  mailer: Mailer;
  telegram: Telegram;
  /** The delivery engine's guarded HTTP client (SSRF rules, no redirects, timeouts). */
  http: HttpSender;
  /** The Telegram bot of the notice's owner (its own, else the account's); null: none. */
  botToken: string | null;
  clock: Clock;
  log: Logger;
}

/**
 * A notice channel: one module in src/notify/channels/, one line in `CHANNELS` (channels/index.ts).
 * Its targets are rows of notice_targets (channel, address[, secret]); the API, the sender and the
 * notice log read this record and nothing else switches on a channel's name.
 * See docs/adding-a-notice-channel.md.
 */
export interface NoticeChannel {
  /** The `channel` of targets and notices: lower case, stable (it is stored). */
  readonly name: string;
  /** One line for the API documentation: what an address is. */
  readonly address: string;
  /**
   * Why `address` cannot be a target of this channel, or null when it can. `allowPrivate` is
   * RELAY_ALLOW_PRIVATE_NETWORKS, for channels whose address is a URL.
   */
  check(address: string, opts: { allowPrivate: boolean }): string | null;
  /**
   * The address is a credential (a Slack webhook URL): sealed at rest, never in an answer, a log line
   * or the notice log; `show` gives what may be shown instead.
   */
  readonly secretAddress: boolean;
  /** What answers and the notice log show for an address. */
  show(address: string): string;
  /** A secret made once per new target (a signing key), readable once and through its endpoint. */
  newSecret?(): string;
  /**
   * Where notices of an owner with no target of this channel go, when the account has none either
   * (e-mail: the account's admin e-mail). None: the channel is simply not used.
   */
  defaults?(account: { adminEmail: string | null }): string[];
  /** The error recorded when a notice has no target at all of this channel (e-mail only). */
  readonly noTarget?: string;
  /** Sends `notice` to `targets`: one outcome per target, in order. Never throws; errors hold no secret. */
  send(ctx: ChannelContext, notice: ChannelNotice, targets: ChannelTarget[]): Promise<SendOutcome[]>;
}
