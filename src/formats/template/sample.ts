import { eventTypeByName } from '../../catalogue/event-types.js';
import type { RenderEvent } from '../types.js';
import type { TemplateChannel } from './types.js';

const PREFERRED: Record<TemplateChannel, string> = {
  none: 'sms.delivered',
  sms: 'sms.delivered',
  email: 'email.delivered',
  otp: 'otp.verified',
  whatsapp: 'whatsapp.delivered',
  system: 'system.account_login',
};

const SAMPLE_VALUES: Record<string, unknown> = {
  message_id: 'msg_sample_0001',
  to: '+15555550100',
  from: 'callback-relay',
  status: 'delivered',
  raw_status: 'DELIVRD',
  error_code: 0,
  cost: 0.0075,
  currency: 'USD',
  parts: 1,
  custom_args: { sample: true },
  text: 'Sample reply',
  body: 'Sample message',
  subject: 'Sample subject',
};

/**
 * A sample event for a callback's test call: the channel's typical event (or the first one it is
 * subscribed to) with a plausible value for each of its variables.
 */
export function sampleEvent(channel: TemplateChannel, events: readonly string[], now: number, tricky = false): RenderEvent {
  const type = events.length > 0 && !events.includes(PREFERRED[channel]) ? events[0]! : PREFERRED[channel];
  const t = eventTypeByName(type);
  const data: Record<string, unknown> = {};
  for (const v of t?.variables ?? []) {
    data[v] = tricky ? TRICKY : v === 'event_time' || v === 'send_time' ? new Date(now).toISOString() : (SAMPLE_VALUES[v] ?? `sample ${v}`);
  }
  return { id: `evt_test_${now.toString(36)}`, type, createdAt: now, data, resourceId: tricky ? TRICKY : 'msg_sample_0001', customArgs: null };
}

/** What every value is when a template is checked at save: it must survive every escaping. */
export const TRICKY = 'q"uote\' <tag attr="x"> & &amp; \\ back\r\nline\ttab é ✓ 😀 \u2028 %20 + = ? # {}';
