/** One event: its type, resource, data as stored, and every delivery made of it (each links to its attempts). */
import { api, ok } from '../api/client';
import { untyped, type Delivery, type EventDetail } from '../api/shapes';
import { ErrorNotice } from '../components/form';
import { DataTable } from '../components/table';
import { Loading, PageHeader } from '../components/ui';
import { dateTime } from '../lib/format';
import { usePoll } from '../lib/use-poll';
import { useCallbackTitles } from '../lib/callback-titles';
import { CallbackLink } from '../components/callback-link';
import { useLoad } from '../lib/use-load';
import { href } from '../router';
import type { PageProps } from '../routes';
import { DeliveryState, LIVE_SECONDS } from './deliveries';

export function EventPage({ params }: PageProps) {
  const id = params.id!;
  const ev = useLoad(() => ok(untyped<EventDetail>(api.GET('/v1/events/{id}', { params: { path: { id } } }))), [id]);
  usePoll(ev.reload, LIVE_SECONDS * 1000, ev.data?.deliveries.some((d) => d.state === 'pending') ?? false);
  const x = ev.data;
  const titles = useCallbackTitles((x?.deliveries ?? []).map((d) => d.callback_id));
  return (
    <section>
      <PageHeader title={x ? `Event ${x.type}` : 'Event'}>
        <a href={href('/events')}>All events</a>
      </PageHeader>
      <ErrorNotice error={ev.error} />
      {!x ? (
        ev.loading && <Loading what="the event" />
      ) : (
        <>
          <div class="card">
            <dl class="props">
              <dt>Id</dt>
              <dd class="mono">{x.id}</dd>
              <dt>Type</dt>
              <dd>{x.type}</dd>
              <dt>Resource id</dt>
              <dd class="mono">{x.resource_id ?? '—'}</dd>
              {x.callback_profile_id && (
                <>
                  <dt>Callback profile</dt>
                  <dd class="mono">{x.callback_profile_id}</dd>
                </>
              )}
              <dt>Created</dt>
              <dd>{dateTime(x.created_at)}</dd>
            </dl>
            <h3>Data</h3>
            <pre aria-label="Event data">{JSON.stringify(x.data, null, 2)}</pre>
            {x.custom_args !== null && (
              <>
                <h3>Custom args</h3>
                <pre>{JSON.stringify(x.custom_args, null, 2)}</pre>
              </>
            )}
          </div>
          <h2>Deliveries</h2>
          <DataTable<Delivery>
            caption="Deliveries of this event"
            rows={x.deliveries}
            rowKey={(d) => d.id}
            empty="No callback is subscribed to this event type: nothing was delivered."
            columns={[
              { header: 'Delivery', cell: (d) => <a href={href(`/deliveries/${d.id}`)}>#{d.id}</a> },
              { header: 'Callback', cell: (d) => <CallbackLink id={d.callback_id} title={titles[d.callback_id]} /> },
              { header: 'State', cell: (d) => <DeliveryState d={d} /> },
              { header: 'Attempts', class: 'num', cell: (d) => d.attempts },
              { header: 'Last answer', cell: (d) => d.last_error ?? d.last_status ?? '—' },
            ]}
          />
        </>
      )}
    </section>
  );
}
