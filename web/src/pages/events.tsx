/**
 * Events: the account's events, newest first, searched by type, resource id and creation time
 * (GET /v1/events, filters in the query string), each with its deliveries counted by state; and a
 * form that sends a test event (POST /v1/events) of a type from the catalogue with JSON data.
 */
import { useMemo, useState } from 'preact/hooks';
import { api, ok, type ApiFailure, type paths } from '../api/client';
import { CreatedRange, ErrorNotice, SelectField, TextField, errorFor } from '../components/form';
import { DataTable, Pager } from '../components/table';
import { Badge, Loading, PageHeader } from '../components/ui';
import { useEventTypes, type EventType } from '../lib/catalogue';
import { ago, dateTime } from '../lib/format';
import { asFailure, useLoad } from '../lib/use-load';
import { usePoll } from '../lib/use-poll';
import { LIVE_SECONDS } from './deliveries';
import { href, listFilters } from '../router';
import type { PageProps } from '../routes';

type EventRow = paths['/v1/events']['get']['responses'][200]['content']['application/json']['data'][number];
const LIMIT = 25;

export function Events({ query }: PageProps) {
  const { f, offset, setFilter, setOffset } = listFilters('/events', query, ['type', 'resource_id', 'created_after', 'created_before']);
  const types = useEventTypes();
  const list = useLoad(
    () =>
      ok(
        api.GET('/v1/events', {
          params: {
            query: {
              offset,
              limit: LIMIT,
              ...(f.type && { type: f.type }),
              ...(f.resource_id && { resource_id: f.resource_id }),
              ...(f.created_after && { created_after: f.created_after }),
              ...(f.created_before && { created_before: f.created_before }),
            },
          },
        }),
      ),
    [query.toString()],
  );
  // Counts change until every delivery is done: refresh while some are pending.
  usePoll(list.reload, LIVE_SECONDS * 1000, list.data?.data.some((e) => e.deliveries.pending > 0) ?? false);

  return (
    <section>
      <PageHeader title="Events" />
      <div class="two-col">
        <div>
          <form class="card filters" role="search" aria-label="Search events" onSubmit={(e) => e.preventDefault()}>
            <SelectField label="Type" name="type" value={f.type} onValue={(type) => setFilter({ type })} options={[{ value: '', label: 'Any' }, ...(types.data ?? []).map((t) => t.name)]} />
            <TextField label="Resource id" type="search" name="resource_id" value={f.resource_id} onValue={(resource_id) => setFilter({ resource_id: resource_id.trim() })} />
            <CreatedRange after={f.created_after} before={f.created_before} onFilter={setFilter} />
          </form>
          <ErrorNotice error={list.error} />
          {!list.data ? (
            list.loading && <Loading what="events" />
          ) : (
            <>
              <DataTable<EventRow>
                caption="Events"
                rows={list.data.data}
                rowKey={(e) => e.id}
                empty="No event matches."
                columns={[
                  {
                    header: 'Event',
                    cell: (e) => (
                      <>
                        <a href={href(`/events/${e.id}`)}>{e.type}</a>
                        <span class="sub mono">{e.id}</span>
                      </>
                    ),
                  },
                  { header: 'Resource', cell: (e) => <span class="mono">{e.resource_id ?? '—'}</span> },
                  { header: 'Deliveries', cell: (e) => <Counts c={e.deliveries} /> },
                  { header: 'Created', cell: (e) => <span class="nowrap" title={dateTime(e.created_at)}>{ago(e.created_at)}</span> },
                ]}
              />
              <Pager total={list.data.total} exact={list.data.total_exact} offset={offset} limit={LIMIT} onOffset={setOffset} />
            </>
          )}
        </div>
        <SendEvent types={types.data ?? []} onSent={() => void list.reload()} />
      </div>
    </section>
  );
}

