/**
 * One delivery and every attempt of it: the request as sent (the relay stores it with secrets
 * redacted), the response's status, headers and body excerpt, the duration and the error class.
 * Refreshes while the delivery is pending; Retry makes it due now.
 */
import { useState } from 'preact/hooks';
import { api, ok, type ApiFailure } from '../api/client';
import { untyped, type Attempt, type Delivery, type DeliveryDetail } from '../api/shapes';
import { ErrorNotice } from '../components/form';
import { Badge, Loading, PageHeader } from '../components/ui';
import { dateTime, ms } from '../lib/format';
import { usePoll } from '../lib/use-poll';
import { useCallbackTitles } from '../lib/callback-titles';
import { CallbackLink } from '../components/callback-link';
import { asFailure, useLoad } from '../lib/use-load';
import { href } from '../router';
import type { PageProps } from '../routes';
import { DeliveryState, LIVE_SECONDS } from './deliveries';

export function DeliveryPage({ params }: PageProps) {
  const id = params.id!;
  const d = useLoad(() => ok(untyped<DeliveryDetail>(api.GET('/v1/deliveries/{id}', { params: { path: { id } } }))), [id]);
  usePoll(d.reload, LIVE_SECONDS * 1000, d.data?.state === 'pending');
  const [failure, setFailure] = useState<ApiFailure>();
  const [busy, setBusy] = useState(false);

  const retry = async () => {
    setBusy(true);
    setFailure(undefined);
    try {
      await ok(untyped<Delivery>(api.POST('/v1/deliveries/{id}/retry', { params: { path: { id } } })));
      await d.reload();
    } catch (err) {
      setFailure(asFailure(err));
    } finally {
      setBusy(false);
    }
  };

  const x = d.data;
  const titles = useCallbackTitles([x?.callback_id]);
  return (
    <section>
      <PageHeader title={`Delivery #${id}`}>
        <a href={href('/deliveries')}>All deliveries</a>
        {x && (
          <button type="button" class="primary" disabled={busy || x.state === 'held' || x.in_flight} onClick={() => void retry()}>
            Retry
          </button>
        )}
      </PageHeader>
      <ErrorNotice error={d.error ?? failure} />
      {!x ? (
        d.loading && <Loading what="the delivery" />
      ) : (
        <>
          <div class="card">
            <dl class="props">
              <dt>State</dt>
              <dd>
                <DeliveryState d={{ ...x, completed_at: null }} />
              </dd>
              <dt>Event</dt>
              <dd>
                <a href={href(`/events/${x.event_id}`)}>{x.event_type}</a> <span class="mono">{x.event_id}</span>
              </dd>
              <dt>Callback</dt>
              <dd>
                <CallbackLink id={x.callback_id} title={titles[x.callback_id]} />
              </dd>
              <dt>Attempts</dt>
              <dd>{x.attempts}</dd>
              <dt>Created</dt>
              <dd>{dateTime(x.created_at)}</dd>
              {x.completed_at && (
                <>
                  <dt>Completed</dt>
                  <dd>{dateTime(x.completed_at)}</dd>
                </>
              )}
              {x.state === 'held' && (
                <>
                  <dt>Held</dt>
                  <dd>The callback is disabled: enable it to resume this delivery.</dd>
                </>
              )}
            </dl>
          </div>
          <h2>Attempts</h2>
          {x.attempt_log.length === 0 ? <p class="help">No attempt yet.</p> : [...x.attempt_log].reverse().map((a) => <AttemptCard a={a} />)}
        </>
      )}
    </section>
  );
}

const sorted = (h: Record<string, string>) => Object.entries(h).sort(([a], [b]) => a.localeCompare(b));

function Headers({ headers, label }: { headers: Record<string, string>; label: string }) {
  const rows = sorted(headers);
  if (rows.length === 0) return <p class="help">No headers.</p>;
  return (
    <pre aria-label={label}>
      {rows.map(([k, v]) => `${k}: ${v}`).join('\n')}
    </pre>
  );
}

/** Pretty-prints a JSON body; any other body is shown as it is. */
function Body({ body, label }: { body: string | null; label: string }) {
  if (body === null || body === '') return <p class="help">Empty body.</p>;
  let shown = body;
  try {
    shown = JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    // Not JSON: as received.
  }
  return <pre aria-label={label}>{shown}</pre>;
}

function AttemptCard({ a }: { a: Attempt }) {
  return (
    <article class="card attempt" aria-label={`Attempt ${a.attempt}`}>
      <header class="attempt-head">
        <h3>Attempt {a.attempt}</h3>
        <Badge value={a.outcome} />
        {a.kind !== 'delivery' && <span class="badge muted">{a.kind}</span>}
        <span class="help">
          {dateTime(a.started_at)} · {ms(a.duration_ms)}
        </span>
      </header>
      {a.error && (
        <p class="notice error">
          <strong>{a.error.class}</strong>
          {a.error.message && `: ${a.error.message}`}
        </p>
      )}
      <div class="grid">
        <div>
          <h4>Request</h4>
          <p class="mono url">
            {a.request.method} {a.request.url}
          </p>
          <Headers headers={a.request.headers} label={`Request headers of attempt ${a.attempt}`} />
          <Body body={a.request.body} label={`Request body of attempt ${a.attempt}`} />
        </div>
        <div>
          <h4>Response</h4>
          {a.response ? (
            <>
              <p>
                Status <strong class="mono">{a.response.status}</strong>
              </p>
              <Headers headers={a.response.headers} label={`Response headers of attempt ${a.attempt}`} />
              <Body body={a.response.body} label={`Response body of attempt ${a.attempt}`} />
            </>
          ) : (
            <p class="help">No response{a.error ? ` (${a.error.class})` : ''}.</p>
          )}
        </div>
      </div>
    </article>
  );
}
