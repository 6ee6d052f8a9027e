import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { notFound } from '../../errors.js';
import { findAccount, updateAccountAdminEmail } from '../../store/accounts.js';
import { findCallback } from '../../store/callbacks.js';
import { findCallbackHealth } from '../../store/health.js';
import { findAccountSettings, findCallbackNotifications, listNotices, upsertAccountSettings, upsertCallbackNotifications } from '../../store/notices.js';
import type { NoticeRow } from '../../store/schema.js';
import { listNoticeTargets, replaceNoticeTargets } from '../../store/targets.js';
import type { AppDeps } from '../app.js';
import { ErrorBody, Paging, isoTime } from './common.js';
import { TargetOut, TargetsIn, addressesOf, planTargets, targetsJson } from './targets.js';

/** Shared by the notification, alert and report routes. */
export const Emails = Type.Array(Type.String({ format: 'email', maxLength: 254 }), { maxItems: 20, uniqueItems: true });
export const ChatIds = Type.Array(Type.String({ pattern: '^(-?[0-9]{1,20}|@[A-Za-z0-9_]{5,32})$' }), {
  maxItems: 20,
  uniqueItems: true,
  description: 'Telegram chat ids (numbers as text, or @channelname)',
});
export const BotToken = Type.Union([Type.String({ pattern: '^[A-Za-z0-9:_-]{10,200}$' }), Type.Null()], {
  description: 'Telegram bot token; write-only (answers only say whether one is set); null removes it',
});

const RetentionDays = Type.Union([Type.Integer({ minimum: 0, maximum: 36_500 }), Type.Null()], {
  description: 'Days finished deliveries (with their attempts) and their events are kept; 0: forever; null: the relay’s RELAY_RETENTION',
});
const AccountOut = Type.Object({
  id: Type.String(),
  name: Type.String(),
  admin_email: Type.Union([Type.String(), Type.Null()]),
  telegram_chat_ids: Type.Array(Type.String()),
  telegram_bot_token_set: Type.Boolean(),
  /** The account's notice targets (defaults of its callbacks and alert rules, per channel). */
  targets: Type.Array(TargetOut),
  retention_days: RetentionDays,
});
const AccountPatch = Type.Object(
  {
    admin_email: Type.Optional(Type.Union([Type.String({ format: 'email', maxLength: 254 }), Type.Null()])),
    telegram_chat_ids: Type.Optional(ChatIds),
    telegram_bot_token: Type.Optional(BotToken),
    targets: Type.Optional(TargetsIn),
    retention_days: Type.Optional(RetentionDays),
  },
  { additionalProperties: false, minProperties: 1 },
);

const CallbackNotificationsBody = Type.Object(
  { emails: Type.Optional(Emails), telegram_chat_ids: Type.Optional(ChatIds), telegram_bot_token: Type.Optional(BotToken), targets: Type.Optional(TargetsIn) },
  { additionalProperties: false },
);
const CallbackNotificationsOut = Type.Object({
  callback_id: Type.String(),
  emails: Type.Array(Type.String()),
  telegram_chat_ids: Type.Array(Type.String()),
  telegram_bot_token_set: Type.Boolean(),
  targets: Type.Array(TargetOut),
  /** The current failure episode and circuit state. */
  health: Type.Object({
    failing_since: Type.Union([Type.String(), Type.Null()]),
    last_error: Type.Union([Type.String(), Type.Null()]),
    last_success_at: Type.Union([Type.String(), Type.Null()]),
    exhausted_count: Type.Integer(),
    circuit_open_until: Type.Union([Type.String(), Type.Null()]),
  }),
});

const NoticeOut = Type.Object({
  id: Type.Integer(),
  callback_id: Type.Union([Type.String(), Type.Null()]),
  kind: Type.String(),
  channel: Type.String(),
  recipient: Type.Union([Type.String(), Type.Null()]),
  subject: Type.String(),
  body: Type.String(),
  delivered: Type.Boolean(),
  error: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String(),
});
const NoticeQuery = Type.Object(
  {
    ...Paging,
    callback_id: Type.Optional(Type.String()),
    kind: Type.Optional(Type.Union(['failure', 'recovery', 'disabled', 'alert', 'report'].map((k) => Type.Literal(k)))),
  },
  { additionalProperties: false },
);

function noticeJson(r: NoticeRow) {
  return {
    id: r.id,
    callback_id: r.callback_id,
    kind: r.kind,
    channel: r.channel,
    recipient: r.recipient,
    subject: r.subject,
    body: r.body,
    delivered: r.delivered === 1,
    error: r.error,
    created_at: isoTime(r.created_at),
  };
}

const opt = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : isoTime(ms));

