import type { Logger } from 'pino';
import type { Clock } from '../lib/clock.js';
import type { Store } from '../store/db.js';
import { findAccount } from '../store/accounts.js';
import { listCallbacks } from '../store/callbacks.js';
import {
  advanceReportPeriod,
  claimReportRun,
  countFailureReasons,
  countFinishedDeliveries,
  finishReportRun,
  listDueReportAccounts,
} from '../store/reports.js';
import type { AccountSettingsRow } from '../store/schema.js';
import type { NoticeSender } from './notices.js';
import { SUBJECT_PREFIX } from './texts.js';

export const REPORT_FREQUENCIES = ['off', 'daily', 'weekly', 'monthly'] as const;
export type ReportFrequency = (typeof REPORT_FREQUENCIES)[number];

const DAY = 86_400_000;
/** After downtime, at most this many missed periods per account are sent in one run (the rest next run). */
const MAX_CATCH_UP = 60;
/** A run left `sending` this long was a process that died: it may be tried again. */
const STALE_MS = 10 * 60_000;
const MAX_TRIES = 5;

/** Start (UTC) of the period of `frequency` that contains `t`. Weeks start on Monday. */
export function periodStart(frequency: Exclude<ReportFrequency, 'off'>, t: number): number {
  const d = new Date(t);
  const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  if (frequency === 'daily') return day;
  if (frequency === 'weekly') return day - ((d.getUTCDay() + 6) % 7) * DAY;
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/** Start of the period after the one starting at `start`. */
export function periodEnd(frequency: Exclude<ReportFrequency, 'off'>, start: number): number {
  if (frequency === 'daily') return start + DAY;
  if (frequency === 'weekly') return start + 7 * DAY;
  const d = new Date(start);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/**
 * Callback reports (Kaleyra's): per account, daily, weekly or monthly, an e-mail with each callback's
 * delivered and failed counts and its top failure reasons. Each period is reported once: the
 * account's `report_next_at` walks period by period (so periods missed during downtime are caught
 * up) and `report_runs` holds one row per period, claimed before sending, so two schedulers can
 * never both send one.
 */
export class ReportSender {
  constructor(private readonly deps: { store: Store; clock: Clock; log: Logger; notices: NoticeSender }) {}

  /** Sends every report whose period has ended; returns how many were sent. */
  async runDue(): Promise<number> {
    const now = this.deps.clock.now();
    let sent = 0;
    for (const account of await listDueReportAccounts(this.deps.store.db, now)) {
      try {
        sent += await this.catchUp(account, now);
      } catch (err) {
        this.deps.log.error({ err, accountId: account.account_id }, 'callback report failed');
      }
    }
    return sent;
  }

  private async catchUp(account: AccountSettingsRow, now: number): Promise<number> {
    const db = this.deps.store.db;
    const frequency = account.report_frequency as Exclude<ReportFrequency, 'off'>;
    let start = account.report_next_at!;
    let sent = 0;
    for (let i = 0; i < MAX_CATCH_UP; i++) {
      const end = periodEnd(frequency, start);
      if (end > now) break;
      const key = { account_id: account.account_id, frequency, period_start: start };
      if (await claimReportRun(db, { ...key, period_end: end }, now, now - STALE_MS, MAX_TRIES)) {
        const delivered = await this.send(account, frequency, start, end);
        await finishReportRun(db, key, delivered ? 'sent' : 'failed', delivered ? null : 'no recipient got the report', now);
        if (!delivered) break; // tried again on a later run, up to MAX_TRIES
        sent++;
      }
      if (!(await advanceReportPeriod(db, account.account_id, start, end, now))) break;
      start = end;
    }
    return sent;
  }

  private async send(account: AccountSettingsRow, frequency: string, from: number, to: number): Promise<boolean> {
    const { store, notices } = this.deps;
    const db = store.db;
    const [acct, callbacks, finished, reasons] = await Promise.all([
      findAccount(db, account.account_id),
      listCallbacks(db, account.account_id, {}, 0, 10_000),
      countFinishedDeliveries(db, account.account_id, from, to),
      countFailureReasons(db, account.account_id, from, to),
    ]);
    const titles = new Map(callbacks.rows.map((c) => [c.id, c.title]));
    const rows = new Map<string, { delivered: number; failed: number; reasons: Map<string, number> }>();
    const rowOf = (id: string) => {
      let r = rows.get(id);
      if (!r) {
        r = { delivered: 0, failed: 0, reasons: new Map() };
        rows.set(id, r);
      }
      return r;
    };
    for (const c of callbacks.rows) rowOf(c.id);
    for (const f of finished) rowOf(f.callback_id)[f.state === 'delivered' ? 'delivered' : 'failed'] += f.n;
    for (const r of reasons) rowOf(r.callback_id).reasons.set(r.reason, r.n);
    const day = (t: number) => new Date(t).toISOString().slice(0, 10);
    const lines = [
      `Callback report for account ${acct?.name ?? account.account_id}: ${frequency}, ${new Date(from).toISOString()} to ${new Date(to).toISOString()} (UTC).`,
      '',
    ];
    let totalDelivered = 0;
    let totalFailed = 0;
    for (const [id, r] of rows) {
      totalDelivered += r.delivered;
      totalFailed += r.failed;
      const top = [...r.reasons.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 3);
      lines.push(`Callback ${id} ("${titles.get(id) ?? 'deleted'}"): delivered ${r.delivered}, failed ${r.failed}`);
      if (top.length > 0) lines.push(`  top failure reasons: ${top.map(([reason, n]) => `${reason} (${n})`).join(', ')}`);
    }
    if (rows.size === 0) lines.push('No callbacks.');
    lines.push('', `Total: delivered ${totalDelivered}, failed ${totalFailed}.`);
    // Reports go by e-mail only (Kaleyra's): no other channel.
    const emails = (JSON.parse(account.report_emails) as string[]).map((address) => ({ channel: 'email', target: { id: 'report', address, secret: null } }));
    const to_ = await notices.withAccountDefaults(account.account_id, emails, null, ['email']);
    const delivered = await notices.send(
      {
        accountId: account.account_id,
        callbackId: null,
        kind: 'report',
        subject: `${SUBJECT_PREFIX} ${frequency} callback report ${day(from)}${frequency === 'daily' ? '' : ` to ${day(to - 1)}`}`,
        text: lines.join('\n'),
      },
      to_,
    );
    return delivered > 0;
  }
}
