/**
 * Settings: the account's notice targets (admin e-mail, Telegram chats and bot, Slack, webhooks) and
 * retention (GET/PATCH /v1/account); Kaleyra's Callback Report — daily, weekly, monthly or off, to
 * whom, the next period and the last runs (GET/PUT /v1/reports/settings); and the account's api
 * users: list, create (the key shown once), rotate a key, revoke (/v1/api-users).
 */
import { useState } from 'preact/hooks';
import { api, ok, type ApiFailure, type paths } from '../api/client';
import { ErrorNotice, SelectField, TextField, errorFor } from '../components/form';
import { DataTable, Pager } from '../components/table';
import { FreshSecrets, TargetsField, WebhookSecrets, targetsToSend, type TargetRow } from '../components/targets';
import { Badge, ConfirmButton, CopyButton, Loading, PageHeader } from '../components/ui';
import { dateTime } from '../lib/format';
import { asFailure, useLoad } from '../lib/use-load';
import { useSession } from '../session';
import type { PageProps } from '../routes';

type Account = paths['/v1/account']['get']['responses'][200]['content']['application/json'];
type Reports = paths['/v1/reports/settings']['get']['responses'][200]['content']['application/json'];
type Frequency = NonNullable<paths['/v1/reports/settings']['put']['requestBody']>['content']['application/json']['frequency'];
type ApiUser = paths['/v1/api-users']['get']['responses'][200]['content']['application/json']['data'][number];

export function Settings(_: PageProps) {
  return (
    <section>
      <PageHeader title="Settings" />
      <AccountCard />
      <ReportsCard />
      <ApiUsersCard />
    </section>
  );
}

/** "a@x, b@y" ↔ ["a@x", "b@y"] (commas, spaces or new lines between). */
const splitList = (v: string) => v.split(/[\s,;]+/).filter(Boolean);

/**
 * A card whose form starts from loaded data: until the data is there, its title, the load's error or
 * "Loading". The form itself mounts with the data and starts its fields from it (useState
 * initialisers), so nothing fills them in later over what the user has begun to type.
 */
function LoadingCard({ id, title, error, loading, what }: { id: string; title: string; error: ApiFailure | undefined; loading: boolean; what: string }) {
  return (
    <section class="card" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      <ErrorNotice error={error} />
      {loading && <Loading what={what} />}
    </section>
  );
}

const targetRows = (a: Account): TargetRow[] => a.targets.map((t) => ({ channel: t.channel, address: t.address }));
const retentionText = (a: Account) => (a.retention_days === null ? '' : String(a.retention_days));

function AccountCard() {
  const account = useLoad(() => ok(api.GET('/v1/account')), []);
  if (!account.data) return <LoadingCard id="account-title" title="Account and notices" error={account.error} loading={account.loading} what="the account" />;
  return <AccountForm account={account.data} reload={account.reload} loadError={account.error} />;
}

function AccountForm({ account, reload, loadError }: { account: Account; reload: () => Promise<unknown>; loadError: ApiFailure | undefined }) {
  const [email, setEmail] = useState(account.admin_email ?? '');
  const [targets, setTargets] = useState(() => targetRows(account));
  const [token, setToken] = useState('');
  const [retention, setRetention] = useState(retentionText(account));
  const [failure, setFailure] = useState<ApiFailure>();
  const [saved, setSaved] = useState<Account>();
  const [busy, setBusy] = useState(false);
  /** After a save: the fields show what the relay stored. */
  const fill = (a: Account) => {
    setEmail(a.admin_email ?? '');
    setTargets(targetRows(a));
    setRetention(retentionText(a));
    setToken('');
  };

  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setFailure(undefined);
    setSaved(undefined);
    try {
      const a = await ok(
        api.PATCH('/v1/account', {
          body: {
            admin_email: email.trim() || null,
            targets: targetsToSend(targets),
            retention_days: retention.trim() === '' ? null : Number(retention),
            ...(token.trim() && { telegram_bot_token: token.trim() }),
          },
        }),
      );
      fill(a);
      setSaved(a);
    } catch (err) {
      setFailure(asFailure(err));
    } finally {
      setBusy(false);
    }
  };
  const removeToken = async () => {
    setFailure(undefined);
    try {
      const a = await ok(api.PATCH('/v1/account', { body: { telegram_bot_token: null } }));
      setSaved(a);
      await reload();
    } catch (err) {
      setFailure(asFailure(err));
    }
  };
  const a = saved ?? account;

  return (
    <form class="card" aria-labelledby="account-title" onSubmit={save} noValidate>
      <h2 id="account-title">Account and notices</h2>
      <ErrorNotice error={loadError ?? failure} />
        <>
          <p class="help">
            Account <span class="mono">{a.id}</span> ({a.name}). Callback failures, alerts and reports go to these targets unless a callback or rule names its own.
          </p>
          <div class="form-grid">
            <TextField label="Admin e-mail" type="email" name="admin_email" value={email} onValue={setEmail} help="Default recipient of notices and reports" error={errorFor(failure, 'admin_email')} />
            <TextField
              label="Telegram bot token"
              type="password"
              name="telegram_bot_token"
              autoComplete="off"
              value={token}
              onValue={setToken}
              placeholder={a.telegram_bot_token_set ? '•••••• (set: type to replace)' : 'not set'}
              help={a.telegram_bot_token_set ? 'A token is set; it is never shown again.' : 'The bot that sends to the Telegram targets (write-only).'}
              error={errorFor(failure, 'telegram_bot_token')}
            />
            <TextField
              label="Retention (days)"
              type="number"
              name="retention_days"
              value={retention}
              onValue={setRetention}
              help="Finished deliveries and their events are kept this long; 0: forever; empty: the relay's default"
              error={errorFor(failure, 'retention_days')}
            />
          </div>
          <TargetsField
            label="Notice targets"
            rows={targets}
            onRows={setTargets}
            help="E-mail addresses, Telegram chats (a number, or @channel), Slack incoming webhooks, signed webhooks"
            error={errorFor(failure, 'targets') ?? errorFor(failure, 'telegram_chat_ids')}
          />
          <WebhookSecrets targets={a.targets} />
          <div class="actions">
            <button type="submit" class="primary" disabled={busy}>
              Save account
            </button>
            {a.telegram_bot_token_set && <ConfirmButton label="Remove bot token" question="Remove the Telegram bot token? Telegram notices stop until a new one is set." confirmLabel="Remove token" onConfirm={removeToken} />}
          </div>
          {saved && (
            <div class="notice success" role="status">
              Account saved.
            </div>
          )}
          <FreshSecrets targets={saved?.targets} />
        </>
    </form>
  );
}

