/**
 * One callback: its settings and URL status, secret (reveal, rotate), failure-notice targets with
 * the failure episode and circuit state, Recover since a time, its latest deliveries, Test,
 * enable/disable and delete.
 */
import { useState } from 'preact/hooks';
import { api, ok, type ApiFailure } from '../../api/client';
import type { DeliveryPage, DeliveryRow } from '../../api/pending';
import { ErrorNotice, TextField, errorFor } from '../../components/form';
import { DataTable } from '../../components/table';
import { Badge, ConfirmButton, CopyButton, Loading, PageHeader } from '../../components/ui';
import { useFormats } from '../../lib/catalogue';
import { ago, dateTime, fromLocalInput, toLocalInput } from '../../lib/format';
import { asFailure, useLoad } from '../../lib/use-load';
import { href, navigate } from '../../router';
import type { PageProps } from '../../routes';
import { TestResultView } from './test-result';
import type { Callback, TestResult } from './types';

export function CallbackDetail({ params }: PageProps) {
  const id = params.id!;
  const cb = useLoad(() => ok(api.GET('/v1/callbacks/{id}', { params: { path: { id } } })), [id]);
  const formats = useFormats();
  const [failure, setFailure] = useState<ApiFailure>();
  const [busy, setBusy] = useState<string>();
  const [result, setResult] = useState<TestResult>();

  const act = async (what: string, call: () => Promise<unknown>) => {
    setBusy(what);
    setFailure(undefined);
    try {
      await call();
      await cb.reload();
    } catch (err) {
      setFailure(asFailure(err));
    } finally {
      setBusy(undefined);
    }
  };

  if (cb.error && !cb.data) return <ErrorNotice error={cb.error} />;
  if (!cb.data) return <Loading what="the callback" />;
  const c = cb.data;
  const path = { params: { path: { id } } };
  const secretKind = formats.data?.data.find((m) => m.name === c.format)?.secret;

  return (
    <section>
      <PageHeader title={c.title}>
        <a class="button secondary-link" href={href(`/callbacks/${id}/edit`)}>
          Edit
        </a>
        <button type="button" class="secondary" disabled={busy !== undefined} onClick={() => act('test', async () => setResult(await ok(api.POST('/v1/callbacks/{id}/test', path))))}>
          {busy === 'test' ? 'Testing…' : 'Test'}
        </button>
        <button
          type="button"
          class="secondary"
          disabled={busy !== undefined}
          onClick={() => act('toggle', () => (c.enabled ? ok(api.POST('/v1/callbacks/{id}/disable', path)) : ok(api.POST('/v1/callbacks/{id}/enable', path))))}
        >
          {c.enabled ? 'Disable' : 'Enable'}
        </button>
        <ConfirmButton
          label="Delete"
          danger
          question={
            <>
              Delete <strong>{c.title}</strong>? Its owed deliveries are dropped and its id stops working.
            </>
          }
          confirmLabel="Delete callback"
          onConfirm={() =>
            act('delete', async () => {
              await ok(api.DELETE('/v1/callbacks/{id}', path));
              navigate('/callbacks');
            })
          }
        />
      </PageHeader>
      <ErrorNotice error={failure} />
      {result && <TestResultView result={result} />}
      <div class="two-col">
        <div>
          <Settings c={c} onRefresh={() => act('refresh', () => ok(api.POST('/v1/callbacks/{id}/refresh', path)))} refreshing={busy === 'refresh'} />
          <Deliveries id={id} />
        </div>
        <div>
          {secretKind && secretKind !== 'none' && <Secret id={id} kind={secretKind} />}
          <Notifications id={id} />
          <Recover id={id} />
        </div>
      </div>
    </section>
  );
}

