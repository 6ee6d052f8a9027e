/**
 * Deliveries: every delivery of the account, newest first, filtered by state, event type, callback and
 * creation time (kept in the query string), refreshed live while the page is visible; Retry one, or
 * every failed delivery the filters match (POST /v1/deliveries/retry) after a confirmation naming
 * how many.
 */
import { useState } from 'preact/hooks';
import { api, ok, type ApiFailure } from '../api/client';
import { untyped, type Delivery, type DeliveryPage } from '../api/shapes';
import { CreatedRange, CheckboxField, ErrorNotice, SelectField } from '../components/form';
import { DataTable, Pager } from '../components/table';
import { Badge, ConfirmButton, Loading, PageHeader } from '../components/ui';
import { useEventTypes } from '../lib/catalogue';
import { ago, dateTime } from '../lib/format';
import { usePoll } from '../lib/use-poll';
import { useCallbackTitles } from '../lib/callback-titles';
import { CallbackLink } from '../components/callback-link';
import { CallbackPicker } from '../components/callback-picker';
import { asFailure, useLoad } from '../lib/use-load';
import { href, listFilters } from '../router';
import type { PageProps } from '../routes';

const LIMIT = 25;
const STATES = ['pending', 'delivered', 'failed', 'held'] as const;
/** Seconds between two refreshes while Live refresh is on. */
export const LIVE_SECONDS = 3;

