import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { invalid, notFound } from '../../errors.js';
import { newId } from '../../lib/ids.js';
import { ALERT_KINDS } from '../../notify/alerts.js';
import { deleteAlertRule, findAlertRule, insertAlertRule, listAlertRules, updateAlertRule } from '../../store/alerts.js';
import type { AlertRuleRow, NoticeTargetRow } from '../../store/schema.js';
import { deleteNoticeTargets, listNoticeTargets, replaceNoticeTargets } from '../../store/targets.js';
import type { AppDeps } from '../app.js';
import { ErrorBody, isoTime } from './common.js';
import { ChatIds, Emails } from './notifications.js';
import { TargetOut, TargetsIn, addressesOf, planTargets, targetsJson } from './targets.js';

const DEFAULTS = {
  insufficient_balance: { window: 0, cooldown: 3600 },
  low_verification_rate: { window: 3600, cooldown: 3600 },
  authentication_timeout: { window: 300, cooldown: 600 },
} as const;

const Fields = {
  kind: Type.Union(ALERT_KINDS.map((k) => Type.Literal(k))),
  threshold: Type.Number({
    minimum: 0,
    description: 'insufficient_balance: alert below this balance; low_verification_rate: below this percentage (0-100); authentication_timeout: unused',
  }),
  window: Type.Optional(
    Type.Number({ minimum: 1, maximum: 30 * 86400, description: 'Seconds: the verification-rate window, or the time an OTP has to be verified' }),
  ),
  min_sent: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'Fewest OTPs in the window for a rate alert (default 10)' })),
  cooldown: Type.Optional(Type.Number({ minimum: 0, maximum: 30 * 86400, description: 'Seconds between two alerts of this rule' })),
  emails: Type.Optional(Emails),
  telegram_chat_ids: Type.Optional(ChatIds),
  targets: Type.Optional(TargetsIn),
  emit_event: Type.Optional(Type.Boolean({ description: 'Also send an alert.<kind> event to the callbacks subscribed to it (default true)' })),
  enabled: Type.Optional(Type.Boolean()),
};
const CreateBody = Type.Object(Fields, { additionalProperties: false });
const UpdateBody = Type.Partial(Type.Object({ ...Fields, kind: Fields.kind }), { additionalProperties: false, minProperties: 1 });

const RuleOut = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  threshold: Type.Number(),
  window: Type.Number(),
  min_sent: Type.Integer(),
  cooldown: Type.Number(),
  emails: Type.Array(Type.String()),
  telegram_chat_ids: Type.Array(Type.String()),
  targets: Type.Array(TargetOut),
  emit_event: Type.Boolean(),
  enabled: Type.Boolean(),
  last_fired_at: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String(),
  updated_at: Type.String(),
});

function ruleJson(r: AlertRuleRow, targets: NoticeTargetRow[], fresh?: Set<string>): Static<typeof RuleOut> {
  return {
    id: r.id,
    kind: r.kind,
    threshold: r.threshold,
    window: r.window_ms / 1000,
    min_sent: r.min_sent,
    cooldown: r.cooldown_ms / 1000,
    emails: addressesOf(targets, 'email'),
    telegram_chat_ids: addressesOf(targets, 'telegram'),
    targets: targetsJson(targets, fresh),
    emit_event: r.emit_event === 1,
    enabled: r.enabled === 1,
    last_fired_at: r.last_fired_at === null ? null : isoTime(r.last_fired_at),
    created_at: isoTime(r.created_at),
    updated_at: isoTime(r.updated_at),
  };
}

function checkThreshold(kind: string, threshold: number): void {
  if (kind === 'low_verification_rate' && threshold > 100) throw invalid('threshold', 'is a percentage: at most 100');
}

