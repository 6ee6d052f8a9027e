/**
 * Callbacks: Kaleyra's filters (title, HTTP method, created range) plus format, channel and enabled,
 * offset pages, and per row EngageLab's URL status with Refresh, and enable/disable.
 */
import { useState } from 'preact/hooks';
import { api, ok } from '../../api/client';
import { CreatedRange, ErrorNotice, SelectField, TextField } from '../../components/form';
import { DataTable, Pager } from '../../components/table';
import { Badge, Loading, PageHeader } from '../../components/ui';
import { useFormats } from '../../lib/catalogue';
import { dateTime } from '../../lib/format';
import { asFailure, useLoad } from '../../lib/use-load';
import type { ApiFailure } from '../../api/client';
import { href, listFilters } from '../../router';
import type { PageProps } from '../../routes';
import type { Callback } from './types';

const LIMIT = 20;
const METHODS = ['GET', 'POST', 'PUT', 'DELETE'];
const CHANNELS = ['sms', 'email', 'otp', 'whatsapp', 'system', 'none'];

export function CallbackList({ query }: PageProps) {
  const { f, offset, setFilter, setOffset } = listFilters('/callbacks', query, ['title', 'method', 'format', 'channel', 'enabled', 'created_after', 'created_before']);
  const formats = useFormats();
  const list = useLoad(
    () =>
      ok(
        api.GET('/v1/callbacks', {
          params: {
            query: {
              offset,
              limit: LIMIT,
              ...(f.title && { title: f.title }),
              ...(f.method && { method: f.method }),
              ...(f.format && { format: f.format }),
              ...(f.channel && { channel: f.channel }),
              ...(f.enabled && { enabled: f.enabled === 'true' }),
              ...(f.created_after && { created_after: f.created_after }),
              ...(f.created_before && { created_before: f.created_before }),
            },
          },
        }),
      ),
    [query.toString()],
  );
  const [rowError, setRowError] = useState<ApiFailure>();
  const [busy, setBusy] = useState<string>();

  const act = async (id: string, what: string, call: () => Promise<unknown>) => {
    setBusy(`${what}:${id}`);
    setRowError(undefined);
    try {
      await call();
      await list.reload();
    } catch (err) {
      setRowError(asFailure(err));
    } finally {
      setBusy(undefined);
    }
  };

  return (
    <section>
      <PageHeader title="Callbacks">
        <a class="button" href={href('/callbacks/new')}>
          New callback
        </a>
      </PageHeader>
      <form class="card filters" role="search" aria-label="Filter callbacks" onSubmit={(e) => e.preventDefault()}>
        <TextField label="Title" type="search" name="title" value={f.title} onValue={(title) => setFilter({ title })} placeholder="Contains…" />
        <SelectField label="HTTP method" name="method" value={f.method} onValue={(method) => setFilter({ method })} options={[{ value: '', label: 'Any' }, ...METHODS]} />
        <SelectField
          label="Format"
          name="format"
          value={f.format}
          onValue={(format) => setFilter({ format })}
          options={[{ value: '', label: 'Any' }, ...(formats.data?.data ?? []).map((m) => ({ value: m.name, label: m.label }))]}
        />
        <SelectField label="Channel" name="channel" value={f.channel} onValue={(channel) => setFilter({ channel })} options={[{ value: '', label: 'Any' }, ...CHANNELS]} />
        <SelectField
          label="Enabled"
          name="enabled"
          value={f.enabled}
          onValue={(enabled) => setFilter({ enabled })}
          options={[
            { value: '', label: 'Any' },
            { value: 'true', label: 'Enabled' },
            { value: 'false', label: 'Disabled' },
          ]}
        />
        <CreatedRange after={f.created_after} before={f.created_before} onFilter={setFilter} />
      </form>
      <ErrorNotice error={list.error ?? rowError} />
      {!list.data ? (
        list.loading && <Loading what="callbacks" />
      ) : (
        <>
          <DataTable<Callback>
            caption="Callbacks"
            rows={list.data.data}
            rowKey={(c) => c.id}
            empty="No callback matches."
            columns={[
              {
                header: 'Title',
                cell: (c) => (
                  <>
                    <a href={href(`/callbacks/${c.id}`)}>{c.title}</a>
                    <span class="sub mono">{c.id}</span>
                  </>
                ),
              },
              { header: 'Format', cell: (c) => c.format },
              { header: 'Method', cell: (c) => c.method },
              { header: 'URL', cell: (c) => <span class="mono url">{c.url}</span> },
              {
                header: 'Status',
                cell: (c) => (
                  <div class="status-cell">
                    <Badge value={c.status} title={c.status_reason ?? undefined} />
                    <span class="sub">{c.status_checked_at ? `checked ${dateTime(c.status_checked_at)}` : 'never checked'}</span>
                    {c.status_reason && <span class="sub">{c.status_reason}</span>}
                    <button
                      type="button"
                      class="secondary small"
                      aria-label={`Refresh status of ${c.title}`}
                      disabled={busy === `refresh:${c.id}`}
                      onClick={() => act(c.id, 'refresh', () => ok(api.POST('/v1/callbacks/{id}/refresh', { params: { path: { id: c.id } } })))}
                    >
                      {busy === `refresh:${c.id}` ? 'Checking…' : 'Refresh'}
                    </button>
                  </div>
                ),
              },
              {
                header: 'Enabled',
                cell: (c) => (
                  <div class="status-cell">
                    <Badge value={c.enabled ? 'enabled' : 'disabled'} title={c.disabled_reason ?? undefined} />
                    <button
                      type="button"
                      class="secondary small"
                      aria-label={`${c.enabled ? 'Disable' : 'Enable'} ${c.title}`}
                      disabled={busy === `toggle:${c.id}`}
                      onClick={() =>
                        act(c.id, 'toggle', () =>
                          c.enabled
                            ? ok(api.POST('/v1/callbacks/{id}/disable', { params: { path: { id: c.id } } }))
                            : ok(api.POST('/v1/callbacks/{id}/enable', { params: { path: { id: c.id } } })),
                        )
                      }
                    >
                      {c.enabled ? 'Disable' : 'Enable'}
                    </button>
                  </div>
                ),
              },
              { header: 'Created', cell: (c) => <span class="nowrap">{dateTime(c.created_at)}</span> },
            ]}
          />
          <Pager total={list.data.total} offset={list.data.offset} limit={list.data.limit} onOffset={setOffset} />
        </>
      )}
    </section>
  );
}