function Settings({ c, onRefresh, refreshing }: { c: Callback; onRefresh: () => void; refreshing: boolean }) {
  const settings = Object.entries(c.settings ?? {});
  return (
    <div class="card">
      <h2>Settings</h2>
      <dl class="props">
        <dt>Id</dt>
        <dd>
          <code>{c.id}</code> <CopyButton text={c.id} label="Copy id" />
        </dd>
        <dt>Format</dt>
        <dd>{c.format}</dd>
        <dt>URL</dt>
        <dd class="mono url">
          {c.method} {c.url}
        </dd>
        <dt>Status</dt>
        <dd>
          <Badge value={c.status} /> {c.status_checked_at ? `checked ${dateTime(c.status_checked_at)}` : 'never checked'}
          {c.status_reason && <span class="sub">{c.status_reason}</span>}{' '}
          <button type="button" class="secondary small" onClick={onRefresh} disabled={refreshing}>
            {refreshing ? 'Checking…' : 'Refresh'}
          </button>
        </dd>
        <dt>Enabled</dt>
        <dd>
          <Badge value={c.enabled ? 'enabled' : 'disabled'} /> {c.disabled_reason}
        </dd>
        <dt>Events</dt>
        <dd>{c.events.length ? c.events.map((e) => <code class="tag">{e}</code>) : 'every event the format carries'}</dd>
        <dt>Timeout</dt>
        <dd>{c.timeout} s</dd>
        {c.api_user && (
          <>
            <dt>API user</dt>
            <dd>{c.api_user}</dd>
          </>
        )}
        {Object.keys(c.headers).length > 0 && (
          <>
            <dt>Headers</dt>
            <dd class="mono">
              {Object.entries(c.headers).map(([k, v]) => (
                <div>
                  {k}: {v}
                </div>
              ))}
            </dd>
          </>
        )}
        {settings.map(([k, v]) => (
          <>
            <dt>{k}</dt>
            <dd class="mono">{typeof v === 'string' ? v : JSON.stringify(v)}</dd>
          </>
        ))}
        <dt>Created</dt>
        <dd>{dateTime(c.created_at)}</dd>
        <dt>Updated</dt>
        <dd>{dateTime(c.updated_at)}</dd>
      </dl>
    </div>
  );
}

function Secret({ id, kind }: { id: string; kind: string }) {
  const [shown, setShown] = useState<{ secret: string; previous?: string | null; until?: string | null }>();
  const [failure, setFailure] = useState<ApiFailure>();
  const path = { params: { path: { id } } };
  if (kind !== 'readable') {
    return (
      <div class="card">
        <h2>Secret</h2>
        <p class="help">This format's secret is write-only: it is never shown; set a new one with Edit.</p>
      </div>
    );
  }
  return (
    <div class="card">
      <h2>Signing secret</h2>
      <ErrorNotice error={failure} />
      {shown ? (
        <>
          <p class="secret">
            <code>{shown.secret}</code> <CopyButton text={shown.secret} label="Copy secret" />
          </p>
          {shown.previous && <p class="help">The previous secret keeps signing until {dateTime(shown.until)}.</p>}
          {!shown.previous && shown.until && <p class="help">The previous secret keeps signing until {dateTime(shown.until)}.</p>}
        </>
      ) : (
        <p class="help">Hidden. Reveal it to configure your receiver's signature check.</p>
      )}
      <div class="actions">
        {!shown && (
          <button
            type="button"
            class="secondary"
            onClick={async () => {
              try {
                const s = await ok(api.GET('/v1/callbacks/{id}/secret', path));
                setShown({ secret: s.secret, previous: s.previous_secret, until: s.previous_secret_expires_at });
              } catch (err) {
                setFailure(asFailure(err));
              }
            }}
          >
            Reveal secret
          </button>
        )}
        <ConfirmButton
          label="Rotate secret"
          question="Make a new signing secret? The old one keeps signing beside it for 24 hours, so receivers can switch."
          confirmLabel="Rotate"
          onConfirm={async () => {
            try {
              const s = await ok(api.POST('/v1/callbacks/{id}/rotate-secret', { ...path, body: {} }));
              setShown({ secret: s.secret, until: s.previous_secret_expires_at });
            } catch (err) {
              setFailure(asFailure(err));
            }
          }}
        />
      </div>
    </div>
  );
}