/** Business alert rules (EngageLab's console alerts): `/v1/alert-rules`. */
export function alertRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const db = deps.store.db;
    const tags = ['alerts'];
    const IdParams = Type.Object({ id: Type.String() });
    const changed = (accountId: string) => deps.notify?.alerts.invalidate(accountId);

    app.post('/alert-rules', { schema: { tags, summary: 'Create an alert rule', body: CreateBody, response: { 201: RuleOut, 422: ErrorBody } } }, async (req, reply) => {
      const b = req.body;
      checkThreshold(b.kind, b.threshold);
      const now = deps.clock.now();
      const d = DEFAULTS[b.kind];
      const row: AlertRuleRow = {
        id: newId('alr', now),
        account_id: req.principal.accountId,
        kind: b.kind,
        threshold: b.threshold,
        window_ms: Math.round((b.window ?? d.window) * 1000),
        min_sent: b.min_sent ?? 10,
        cooldown_ms: Math.round((b.cooldown ?? d.cooldown) * 1000),
        emit_event: b.emit_event === false ? 0 : 1,
        enabled: b.enabled === false ? 0 : 1,
        last_fired_at: null,
        created_at: now,
        updated_at: now,
      };
      const plan = planTargets(b, [], { accountId: row.account_id, owner: 'alert_rule', ownerId: row.id }, { allowPrivate: deps.config.allowPrivateNetworks, now, replaceAll: true })!;
      await db.transaction().execute(async (trx) => {
        await insertAlertRule(trx, row);
        await replaceNoticeTargets(trx, 'alert_rule', row.id, plan.rows);
      });
      changed(row.account_id);
      return reply.code(201).send(ruleJson(row, plan.rows, plan.fresh));
    });

    app.get('/alert-rules', { schema: { tags, summary: 'List alert rules', response: { 200: Type.Object({ data: Type.Array(RuleOut) }) } } }, async (req) => ({
      data: await Promise.all((await listAlertRules(db, req.principal.accountId)).map(async (r) => ruleJson(r, await listNoticeTargets(db, 'alert_rule', r.id)))),
    }));

    app.get('/alert-rules/:id', { schema: { tags, summary: 'Read an alert rule', params: IdParams, response: { 200: RuleOut } } }, async (req) => {
      const row = await findAlertRule(db, req.principal.accountId, req.params.id);
      if (!row) throw notFound(`alert rule ${req.params.id}`);
      return ruleJson(row, await listNoticeTargets(db, 'alert_rule', row.id));
    });

    app.patch(
      '/alert-rules/:id',
      { schema: { tags, summary: 'Change an alert rule (absent fields unchanged)', params: IdParams, body: UpdateBody, response: { 200: RuleOut, 422: ErrorBody } } },
      async (req) => {
        const accountId = req.principal.accountId;
        const current = await findAlertRule(db, accountId, req.params.id);
        if (!current) throw notFound(`alert rule ${req.params.id}`);
        const b = req.body;
        checkThreshold(b.kind ?? current.kind, b.threshold ?? current.threshold);
        const now = deps.clock.now();
        const plan = planTargets(b, await listNoticeTargets(db, 'alert_rule', current.id), { accountId, owner: 'alert_rule', ownerId: current.id }, { allowPrivate: deps.config.allowPrivateNetworks, now, replaceAll: false });
        await db.transaction().execute(async (trx) => {
          await updateAlertRule(trx, accountId, current.id, {
            ...(b.kind !== undefined ? { kind: b.kind } : {}),
            ...(b.threshold !== undefined ? { threshold: b.threshold } : {}),
            ...(b.window !== undefined ? { window_ms: Math.round(b.window * 1000) } : {}),
            ...(b.min_sent !== undefined ? { min_sent: b.min_sent } : {}),
            ...(b.cooldown !== undefined ? { cooldown_ms: Math.round(b.cooldown * 1000) } : {}),
            ...(b.emit_event !== undefined ? { emit_event: b.emit_event ? 1 : 0 } : {}),
            ...(b.enabled !== undefined ? { enabled: b.enabled ? 1 : 0 } : {}),
            updated_at: now,
          });
          if (plan) await replaceNoticeTargets(trx, 'alert_rule', current.id, plan.rows);
        });
        changed(accountId);
        return ruleJson((await findAlertRule(db, accountId, current.id))!, await listNoticeTargets(db, 'alert_rule', current.id), plan?.fresh);
      },
    );

    app.delete('/alert-rules/:id', { schema: { tags, summary: 'Delete an alert rule', params: IdParams } }, async (req, reply) => {
      const deleted = await db.transaction().execute(async (trx) => {
        const found = await deleteAlertRule(trx, req.principal.accountId, req.params.id);
        if (found) await deleteNoticeTargets(trx, 'alert_rule', req.params.id);
        return found;
      });
      if (!deleted) throw notFound(`alert rule ${req.params.id}`);
      changed(req.principal.accountId);
      return reply.code(204).send();
    });
  };
}
