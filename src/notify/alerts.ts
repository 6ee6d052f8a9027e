import type { Logger } from 'pino';
import type { IngestedEvents, PipelineBus } from '../pipeline/bus.js';
import type { Clock } from '../lib/clock.js';
import type { Store } from '../store/db.js';
import {
  claimAlertFiring,
  countOtpVerification,
  deleteOtpTrackingBefore,
  insertSentOtps,
  listAlertRules,
  listEnabledAlertRulesOfKind,
  listUnverifiedOtps,
  markOtpsTimeoutAlerted,
  markOtpsVerified,
} from '../store/alerts.js';
import type { AlertRuleRow } from '../store/schema.js';
import type { NoticeSender } from './notices.js';
import { isOperational, type AccountEvents } from './operational.js';
import { SUBJECT_PREFIX } from './texts.js';

export const ALERT_KINDS = ['insufficient_balance', 'low_verification_rate', 'authentication_timeout'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** Rules are read at most this often per account on the ingest path; edits here apply at once. */
const RULES_TTL_MS = 5000;
/** OTP tracking older than this is dropped (longer than any sensible window). */
const OTP_TRACKING_KEPT_MS = 7 * 86_400_000;
const TIMEOUTS_PER_CHECK = 500;

export interface AlertDeps {
  store: Store;
  clock: Clock;
  log: Logger;
  notices: NoticeSender;
  events: AccountEvents;
}

/**
 * Business alerts (EngageLab's): insufficient balance, low verification rate, authentication
 * timeout. Evaluated from ingested events (`events.ingested` on the bus) and, for timeouts, by a
 * periodic check. A rule fires at most once per cool-down, by e-mail, Telegram and, when asked, as
 * an `alert.*` event of the account.
 */
export class AlertEvaluator {
  private rules = new Map<string, { rules: AlertRuleRow[]; at: number }>();

  constructor(private readonly deps: AlertDeps) {}

  attach(bus: PipelineBus): () => void {
    return bus.on('events.ingested', (e) => this.onIngested(e));
  }

  /** Forget the cached rules of an account (after an edit through the API). */
  invalidate(accountId: string): void {
    this.rules.delete(accountId);
  }

  private async rulesOf(accountId: string): Promise<AlertRuleRow[]> {
    const now = Date.now();
    const cached = this.rules.get(accountId);
    if (cached && now - cached.at < RULES_TTL_MS) return cached.rules;
    const rules = (await listAlertRules(this.deps.store.db, accountId)).filter((r) => r.enabled === 1);
    this.rules.set(accountId, { rules, at: now });
    return rules;
  }

  async onIngested(batch: IngestedEvents): Promise<void> {
    // Alerts and operational events never feed the rules (an alert about a balance is not a balance).
    const events = batch.events.filter((e) => !e.type.startsWith('alert.') && !isOperational(e.type));
    if (events.length === 0) return;
    const rules = await this.rulesOf(batch.accountId);
    if (rules.length === 0) return;
    const db = this.deps.store.db;
    const now = this.deps.clock.now();

    const balanceRules = rules.filter((r) => r.kind === 'insufficient_balance');
    if (balanceRules.length > 0) {
      let lowest: { balance: number; data: unknown } | undefined;
      for (const e of events) {
        const balance = balanceOf(e.data);
        if (balance !== undefined && (!lowest || balance < lowest.balance)) lowest = { balance, data: e.data };
      }
      if (lowest) {
        for (const rule of balanceRules) {
          if (lowest.balance >= rule.threshold) continue;
          await this.fire(rule, now, `The balance is ${lowest.balance}, below the threshold of ${rule.threshold}.`, {
            remain_balance: lowest.balance,
            balance_threshold: rule.threshold,
            business_id: field(lowest.data, ['business_id', 'notification.notification_data.business_id']) ?? null,
          });
        }
      }
    }

    if (!rules.some((r) => r.kind === 'low_verification_rate' || r.kind === 'authentication_timeout')) return;
    const sent: string[] = [];
    const verified: string[] = [];
    for (const e of events) {
      const id = messageIdOf(e);
      if (id === undefined) continue;
      if (e.type === 'otp.sent') sent.push(id);
      else if (e.type === 'otp.verified') verified.push(id);
    }
    if (sent.length === 0 && verified.length === 0) return;
    await insertSentOtps(db, sent.map((message_id) => ({ account_id: batch.accountId, message_id, sent_at: now })));
    await markOtpsVerified(db, batch.accountId, verified, now);
    for (const rule of rules) {
      if (rule.kind !== 'low_verification_rate') continue;
      if (rule.last_fired_at !== null && now - rule.last_fired_at < rule.cooldown_ms) continue;
      const counts = await countOtpVerification(db, batch.accountId, now - rule.window_ms, now + 1);
      if (counts.sent === 0 || counts.sent < rule.min_sent) continue;
      const rate = (100 * counts.verified) / counts.sent;
      if (rate >= rule.threshold) continue;
      const pct = Math.round(rate * 10) / 10;
      await this.fire(
        rule,
        now,
        `${counts.verified} of ${counts.sent} OTPs sent in the last ${rule.window_ms / 1000} s were verified (${pct} %), below ${rule.threshold} %.`,
        { verification_rate: pct, threshold: rule.threshold, window: rule.window_ms / 1000, sent: counts.sent, verified: counts.verified },
      );
    }
  }

  /** The periodic check: OTPs sent and not verified within a rule's time. Returns alerts fired. */
  async checkTimeouts(): Promise<number> {
    const db = this.deps.store.db;
    const now = this.deps.clock.now();
    let fired = 0;
    for (const rule of await listEnabledAlertRulesOfKind(db, 'authentication_timeout')) {
      const late = await listUnverifiedOtps(db, rule.account_id, now - rule.window_ms, TIMEOUTS_PER_CHECK);
      if (late.length === 0) continue;
      // Marked whether or not the rule is cooling down: an OTP times out once.
      await markOtpsTimeoutAlerted(db, rule.account_id, late.map((o) => o.message_id));
      const ids = late.map((o) => o.message_id);
      const ok = await this.fire(
        rule,
        now,
        `${late.length} OTP${late.length === 1 ? ' was' : 's were'} not verified within ${rule.window_ms / 1000} s: ${ids.slice(0, 20).join(', ')}${ids.length > 20 ? ', …' : ''}.`,
        { message_id: ids[0], message_ids: ids.slice(0, 100), count: late.length, window: rule.window_ms / 1000 },
      );
      if (ok) fired++;
    }
    await deleteOtpTrackingBefore(db, now - OTP_TRACKING_KEPT_MS);
    return fired;
  }

  private async fire(rule: AlertRuleRow, now: number, summary: string, data: Record<string, unknown>): Promise<boolean> {
    if (!(await claimAlertFiring(this.deps.store.db, rule.id, now))) return false;
    this.invalidate(rule.account_id);
    this.deps.log.info({ rule: rule.id, kind: rule.kind, accountId: rule.account_id }, 'alert fired');
    const title = rule.kind.replace(/_/g, ' ');
    const text = [
      `Alert "${title}" (rule ${rule.id}) fired on ${new Date(now).toISOString()}.`,
      summary,
      '',
      `The next alert of this rule comes after its cool-down of ${rule.cooldown_ms / 1000} s.`,
    ].join('\n');
    const notices = this.deps.notices;
    const to = await notices.forOwner(rule.account_id, 'alert_rule', rule.id);
    await notices.send({ accountId: rule.account_id, callbackId: null, kind: 'alert', subject: `${SUBJECT_PREFIX} alert: ${title}`, text }, to);
    if (rule.emit_event === 1) await this.deps.events.emit(rule.account_id, `alert.${rule.kind}`, { ...data, rule_id: rule.id });
    return true;
  }
}

function field(data: unknown, paths: string[]): unknown {
  for (const path of paths) {
    let v: unknown = data;
    for (const key of path.split('.')) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
    if (v !== undefined && v !== null) return v;
  }
  return undefined;
}

/** A balance an event reports (EngageLab's notification rows carry it as remain_balance). */
export function balanceOf(data: unknown): number | undefined {
  const v = field(data, ['remain_balance', 'balance', 'notification.notification_data.remain_balance', 'notification_data.remain_balance']);
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

function messageIdOf(e: { data: unknown; resourceId: string | null }): string | undefined {
  const v = field(e.data, ['message_id', 'messageid']) ?? e.resourceId ?? undefined;
  return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
}
