import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { REPORT_FREQUENCIES, periodStart } from '../../notify/reports.js';
import { findAccountSettings, upsertAccountSettings } from '../../store/notices.js';
import { listReportRuns } from '../../store/reports.js';
import type { AppDeps } from '../app.js';
import { ErrorBody, isoTime } from './common.js';
import { Emails } from './notifications.js';

const Frequency = Type.Union(REPORT_FREQUENCIES.map((f) => Type.Literal(f)));
const SettingsBody = Type.Object({ frequency: Frequency, emails: Type.Optional(Emails) }, { additionalProperties: false });
const SettingsOut = Type.Object({
  frequency: Type.String(),
  emails: Type.Array(Type.String()),
  /** The first report still to come covers the period starting here (UTC). */
  next_period_start: Type.Union([Type.String(), Type.Null()]),
  runs: Type.Array(
    Type.Object({ frequency: Type.String(), period_start: Type.String(), period_end: Type.String(), state: Type.String(), error: Type.Union([Type.String(), Type.Null()]) }),
  ),
});

/** Callback reports (Kaleyra's): `/v1/reports/settings`. */
export function reportRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const db = deps.store.db;
    const tags = ['reports'];

    const settingsJson = async (accountId: string) => {
      const [s, runs] = await Promise.all([findAccountSettings(db, accountId), listReportRuns(db, accountId, 20)]);
      return {
        frequency: s?.report_frequency ?? 'off',
        emails: s ? (JSON.parse(s.report_emails) as string[]) : [],
        next_period_start: s?.report_next_at === null || s?.report_next_at === undefined ? null : isoTime(s.report_next_at),
        runs: runs.map((r) => ({ frequency: r.frequency, period_start: isoTime(r.period_start), period_end: isoTime(r.period_end), state: r.state, error: r.error })),
      };
    };

    app.get('/reports/settings', { schema: { tags, summary: 'Callback report settings and the latest reports', response: { 200: SettingsOut } } }, async (req) =>
      settingsJson(req.principal.accountId),
    );

    app.put(
      '/reports/settings',
      {
        schema: {
          tags,
          summary: 'Daily, weekly or monthly e-mail with delivered and failed callbacks (empty emails: the admin e-mail); off stops it',
          body: SettingsBody,
          response: { 200: SettingsOut, 422: ErrorBody },
        },
      },
      async (req) => {
        const accountId = req.principal.accountId;
        const { frequency, emails } = req.body;
        const now = deps.clock.now();
        const current = await findAccountSettings(db, accountId);
        // The first report covers the period in progress; unchanged frequency keeps the schedule.
        const keep = current && current.report_frequency === frequency;
        await upsertAccountSettings(
          db,
          accountId,
          {
            report_frequency: frequency,
            report_emails: JSON.stringify(emails ?? []),
            ...(keep ? {} : { report_next_at: frequency === 'off' ? null : periodStart(frequency, now) }),
          },
          now,
        );
        return settingsJson(accountId);
      },
    );
  };
}
