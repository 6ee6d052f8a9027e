/**
 * Overview: the account's queue and last 24 hours (GET /v1/stats), its busiest callbacks with
 * delivered / failed / pending over 24 h and 7 days, and one callback's success rate and latency
 * over time (GET /v1/callbacks/{id}/stats), charted with uPlot.
 */
import { api, ok, type paths } from '../api/client';
import { TimeChart } from '../components/chart';
import { ErrorNotice, SelectField } from '../components/form';
import { DataTable } from '../components/table';
import { Loading, PageHeader } from '../components/ui';
import { duration, ms, percent } from '../lib/format';
import { useLoad } from '../lib/use-load';
import { href, navigate } from '../router';
import type { PageProps } from '../routes';

type Stats = paths['/v1/stats']['get']['responses'][200]['content']['application/json'];
type Row = Stats['callbacks'][number];

const rate = (delivered: number, failed: number) => (delivered + failed === 0 ? null : delivered / (delivered + failed));

export function Overview({ query }: PageProps) {
  const stats = useLoad(() => ok(api.GET('/v1/stats')), []);
  if (stats.error) return <ErrorNotice error={stats.error} />;
  if (!stats.data) return <Loading what="statistics" />;
  const s = stats.data;
  const chosen = query.get('callback') ?? s.callbacks[0]?.callback_id;
  const span: '24h' | '7d' = query.get('window') === '7d' ? '7d' : '24h';
  return (
    <section>
      <PageHeader title="Overview">
        <button type="button" class="secondary" onClick={() => void stats.reload()}>
          Reload
        </button>
      </PageHeader>
      <div class="stats" aria-label="Queue and last 24 hours" role="group">
        <Stat label="Delivered, 24 h" value={s.last_24h.delivered} />
        <Stat label="Failed, 24 h" value={s.last_24h.failed} tone={s.last_24h.failed > 0 ? 'bad' : undefined} />
        <Stat label="Success rate, 24 h" value={percent(rate(s.last_24h.delivered, s.last_24h.failed))} />
        <Stat label="Pending" value={s.queue.pending} />
        <Stat label="Due now" value={s.queue.due_now} />
        <Stat label="Oldest due" value={s.queue.oldest_due_age_seconds === null ? '—' : duration(s.queue.oldest_due_age_seconds)} />
        <Stat label="In flight" value={s.queue.in_flight} />
        <Stat label="Held" value={s.queue.held} />
      </div>
      {chosen && <CallbackChart id={chosen} span={span} rows={s.callbacks} />}
      <h2>Callbacks</h2>
      <DataTable<Row>
        caption="Busiest callbacks"
        rows={s.callbacks}
        rowKey={(r) => r.callback_id}
        empty="No callback has deliveries yet."
        columns={[
          {
            header: 'Callback',
            cell: (r) => (
              <>
                <a href={href(`/callbacks/${r.callback_id}`)}>{r.title}</a>
                <span class="sub mono">{r.callback_id}</span>
              </>
            ),
          },
          { header: 'Delivered 24 h', cell: (r) => r.delivered_24h, class: 'num' },
          { header: 'Failed 24 h', cell: (r) => r.failed_24h, class: 'num' },
          { header: 'Success 24 h', cell: (r) => percent(rate(r.delivered_24h, r.failed_24h)), class: 'num' },
          { header: 'Pending', cell: (r) => r.pending, class: 'num' },
          { header: 'Delivered 7 d', cell: (r) => r.delivered_7d, class: 'num' },
          { header: 'Failed 7 d', cell: (r) => r.failed_7d, class: 'num' },
          {
            header: 'Chart',
            cell: (r) => (
              <button type="button" class="secondary small" aria-label={`Chart ${r.title}`} aria-pressed={r.callback_id === chosen} onClick={() => navigate('/', { callback: r.callback_id, window: span })}>
                Chart
              </button>
            ),
          },
        ]}
      />
    </section>
  );
}

function Stat({ label, value, tone }: { label: string; value: string | number; tone?: 'bad' | undefined }) {
  return (
    <div class={`stat${tone ? ` ${tone}` : ''}`}>
      <span class="value">{value}</span>
      <span class="label">{label}</span>
    </div>
  );
}

function CallbackChart({ id, span, rows }: { id: string; span: '24h' | '7d'; rows: Row[] }) {
  const st = useLoad(() => ok(api.GET('/v1/callbacks/{id}/stats', { params: { path: { id }, query: { window: span } } })), [id, span]);
  const title = rows.find((r) => r.callback_id === id)?.title ?? id;
  const t = st.data?.totals;
  const times = st.data?.buckets.map((b) => Date.parse(b.start) / 1000) ?? [];
  return (
    <div class="card">
      <div class="chart-head">
        <h2>{title}</h2>
        <div class="filters compact">
          <SelectField
            label="Callback"
            name="callback"
            value={id}
            onValue={(callback) => navigate('/', { callback, window: span })}
            options={rows.map((r) => ({ value: r.callback_id, label: r.title }))}
          />
          <SelectField
            label="Window"
            name="window"
            value={span}
            onValue={(w) => navigate('/', { callback: id, window: w })}
            options={[
              { value: '24h', label: 'Last 24 hours' },
              { value: '7d', label: 'Last 7 days' },
            ]}
          />
        </div>
      </div>
      <ErrorNotice error={st.error} />
      {!st.data || !t ? (
        <Loading what="the chart" />
      ) : (
        <>
          <p class="totals">
            <strong>{t.delivered}</strong> delivered · <strong>{t.failed}</strong> failed · <strong>{t.pending}</strong> pending · <strong>{t.held}</strong> held · success{' '}
            <strong>{percent(t.success_rate)}</strong> · latency p50 <strong>{ms(t.latency_p50_ms)}</strong>, p95 <strong>{ms(t.latency_p95_ms)}</strong>
          </p>
          <div class="grid charts">
            <div>
              <h3>Deliveries per {st.data.bucket_seconds >= 86400 ? 'day' : st.data.bucket_seconds >= 7200 ? `${st.data.bucket_seconds / 3600} hours` : 'hour'}</h3>
              <TimeChart
                label={`Delivered and failed deliveries of ${title}`}
                times={times}
                series={[
                  { label: 'Delivered', color: '#16794a', values: st.data.buckets.map((b) => b.delivered) },
                  { label: 'Failed', color: '#b42318', values: st.data.buckets.map((b) => b.failed) },
                ]}
              />
            </div>
            <div>
              <h3>Success rate and latency</h3>
              <TimeChart
                label={`Success rate and mean latency of ${title}`}
                times={times}
                yLabel="success %"
                yRange={[0, 105]}
                y2Label="ms"
                series={[
                  { label: 'Success', color: '#2457c5', values: st.data.buckets.map((b) => (b.success_rate === null ? null : b.success_rate * 100)), format: (v) => `${v.toFixed(1)} %` },
                  { label: 'Latency', color: '#8a5a00', scale: 'y2', values: st.data.buckets.map((b) => b.latency_avg_ms), format: (v) => `${Math.round(v)} ms` },
                ]}
              />
            </div>
          </div>
        </>
      )}
    </div>
  );
}