export function Deliveries({ query }: PageProps) {
  const filters = listFilters('/deliveries', query, ['state', 'event_type', 'callback_id', 'created_after', 'created_before', 'live']);
  const { f, offset, setOffset } = filters;
  const live = f.live !== 'off';
  const matching = {
    ...(f.event_type && { event_type: f.event_type }),
    ...(f.callback_id && { callback_id: f.callback_id }),
    ...(f.created_after && { created_after: f.created_after }),
    ...(f.created_before && { created_before: f.created_before }),
  };
  const types = useEventTypes();
  const list = useLoad(
    () => ok(untyped<DeliveryPage>(api.GET('/v1/deliveries', { params: { query: { offset, limit: LIMIT, ...matching, ...(f.state && { state: f.state as Delivery['state'] }) } } }))),
    [query.toString()],
  );
  // How many "Retry all failed" would retry: the failed ones matching every filter but the state.
  const failed = useLoad(() => ok(untyped<DeliveryPage>(api.GET('/v1/deliveries', { params: { query: { offset: 0, limit: 1, ...matching, state: 'failed' } } }))), [query.toString()]);
  usePoll(() => Promise.all([list.reload(), failed.reload()]), LIVE_SECONDS * 1000, live);

  const [failure, setFailure] = useState<ApiFailure>();
  const [done, setDone] = useState<string>();
  const [busy, setBusy] = useState<number>();
  const setFilter: typeof filters.setFilter = (patch) => {
    setDone(undefined);
    filters.setFilter(patch);
  };

  const retryOne = async (d: Delivery) => {
    setBusy(d.id);
    setFailure(undefined);
    setDone(undefined);
    try {
      await ok(untyped<Delivery>(api.POST('/v1/deliveries/{id}/retry', { params: { path: { id: String(d.id) } } })));
      setDone(`Delivery ${d.id} is due again now.`);
      await Promise.all([list.reload(), failed.reload()]);
    } catch (err) {
      setFailure(asFailure(err));
    } finally {
      setBusy(undefined);
    }
  };
  const retryAll = async () => {
    setFailure(undefined);
    setDone(undefined);
    try {
      const r = await ok(api.POST('/v1/deliveries/retry', { body: matching }));
      setDone(`${r.retried} failed ${r.retried === 1 ? 'delivery is' : 'deliveries are'} due again now.`);
      await Promise.all([list.reload(), failed.reload()]);
    } catch (err) {
      setFailure(asFailure(err));
    }
  };
  const failedCount = failed.data?.total ?? 0;
  // Past 10,000 the API counts no further (total_exact false): say "10,000+".
  const failedWord = failed.data?.total_exact === false ? `${failedCount.toLocaleString('en')}+` : String(failedCount);
  const titles = useCallbackTitles((list.data?.data ?? []).map((d) => d.callback_id));

  return (
    <section>
      <PageHeader title="Deliveries">
        <ConfirmButton
          label="Retry all failed"
          disabled={failedCount === 0}
          question={
            <>
              Retry {failedWord} failed {failedCount === 1 ? 'delivery' : 'deliveries'}
              {Object.keys(matching).length > 0 ? ' matching these filters' : ''}? Each is attempted again now.
            </>
          }
          confirmLabel={`Retry ${failedWord}`}
          onConfirm={retryAll}
        />
      </PageHeader>
      <form class="card filters" role="search" aria-label="Filter deliveries" onSubmit={(e) => e.preventDefault()}>
        <SelectField label="State" name="state" value={f.state} onValue={(state) => setFilter({ state })} options={[{ value: '', label: 'Any' }, ...STATES]} />
        <SelectField
          label="Event type"
          name="event_type"
          value={f.event_type}
          onValue={(event_type) => setFilter({ event_type })}
          options={[{ value: '', label: 'Any' }, ...(types.data ?? []).map((t) => t.name)]}
        />
        <CallbackPicker value={f.callback_id} onValue={(callback_id) => setFilter({ callback_id })} />
        <CreatedRange after={f.created_after} before={f.created_before} onFilter={setFilter} />
        <CheckboxField label="Live refresh" help={`Every ${LIVE_SECONDS} s while this page is visible`} checked={live} onValue={(on) => setFilter({ live: on ? undefined : 'off' })} />
      </form>
      <ErrorNotice error={list.error ?? failure} />
      {done && (
        <div class="notice success" role="status">
          {done}
        </div>
      )}
      {!list.data ? (
        list.loading && <Loading what="deliveries" />
      ) : (
        <>
          <DataTable<Delivery>
            caption="Deliveries"
            rows={list.data.data}
            rowKey={(d) => d.id}
            empty="No delivery matches."
            columns={[
              { header: 'Delivery', cell: (d) => <a href={href(`/deliveries/${d.id}`)}>#{d.id}</a> },
              {
                header: 'Event',
                cell: (d) => (
                  <>
                    <a href={href(`/events/${d.event_id}`)}>{d.event_type}</a>
                    <span class="sub mono">{d.event_id}</span>
                  </>
                ),
              },
              { header: 'Callback', cell: (d) => <CallbackLink id={d.callback_id} title={titles[d.callback_id]} /> },
              { header: 'State', cell: (d) => <DeliveryState d={d} /> },
              { header: 'Attempts', class: 'num', cell: (d) => d.attempts },
              {
                header: 'Last answer',
                cell: (d) => (
                  <>
                    {d.last_status !== null && <span class="mono">{d.last_status}</span>}
                    {d.last_error && <span class="sub">{d.last_error}</span>}
                    {d.last_status === null && !d.last_error && '—'}
                  </>
                ),
              },
              { header: 'Created', cell: (d) => <span class="nowrap" title={dateTime(d.created_at)}>{ago(d.created_at)}</span> },
              {
                header: 'Action',
                cell: (d) =>
                  d.state === 'failed' ? (
                    <button type="button" class="secondary small" aria-label={`Retry delivery ${d.id}`} disabled={busy === d.id} onClick={() => void retryOne(d)}>
                      Retry
                    </button>
                  ) : null,
              },
            ]}
          />
          <Pager total={list.data.total} exact={list.data.total_exact} offset={offset} limit={LIMIT} onOffset={setOffset} />
        </>
      )}
    </section>
  );
}

/** The state word, and for a pending one whether it is under way or when it is due. */
export function DeliveryState({ d }: { d: Delivery }) {
  return (
    <div class="status-cell">
      <Badge value={d.state} />
      {d.in_flight && <span class="sub">attempt under way</span>}
      {d.next_attempt_at && <span class="sub">due {ago(d.next_attempt_at)}</span>}
      {d.completed_at && <span class="sub">{dateTime(d.completed_at)}</span>}
    </div>
  );
}
