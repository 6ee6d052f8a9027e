import type { Callback } from '../routing/callback.js';
import { redactUrl } from '../delivery/redact.js';
import type { AttemptRow, EventRow } from '../store/schema.js';

/** The subject line of every notice starts with this, so mail filters can sort them. */
export const SUBJECT_PREFIX = '[callback-relay]';
const CONTENT_MAX = 1000;

/** What a failed attempt got: the response (status and body) or the error, in words. */
export function describeFailure(attempt: Pick<AttemptRow, 'response_status' | 'response_body' | 'error_class' | 'error_message'> | undefined, timeoutMs: number): string {
  if (!attempt) return 'unknown failure';
  if (attempt.response_status !== null) {
    const body = (attempt.response_body ?? '').trim().slice(0, 500);
    const auth = attempt.response_status === 401 || attempt.response_status === 403;
    return `${auth ? 'authentication rejected: ' : ''}HTTP ${attempt.response_status}${body ? ` ${body}` : ''}`;
  }
  switch (attempt.error_class) {
    case 'connect_timeout':
      return 'no connection within 5 s (connect_timeout)';
    case 'response_timeout':
      return `no response within ${timeoutMs / 1000} s (response_timeout)`;
    case 'refused':
      return 'connection refused (refused)';
    case 'dns':
      return `the host name does not resolve (dns)${attempt.error_message ? `: ${attempt.error_message}` : ''}`;
    default:
      return `${attempt.error_class ?? 'error'}${attempt.error_message ? `: ${attempt.error_message}` : ''}`;
  }
}

type Json = Record<string, unknown>;

function at(data: unknown, path: string): unknown {
  let v: unknown = data;
  for (const key of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Json)[key];
  }
  return v;
}

function first(data: unknown, paths: string[]): string | undefined {
  for (const p of paths) {
    const v = at(data, p);
    if (typeof v === 'string' && v.length > 0) return v;
    if (typeof v === 'number') return String(v);
  }
  return undefined;
}

/** The message an event is about, as far as its data tells (Whispir's failure e-mail fields). */
export function messageFields(event: Pick<EventRow, 'type' | 'data' | 'resource_id'>): [string, string][] {
  let data: unknown = {};
  try {
    data = JSON.parse(event.data);
  } catch {
    // stored as JSON; nothing to show otherwise
  }
  const content = first(data, ['content', 'text', 'body', 'message', 'responseMessage.content', 'response.response_data.body']);
  const fields: [string, string | undefined][] = [
    ['Location', first(data, ['messagelocation', 'location', 'message_id', 'messageid']) ?? event.resource_id ?? undefined],
    ['Name', first(data, ['name', 'from.name'])],
    ['Mobile', first(data, ['mobile', 'to', 'number', 'from.mobile', 'msisdn'])],
    ['Email', first(data, ['email', 'from.email'])],
    ['Channel', first(data, ['channel', 'responseMessage.channel']) ?? event.type.split('.')[0]],
    ['Content', content && content.length > CONTENT_MAX ? `${content.slice(0, CONTENT_MAX)}…` : content],
  ];
  return fields.filter((f): f is [string, string] => f[1] !== undefined);
}

export function failureNotice(
  cb: Callback,
  at: number,
  attempt: AttemptRow | undefined,
  event: EventRow | undefined,
  extra: { autoDisableAfter: string | null },
): { subject: string; text: string } {
  const response = describeFailure(attempt, cb.timeoutMs);
  const lines = [
    `Your callback ${cb.id} ("${cb.title}") failed on ${new Date(at).toISOString()} with response: ${response}.`,
    '',
    'The callback that failed is as follows:',
    `URL: ${redactUrl(cb.url)}`,
  ];
  if (event) {
    lines.push(`Event: ${event.type} ${event.id}`);
    for (const [k, v] of messageFields(event)) lines.push(`${k}: ${v}`);
  }
  if (attempt) lines.push(`Attempt: ${attempt.attempt} of delivery ${attempt.delivery_id ?? '-'}`);
  lines.push(
    '',
    'Please take the necessary steps to make sure your callback is configured correctly. Further failures',
    'are not notified one by one; you will be told when the callback succeeds again.',
  );
  if (extra.autoDisableAfter) lines.push(`If it keeps failing without a success for ${extra.autoDisableAfter}, it is disabled until it is enabled again.`);
  return { subject: `${SUBJECT_PREFIX} callback "${cb.title}" (${cb.id}) is failing: ${response.slice(0, 80)}`, text: lines.join('\n') };
}

export function recoveryNotice(cb: Pick<Callback, 'id' | 'title' | 'url'>, at: number): { subject: string; text: string } {
  return {
    subject: `${SUBJECT_PREFIX} callback "${cb.title}" (${cb.id}) recovered`,
    text: [
      `Your callback ${cb.id} ("${cb.title}") succeeded again on ${new Date(at).toISOString()}.`,
      `URL: ${redactUrl(cb.url)}`,
      'Deliveries owed to it continue as usual.',
    ].join('\n'),
  };
}

export function disabledNotice(cb: Pick<Callback, 'id' | 'title' | 'url'>, at: number, reason: string): { subject: string; text: string } {
  return {
    subject: `${SUBJECT_PREFIX} callback "${cb.title}" (${cb.id}) was disabled`,
    text: [
      `Your callback ${cb.id} ("${cb.title}") was disabled on ${new Date(at).toISOString()}: ${reason}.`,
      `URL: ${redactUrl(cb.url)}`,
      'It receives no new events and the deliveries it owes are held. Once the receiver is fixed, enable it',
      `(POST /v1/callbacks/${cb.id}/enable) and the held deliveries resume.`,
    ].join('\n'),
  };
}
