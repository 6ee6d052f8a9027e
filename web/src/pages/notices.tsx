/**
 * Notices: the log of every notice the relay sent (failure, recovery, disabled, alert, report) —
 * to whom, by which channel, when, and whether it went out — filtered by kind and callback,
 * newest first, in pages (GET /v1/notices).
 */
import { api, ok, type paths } from '../api/client';
import { ErrorNotice, SelectField } from '../components/form';
import { DataTable, Pager } from '../components/table';
import { Badge, Loading, PageHeader } from '../components/ui';
import { dateTime } from '../lib/format';
import { useLoad } from '../lib/use-load';
import { useCallbackTitles } from '../lib/callback-titles';
import { CallbackLink } from '../components/callback-link';
import { CallbackPicker } from '../components/callback-picker';
import { href, listFilters } from '../router';
import type { PageProps } from '../routes';

type Notice = paths['/v1/notices']['get']['responses'][200]['content']['application/json']['data'][number];
type Kind = NonNullable<paths['/v1/notices']['get']['parameters']['query']['kind']>;
const KINDS: Kind[] = ['failure', 'recovery', 'disabled', 'alert', 'report'];
const LIMIT = 25;

export function Notices({ query }: PageProps) {
  const { f, offset, setFilter, setOffset } = listFilters('/notices', query, ['kind', 'callback_id']);
  const list = useLoad(
    () => ok(api.GET('/v1/notices', { params: { query: { offset, limit: LIMIT, ...(f.kind && { kind: f.kind as Kind }), ...(f.callback_id && { callback_id: f.callback_id }) } } })),
    [query.toString()],
  );
  const titles = useCallbackTitles((list.data?.data ?? []).map((n) => n.callback_id));
  return (
    <section>
      <PageHeader title="Notices" />
      <form class="card filters" role="search" aria-label="Filter notices" onSubmit={(e) => e.preventDefault()}>
        <SelectField label="Kind" name="kind" value={f.kind} onValue={(kind) => setFilter({ kind })} options={[{ value: '', label: 'Any' }, ...KINDS]} />
        <CallbackPicker value={f.callback_id} onValue={(callback_id) => setFilter({ callback_id })} />
      </form>
      <ErrorNotice error={list.error} />
      {!list.data ? (
        list.loading && <Loading what="notices" />
      ) : (
        <>
          <DataTable<Notice>
            caption="Notices"
            rows={list.data.data}
            rowKey={(n) => n.id}
            empty="No notice sent yet."
            columns={[
              { header: 'Sent', cell: (n) => <span class="nowrap">{dateTime(n.created_at)}</span> },
              { header: 'Kind', cell: (n) => <Badge value={n.kind} /> },
              {
                header: 'To',
                cell: (n) => (
                  <>
                    {n.channel}
                    <span class="sub">{n.recipient ?? '—'}</span>
                  </>
                ),
              },
              {
                header: 'Notice',
                cell: (n) => (
                  <details>
                    <summary>{n.subject}</summary>
                    <pre>{n.body}</pre>
                  </details>
                ),
              },
              { header: 'Callback', cell: (n) => (n.callback_id ? <CallbackLink id={n.callback_id} title={titles[n.callback_id]} /> : '—') },
              {
                header: 'Outcome',
                class: 'outcome',
                cell: (n) => (
                  <>
                    <Badge value={n.delivered ? 'sent' : 'failed'} />
                    {n.error && <span class="sub">{n.error}</span>}
                  </>
                ),
              },
            ]}
          />
          <Pager total={list.data.total} offset={offset} limit={LIMIT} onOffset={setOffset} />
        </>
      )}
    </section>
  );
}
