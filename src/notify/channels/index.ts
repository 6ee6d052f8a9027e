import type { NoticeChannel } from '../channel.js';
import { email } from './email.js';
import { slack } from './slack.js';
import { telegram } from './telegram.js';
import { webhook } from './webhook.js';

/** Every notice channel, one line each. The API, the sender and the docs read this list. */
export const CHANNELS: readonly NoticeChannel[] = [email, telegram, slack, webhook];

export function findChannel(name: string): NoticeChannel | undefined {
  return CHANNELS.find((c) => c.name === name);
}