function Notifications({ id }: { id: string }) {
  const n = useLoad(() => ok(api.GET('/v1/callbacks/{id}/notifications', { params: { path: { id } } })), [id]);
  const [emails, setEmails] = useState<string>();
  const [chats, setChats] = useState<string>();
  const [failure, setFailure] = useState<ApiFailure>();
  const [saved, setSaved] = useState(false);
  if (!n.data) return n.error ? <ErrorNotice error={n.error} /> : <Loading what="notification targets" />;
  const h = n.data.health;
  const circuitOpen = h.circuit_open_until !== null && new Date(h.circuit_open_until).getTime() > Date.now();
  const list = (s: string) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  return (
    <div class="card">
      <h2>Failures and notices</h2>
      <dl class="props">
        <dt>Circuit</dt>
        <dd>{circuitOpen ? <Badge value="open" title={`until ${dateTime(h.circuit_open_until)}`} /> : <Badge value="closed" />} {circuitOpen && `until ${dateTime(h.circuit_open_until)}`}</dd>
        <dt>Failing since</dt>
        <dd>{h.failing_since ? `${dateTime(h.failing_since)} (${ago(h.failing_since)})` : 'not failing'}</dd>
        <dt>Last error</dt>
        <dd>{h.last_error ?? '—'}</dd>
        <dt>Last success</dt>
        <dd>{dateTime(h.last_success_at)}</dd>
        <dt>Exhausted</dt>
        <dd>{h.exhausted_count} deliveries gave up</dd>
        <dt>Targets</dt>
        <dd>
          {n.data.targets.length === 0
            ? "none: the account's admin e-mail"
            : n.data.targets.map((t) => (
                <div>
                  {t.channel}: <span class="mono">{t.address}</span>
                </div>
              ))}
        </dd>
      </dl>
      <form
        class="targets"
        onSubmit={async (e) => {
          e.preventDefault();
          setFailure(undefined);
          setSaved(false);
          try {
            await ok(
              api.PUT('/v1/callbacks/{id}/notifications', {
                params: { path: { id } },
                body: { emails: list(emails ?? n.data!.emails.join(', ')), telegram_chat_ids: list(chats ?? n.data!.telegram_chat_ids.join(', ')) },
              }),
            );
            setSaved(true);
            await n.reload();
          } catch (err) {
            setFailure(asFailure(err));
          }
        }}
      >
        <TextField
          label="Notice e-mails"
          name="emails"
          value={emails ?? n.data.emails.join(', ')}
          onValue={setEmails}
          help="Comma separated; empty: the account's admin e-mail"
          error={errorFor(failure, 'emails')}
        />
        <TextField
          label="Telegram chat ids"
          name="telegram_chat_ids"
          value={chats ?? n.data.telegram_chat_ids.join(', ')}
          onValue={setChats}
          help="Numbers or @channelname, comma separated"
          error={errorFor(failure, 'telegram_chat_ids')}
        />
        {failure && !failure.field && <ErrorNotice error={failure} />}
        <div class="actions">
          <button type="submit" class="secondary">
            Save targets
          </button>
          {saved && <span role="status">Saved.</span>}
        </div>
      </form>
    </div>
  );
}

function Recover({ id }: { id: string }) {
  const [since, setSince] = useState(() => toLocalInput(new Date(Date.now() - 24 * 3600_000).toISOString()));
  const [failure, setFailure] = useState<ApiFailure>();
  const [done, setDone] = useState<number>();
  return (
    <form
      class="card"
      onSubmit={async (e) => {
        e.preventDefault();
        setFailure(undefined);
        setDone(undefined);
        try {
          const r = await ok(api.POST('/v1/callbacks/{id}/recover', { params: { path: { id } }, body: { since: fromLocalInput(since) ?? '' } }));
          setDone(r.requeued);
        } catch (err) {
          setFailure(asFailure(err));
        }
      }}
    >
      <h2>Recover</h2>
      <p class="help">Send again every failed delivery of this callback created since a time.</p>
      <TextField label="Since (UTC)" type="datetime-local" name="since" value={since} onValue={setSince} error={errorFor(failure, 'since')} />
      {failure && !failure.field && <ErrorNotice error={failure} />}
      <div class="actions">
        <button type="submit" class="primary">
          Recover
        </button>
        {done !== undefined && (
          <span role="status">
            Re-queued {done} {done === 1 ? 'delivery' : 'deliveries'}.
          </span>
        )}
      </div>
    </form>
  );
}

function Deliveries({ id }: { id: string }) {
  const list = useLoad(async () => (await ok(api.GET('/v1/deliveries', { params: { query: { offset: 0, limit: 10, callback_id: id } } }))) as unknown as DeliveryPage, [id]);
  return (
    <div class="card">
      <h2>
        Latest deliveries <a class="help" href={href('/deliveries', { callback_id: id })}>all of them</a>
      </h2>
      <ErrorNotice error={list.error} />
      {list.data ? (
        <DataTable<DeliveryRow>
          caption="Latest deliveries"
          rows={list.data.data}
          rowKey={(d) => d.id}
          empty="No delivery yet."
          columns={[
            { header: 'Id', cell: (d) => <a href={href(`/deliveries/${d.id}`)}>{d.id}</a> },
            { header: 'Event', cell: (d) => <span class="mono">{d.event_type}</span> },
            { header: 'State', cell: (d) => <Badge value={d.in_flight ? 'in flight' : d.state} /> },
            { header: 'Attempts', cell: (d) => d.attempts, class: 'num' },
            { header: 'Last', cell: (d) => (d.last_status ? `HTTP ${d.last_status}` : (d.last_error ?? '—')) },
            { header: 'Created', cell: (d) => <span class="nowrap">{dateTime(d.created_at)}</span> },
          ]}
        />
      ) : (
        <Loading what="deliveries" />
      )}
    </div>
  );
}