/** The account (admin e-mail, Telegram), per-callback notification settings, and the notices sent. */
export function notificationRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const db = deps.store.db;
    const tags = ['notifications'];

    const accountJson = async (accountId: string, fresh?: Set<string>) => {
      const [account, settings, targets] = await Promise.all([findAccount(db, accountId), findAccountSettings(db, accountId), listNoticeTargets(db, 'account', accountId)]);
      if (!account) throw notFound('account');
      return {
        id: account.id,
        name: account.name,
        admin_email: account.admin_email,
        telegram_chat_ids: addressesOf(targets, 'telegram'),
        telegram_bot_token_set: Boolean(settings?.telegram_bot_token),
        targets: targetsJson(targets, fresh),
        retention_days: settings?.retention_days ?? null,
      };
    };

    app.get('/account', { schema: { tags, summary: 'The caller’s account', response: { 200: AccountOut } } }, async (req) =>
      accountJson(req.principal.accountId),
    );

    app.patch(
      '/account',
      {
        schema: {
          tags,
          summary: 'Set the admin e-mail (default recipient of notices and reports), the account’s Telegram bot and chats, and its retention',
          body: AccountPatch,
          response: { 200: AccountOut, 422: ErrorBody },
        },
      },
      async (req) => {
        const b = req.body;
        const accountId = req.principal.accountId;
        const now = deps.clock.now();
        // Targets are checked before anything is written, so a refused one changes nothing.
        const plan = planTargets(b, await listNoticeTargets(db, 'account', accountId), { accountId, owner: 'account', ownerId: accountId }, { allowPrivate: deps.config.allowPrivateNetworks, now, replaceAll: false });
        // One transaction: a bot token or target the store refuses (store/sealing.ts) changes nothing.
        await db.transaction().execute(async (trx) => {
          if (b.telegram_bot_token !== undefined || b.retention_days !== undefined) {
            await upsertAccountSettings(
              trx,
              accountId,
              {
                ...(b.telegram_bot_token !== undefined ? { telegram_bot_token: b.telegram_bot_token } : {}),
                ...(b.retention_days !== undefined ? { retention_days: b.retention_days } : {}),
              },
              now,
            );
          }
          if (plan) await replaceNoticeTargets(trx, 'account', accountId, plan.rows);
          if (b.admin_email !== undefined) await updateAccountAdminEmail(trx, accountId, b.admin_email);
        });
        return accountJson(accountId, plan?.fresh);
      },
    );

    const notificationsJson = async (accountId: string, callbackId: string, fresh?: Set<string>) => {
      if (!(await findCallback(db, accountId, callbackId))) throw notFound(`callback ${callbackId}`);
      const [own, health, targets] = await Promise.all([
        findCallbackNotifications(db, callbackId),
        findCallbackHealth(db, callbackId),
        listNoticeTargets(db, 'callback', callbackId),
      ]);
      return {
        callback_id: callbackId,
        emails: addressesOf(targets, 'email'),
        telegram_chat_ids: addressesOf(targets, 'telegram'),
        telegram_bot_token_set: Boolean(own?.telegram_bot_token),
        targets: targetsJson(targets, fresh),
        health: {
          failing_since: opt(health?.failing_since),
          last_error: health?.last_error ?? null,
          last_success_at: opt(health?.last_success_at),
          exhausted_count: health?.exhausted_count ?? 0,
          circuit_open_until: opt(deps.notify?.breaker?.openUntil(callbackId)),
        },
      };
    };

    const IdParams = Type.Object({ id: Type.String() });
    app.get(
      '/callbacks/:id/notifications',
      { schema: { tags, summary: 'Where a callback’s failure notices go, and its failure state', params: IdParams, response: { 200: CallbackNotificationsOut } } },
      async (req) => notificationsJson(req.principal.accountId, req.params.id),
    );

    app.put(
      '/callbacks/:id/notifications',
      {
        schema: {
          tags,
          summary: 'Set where a callback’s failure notices go (empty lists: the account’s admin e-mail and Telegram chats)',
          params: IdParams,
          body: CallbackNotificationsBody,
          response: { 200: CallbackNotificationsOut, 422: ErrorBody },
        },
      },
      async (req) => {
        const accountId = req.principal.accountId;
        const callbackId = req.params.id;
        if (!(await findCallback(db, accountId, callbackId))) throw notFound(`callback ${callbackId}`);
        const now = deps.clock.now();
        const current = await listNoticeTargets(db, 'callback', callbackId);
        const plan = planTargets(req.body, current, { accountId, owner: 'callback', ownerId: callbackId }, { allowPrivate: deps.config.allowPrivateNetworks, now, replaceAll: true })!;
        await db.transaction().execute(async (trx) => {
          await upsertCallbackNotifications(trx, { callback_id: callbackId, account_id: accountId, telegram_bot_token: req.body.telegram_bot_token, updated_at: now });
          await replaceNoticeTargets(trx, 'callback', callbackId, plan.rows);
        });
        return notificationsJson(accountId, callbackId, plan.fresh);
      },
    );

    app.get(
      '/notices',
      {
        schema: {
          tags,
          summary: 'Notices sent (failure, recovery, disabled, alert, report): who, when, why, delivered or not',
          querystring: NoticeQuery,
          response: { 200: Type.Object({ data: Type.Array(NoticeOut), total: Type.Integer(), offset: Type.Integer(), limit: Type.Integer() }) },
        },
      },
      async (req) => {
        const q = req.query;
        const { rows, total } = await listNotices(db, req.principal.accountId, { callbackId: q.callback_id, kind: q.kind }, q.offset, q.limit);
        return { data: rows.map(noticeJson), total, offset: q.offset, limit: q.limit };
      },
    );
  };
}