const FREQUENCIES: { value: Frequency; label: string }[] = [
  { value: 'off', label: 'Off' },
  { value: 'daily', label: 'Daily' },
  { value: 'weekly', label: 'Weekly' },
  { value: 'monthly', label: 'Monthly' },
];

function ReportsCard() {
  const reports = useLoad(() => ok(api.GET('/v1/reports/settings')), []);
  if (!reports.data) return <LoadingCard id="reports-title" title="Callback reports" error={reports.error} loading={reports.loading} what="the report settings" />;
  return <ReportsForm reports={reports.data} loadError={reports.error} />;
}

function ReportsForm({ reports, loadError }: { reports: Reports; loadError: ApiFailure | undefined }) {
  const [frequency, setFrequency] = useState(reports.frequency as Frequency);
  const [emails, setEmails] = useState(reports.emails.join(', '));
  const [failure, setFailure] = useState<ApiFailure>();
  const [saved, setSaved] = useState<Reports>();
  const [busy, setBusy] = useState(false);

  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setFailure(undefined);
    try {
      const r = await ok(api.PUT('/v1/reports/settings', { body: { frequency, emails: splitList(emails) } }));
      setSaved(r);
      setFrequency(r.frequency as Frequency);
      setEmails(r.emails.join(', '));
    } catch (err) {
      setFailure(asFailure(err));
    } finally {
      setBusy(false);
    }
  };
  const r = saved ?? reports;

  return (
    <form class="card" aria-labelledby="reports-title" onSubmit={save} noValidate>
      <h2 id="reports-title">Callback reports</h2>
      <p class="help">An e-mail per period with the callbacks delivered and failed in it.</p>
      <ErrorNotice error={loadError ?? (failure && !failure.field ? failure : undefined)} />
        <>
          <div class="form-grid">
            <SelectField label="Report frequency" name="frequency" value={frequency} onValue={(v) => setFrequency(v as Frequency)} options={FREQUENCIES} error={errorFor(failure, 'frequency')} />
            <TextField
              label="Report recipients"
              name="emails"
              value={emails}
              onValue={setEmails}
              placeholder="ops@example.com, cto@example.com"
              help="E-mail addresses, separated by commas; empty: the admin e-mail"
              error={errorFor(failure, 'emails')}
            />
          </div>
          <div class="actions">
            <button type="submit" class="primary" disabled={busy}>
              Save report schedule
            </button>
            <span class="help">
              {r.frequency === 'off' ? 'No report is sent.' : `Next report: the period from ${dateTime(r.next_period_start)}.`}
            </span>
          </div>
          {saved && (
            <div class="notice success" role="status">
              Report schedule saved: {saved.frequency}.
            </div>
          )}
          <h3>Last runs</h3>
          <DataTable<Reports['runs'][number]>
            caption="Last report runs"
            rows={r.runs}
            rowKey={(x) => `${x.frequency}:${x.period_start}`}
            empty="No report sent yet."
            columns={[
              { header: 'Frequency', cell: (x) => x.frequency },
              { header: 'Period', cell: (x) => `${dateTime(x.period_start)} – ${dateTime(x.period_end)}` },
              { header: 'State', cell: (x) => <Badge value={x.state} /> },
              { header: 'Error', cell: (x) => x.error ?? '—' },
            ]}
          />
        </>
    </form>
  );
}