/** "2 delivered · 1 failed", or "none" for an event no callback subscribed to. */
export function Counts({ c }: { c: EventRow['deliveries'] }) {
  if (c.total === 0) return <span class="help">none</span>;
  const parts = (['delivered', 'failed', 'pending', 'held'] as const).filter((k) => c[k] > 0);
  return (
    <span class="counts">
      {parts.map((k) => (
        <span class="nowrap">
          {c[k]} <Badge value={k} />
        </span>
      ))}
    </span>
  );
}

/** A sample `data` for a type: the message id and time every message event carries, set to test values. */
function sampleData(t: EventType | undefined): string {
  const data: Record<string, unknown> = {};
  const vars = new Set(t?.variables ?? []);
  if (vars.has('message_id')) data.message_id = `test-${Date.now().toString(36)}`;
  if (vars.has('to')) data.to = '+15550100';
  if (vars.has('status')) data.status = t?.name.split('.').pop();
  if (vars.has('event_time')) data.event_time = Math.floor(Date.now() / 1000);
  return JSON.stringify(data, null, 2);
}

/**
 * The type defaults to the catalogue's first and the data to a sample of the chosen type, derived at
 * render from what the user picked (never filled in later by an effect, which could overwrite a choice
 * made between the options' arrival and the effect).
 */
function SendEvent({ types, onSent }: { types: EventType[]; onSent: () => void }) {
  const [picked, setPicked] = useState<string>();
  const [edited, setEdited] = useState<string>();
  const [resourceId, setResourceId] = useState('');
  const [jsonError, setJsonError] = useState<string>();
  const [failure, setFailure] = useState<ApiFailure>();
  const [sent, setSent] = useState<string>();
  const [busy, setBusy] = useState(false);
  const type = picked ?? types[0]?.name ?? '';
  const chosen = types.find((t) => t.name === type);
  const sample = useMemo(() => sampleData(chosen), [chosen]);
  const data = edited ?? sample;

  const send = async (e: Event) => {
    e.preventDefault();
    setFailure(undefined);
    setSent(undefined);
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch (err) {
      setJsonError(`Not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      setJsonError('Data must be a JSON object: { "key": value, … }');
      return;
    }
    setJsonError(undefined);
    setBusy(true);
    try {
      const r = await ok(api.POST('/v1/events', { body: { type, data: parsed as Record<string, unknown>, ...(resourceId.trim() && { resource_id: resourceId.trim() }) } }));
      setSent(r.id);
      onSent();
    } catch (err) {
      setFailure(asFailure(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="card" aria-labelledby="send-event-title" onSubmit={send} noValidate>
      <h2 id="send-event-title">Send a test event</h2>
      <p class="help">Published like any event: every enabled callback subscribed to its type gets a delivery.</p>
      <ErrorNotice error={failure && !failure.field ? failure : undefined} />
      <SelectField
        label="Event type"
        name="type"
        value={type}
        onValue={(t) => {
          setPicked(t);
          setEdited(undefined);
          setJsonError(undefined);
        }}
        options={types.map((t) => ({ value: t.name, label: `${t.name} (${t.code})` }))}
        help={chosen?.description}
        error={errorFor(failure, 'type')}
      />
      <TextField label="Resource id" name="resource_id" value={resourceId} onValue={setResourceId} help="Optional: the message or resource the event is about" error={errorFor(failure, 'resource_id')} />
      <TextField
        label="Data (JSON)"
        name="data"
        multiline
        rows={8}
        value={data}
        onValue={(v) => {
          setEdited(v);
          setJsonError(undefined);
        }}
        help={chosen ? `Variables of ${chosen.name}: ${chosen.variables.join(', ')}` : undefined}
        error={jsonError ?? errorFor(failure, 'data')}
      />
      <button type="submit" class="primary" disabled={busy || !type}>
        Send event
      </button>
      {sent && (
        <div class="notice success" role="status">
          Event sent: <a href={href(`/events/${sent}`)}>{sent}</a> (its page shows its deliveries)
        </div>
      )}
    </form>
  );
}
