import { EVENT_TYPES, eventTypeByName } from '../../catalogue/event-types.js';
import type { TemplateChannel } from './types.js';

/** Values every event offers, whatever its type. */
export const META_VARIABLES = [
  'event_id',
  'event_type',
  'event_code',
  'event_channel',
  'event_created_at',
  'event_timestamp',
  'resource_id',
  'callback_id',
  'callback_title',
  'data',
  'custom_args',
] as const;
export const META = new Set<string>(META_VARIABLES);
/** Every variable some event type offers. */
export const ALL_CATALOGUE = new Set(EVENT_TYPES.flatMap((t) => t.variables));

/** The event types of a channel (none: every type). */
export function channelEvents(channel: TemplateChannel): string[] {
  return EVENT_TYPES.filter((t) => channel === 'none' || t.channel === channel).map((t) => t.name);
}

/** Variable names the templates may use for a channel and subscription (empty: the whole channel). */
export function offeredVariables(channel: TemplateChannel, events: readonly string[]): Set<string> {
  const types = events.length > 0 ? events : channelEvents(channel);
  const out = new Set<string>(META);
  for (const name of types) for (const v of eventTypeByName(name)?.variables ?? []) out.add(v);
  return out;
}