const USERS_LIMIT = 20;

function ApiUsersCard() {
  const session = useSession();
  const [offset, setOffset] = useState(0);
  const users = useLoad(() => ok(api.GET('/v1/api-users', { params: { query: { offset, limit: USERS_LIMIT } } })), [offset]);
  const [name, setName] = useState('');
  const [failure, setFailure] = useState<ApiFailure>();
  const [shown, setShown] = useState<{ name: string; api_key: string; what: string }>();
  const [done, setDone] = useState<string>();
  const [busy, setBusy] = useState(false);

  const run = async (what: string, call: () => Promise<{ name: string; api_key: string } | void>) => {
    setFailure(undefined);
    setShown(undefined);
    setDone(undefined);
    try {
      const r = await call();
      if (r) setShown({ ...r, what });
      else setDone(what);
      await users.reload();
    } catch (err) {
      setFailure(asFailure(err));
    }
  };
  const create = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    await run('created', async () => {
      const r = await ok(api.POST('/v1/api-users', { body: { name: name.trim() } }));
      setName('');
      return r;
    });
    setBusy(false);
  };

  return (
    <div class="card" role="region" aria-labelledby="api-users-title">
      <h2 id="api-users-title">API users and keys</h2>
      <p class="help">Each api user signs in here and calls the API with Basic auth. Revoking one, or rotating its key, ends its sessions.</p>
      <ErrorNotice error={users.error ?? (failure && !failure.field ? failure : undefined)} />
      {shown && (
        <div class="notice info" role="status">
          <p>
            API user <strong>{shown.name}</strong> {shown.what}. Its key is shown this once: keep it now.
          </p>
          <p class="secret">
            <code aria-label="New API key">{shown.api_key}</code>
            <CopyButton text={shown.api_key} label="Copy key" />
          </p>
        </div>
      )}
      {done && (
        <div class="notice success" role="status">
          {done}
        </div>
      )}
      <form class="inline-form" aria-label="Create an api user" onSubmit={create} noValidate>
        <TextField label="New api user name" name="name" value={name} onValue={setName} help="1-64 of A-Z a-z 0-9 . _ @ -" error={errorFor(failure, 'name')} />
        <button type="submit" class="primary" disabled={busy || name.trim() === ''}>
          Create api user
        </button>
      </form>
      {!users.data ? (
        users.loading && <Loading what="api users" />
      ) : (
        <>
          <DataTable<ApiUser>
            caption="API users"
            rows={users.data.data}
            rowKey={(u) => u.name}
            empty="No api user."
            columns={[
              {
                header: 'Name',
                cell: (u) => (
                  <>
                    <span class="mono">{u.name}</span>
                    {u.name === session?.api_user && <span class="sub">you</span>}
                  </>
                ),
              },
              { header: 'Created', cell: (u) => <span class="nowrap">{dateTime(u.created_at)}</span> },
              { header: 'Last sign-in', cell: (u) => <span class="nowrap">{dateTime(u.last_used_at)}</span> },
              { header: 'State', cell: (u) => (u.revoked_at ? <Badge value="revoked" title={`revoked ${dateTime(u.revoked_at)}`} /> : <Badge value="active" />) },
              {
                header: 'Actions',
                cell: (u) =>
                  u.revoked_at || u.name === session?.api_user ? null : (
                    <div class="actions">
                      <ConfirmButton
                        label={`Rotate key of ${u.name}`}
                        small
                        question={`Give ${u.name} a new key? The old key stops working at once and its sessions end.`}
                        confirmLabel="Rotate key"
                        onConfirm={() => run('has a new key', () => ok(api.POST('/v1/api-users/{name}/rotate-key', { params: { path: { name: u.name } } })))}
                      />
                      <ConfirmButton
                        label={`Revoke ${u.name}`}
                        danger
                        small
                        question={`Revoke ${u.name}? Its key stops working at once and its sessions end. This cannot be undone.`}
                        confirmLabel="Revoke"
                        onConfirm={() => run(`${u.name} is revoked: its key no longer works.`, async () => void (await ok(api.DELETE('/v1/api-users/{name}', { params: { path: { name: u.name } } }))))}
                      />
                    </div>
                  ),
              },
            ]}
          />
          <Pager total={users.data.total} offset={offset} limit={USERS_LIMIT} onOffset={setOffset} />
        </>
      )}
    </div>
  );
}
