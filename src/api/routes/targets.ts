import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { invalid, notFound } from '../../errors.js';
import { newId } from '../../lib/ids.js';
import { CHANNELS, findChannel } from '../../notify/channels/index.js';
import type { NoticeTargetRow } from '../../store/schema.js';
import { findNoticeTarget, type TargetOwner } from '../../store/targets.js';
import type { AppDeps } from '../app.js';
import { ErrorBody } from './common.js';

/** The generic form of notice targets, shared by callbacks' notifications, the account and alert rules. */
export const TargetsIn = Type.Array(
  Type.Object(
    {
      channel: Type.String({ description: `One of: ${CHANNELS.map((c) => `${c.name} (${c.address})`).join('; ')}` }),
      address: Type.String({ minLength: 1, maxLength: 2048 }),
    },
    { additionalProperties: false },
  ),
  { maxItems: 50, description: 'Every target of notices, of any channel; replaces them all (emails and telegram_chat_ids are the same targets seen by channel)' },
);

export const TargetOut = Type.Object({
  id: Type.String(),
  channel: Type.String(),
  /** A secret address (a Slack URL) is shown redacted. */
  address: Type.String(),
  secret_set: Type.Boolean(),
  /** Only in the answer that created the target: its signing secret (later: GET /v1/notice-targets/{id}/secret). */
  secret: Type.Optional(Type.String()),
});

export interface TargetsGiven {
  emails?: string[] | undefined;
  telegram_chat_ids?: string[] | undefined;
  targets?: Static<typeof TargetsIn> | undefined;
}

export interface TargetsPlan {
  /** Every target of the owner, in order. */
  rows: NoticeTargetRow[];
  /** Ids of targets made now whose secret the answer shows once. */
  fresh: Set<string>;
}

/**
 * The targets a request sets, validated by each channel's rule (422 naming the field) before anything
 * is written. `targets` replaces every target; without it, `emails` / `telegram_chat_ids` replace
 * their own channel's. A target already stored keeps its id and secret. Undefined: nothing to change.
 */
export function planTargets(
  given: TargetsGiven,
  current: NoticeTargetRow[],
  ids: { accountId: string; owner: TargetOwner; ownerId: string },
  opts: { allowPrivate: boolean; now: number; replaceAll: boolean },
): TargetsPlan | undefined {
  const wanted: { channel: string; address: string }[] = [];
  const channels = new Set<string>();
  if (given.emails !== undefined) {
    channels.add('email');
    for (const address of given.emails) wanted.push({ channel: 'email', address });
  }
  if (given.telegram_chat_ids !== undefined) {
    channels.add('telegram');
    for (const address of given.telegram_chat_ids) wanted.push({ channel: 'telegram', address });
  }
  if (given.targets !== undefined) {
    given.targets.forEach((t, i) => {
      const channel = findChannel(t.channel);
      if (!channel) throw invalid(`targets[${i}].channel`, `unknown channel ${JSON.stringify(t.channel)}: one of ${CHANNELS.map((c) => c.name).join(', ')}`);
      const why = channel.check(t.address, { allowPrivate: opts.allowPrivate });
      if (why !== null) throw invalid(`targets[${i}].address`, why);
      wanted.push({ channel: channel.name, address: t.address });
    });
  }
  if (!opts.replaceAll && given.targets === undefined && channels.size === 0) return undefined;
  // Without `targets`, the channels not named keep their targets, first, in their order.
  const rows: NoticeTargetRow[] = opts.replaceAll || given.targets !== undefined ? [] : current.filter((c) => !channels.has(c.channel));
  const fresh = new Set<string>();
  const seen = new Set<string>();
  for (const w of wanted) {
    const key = `${w.channel}\u0000${w.address}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const kept = current.find((c) => c.channel === w.channel && c.address === w.address);
    if (kept) {
      rows.push(kept);
      continue;
    }
    const channel = findChannel(w.channel)!;
    const row: NoticeTargetRow = {
      id: newId('ntg', opts.now),
      account_id: ids.accountId,
      owner: ids.owner,
      owner_id: ids.ownerId,
      channel: channel.name,
      address: w.address,
      address_secret: channel.secretAddress ? 1 : 0,
      secret: channel.newSecret ? channel.newSecret() : null,
      position: rows.length,
      created_at: opts.now,
    };
    if (row.secret !== null) fresh.add(row.id);
    rows.push(row);
  }
  return { rows, fresh };
}

/** Targets as answers show them: secret addresses redacted, a secret only where just made. */
export function targetsJson(rows: NoticeTargetRow[], fresh: ReadonlySet<string> = new Set()): Static<typeof TargetOut>[] {
  return rows.map((r) => {
    const channel = findChannel(r.channel);
    return {
      id: r.id,
      channel: r.channel,
      address: channel ? channel.show(r.address) : '[unknown channel]',
      secret_set: r.secret !== null,
      ...(fresh.has(r.id) && r.secret !== null ? { secret: r.secret } : {}),
    };
  });
}

export const addressesOf = (rows: NoticeTargetRow[], channel: string) => rows.filter((r) => r.channel === channel).map((r) => r.address);

/** `GET /v1/notice-targets/{id}/secret`: a target's signing secret (the webhook channel's whsec_). */
export function noticeTargetRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    app.get(
      '/notice-targets/:id/secret',
      {
        schema: {
          tags: ['notifications'],
          summary: 'The signing secret of a notice target (webhook channel: whsec_…, to verify its Standard Webhooks signatures)',
          params: Type.Object({ id: Type.String() }),
          response: { 200: Type.Object({ id: Type.String(), channel: Type.String(), secret: Type.String() }), 404: ErrorBody },
        },
      },
      async (req) => {
        const row = await findNoticeTarget(deps.store.db, req.principal.accountId, req.params.id);
        if (!row || row.secret === null) throw notFound(`notice target ${req.params.id}`);
        return { id: row.id, channel: row.channel, secret: row.secret };
      },
    );
  };
}
