/**
 * Alerts (EngageLab's Configure Events): rules of three kinds — insufficient balance, low
 * verification rate, authentication timeout — each with its threshold, window, cooldown and the
 * targets its notices go to (GET/POST/PATCH/DELETE /v1/alert-rules).
 */
import { useState } from 'preact/hooks';
import { api, ok, type ApiFailure, type paths } from '../api/client';
import { CheckboxField, ErrorNotice, SelectField, TextField, errorFor } from '../components/form';
import { DataTable } from '../components/table';
import { FreshSecrets, TargetsField, targetSummary, targetsToSend, type TargetRow } from '../components/targets';
import { Badge, ConfirmButton, Loading, PageHeader } from '../components/ui';
import { dateTime, duration } from '../lib/format';
import { asFailure, useLoad } from '../lib/use-load';
import type { PageProps } from '../routes';

type Rule = paths['/v1/alert-rules/{id}']['get']['responses'][200]['content']['application/json'];
type Kind = NonNullable<paths['/v1/alert-rules']['post']['requestBody']>['content']['application/json']['kind'];

/** What each kind watches, and what its threshold and window mean (src/api/routes/alerts.ts). */
export const KINDS: Record<Kind, { label: string; what: string; threshold?: string; window?: string; windowHelp?: string; defaults: { threshold: number; window: number; cooldown: number } }> = {
  insufficient_balance: {
    label: 'Insufficient balance',
    what: 'The balance reported by the messaging platform falls below the threshold.',
    threshold: 'Alert below this balance',
    defaults: { threshold: 100, window: 0, cooldown: 3600 },
  },
  low_verification_rate: {
    label: 'Low verification rate',
    what: 'The share of OTPs verified within the window falls below the threshold.',
    threshold: 'Alert below this verification rate (%)',
    window: 'Window (seconds)',
    windowHelp: 'The rate is computed over this many seconds of OTPs',
    defaults: { threshold: 80, window: 3600, cooldown: 3600 },
  },
  authentication_timeout: {
    label: 'Authentication timeout',
    what: 'An OTP is not verified in time.',
    window: 'Time to verify (seconds)',
    windowHelp: 'An OTP not verified within this many seconds raises the alert',
    defaults: { threshold: 0, window: 300, cooldown: 600 },
  },
};
const kindLabel = (k: string) => KINDS[k as Kind]?.label ?? k;

interface Draft {
  kind: Kind;
  threshold: string;
  window: string;
  min_sent: string;
  cooldown: string;
  targets: TargetRow[];
  emit_event: boolean;
  enabled: boolean;
}

const draftOf = (r: Rule | undefined): Draft =>
  r
    ? {
        kind: r.kind as Kind,
        threshold: String(r.threshold),
        window: String(r.window),
        min_sent: String(r.min_sent),
        cooldown: String(r.cooldown),
        targets: r.targets.map((t) => ({ channel: t.channel, address: t.address })),
        emit_event: r.emit_event,
        enabled: r.enabled,
      }
    : {
        kind: 'insufficient_balance',
        threshold: String(KINDS.insufficient_balance.defaults.threshold),
        window: '',
        min_sent: '10',
        cooldown: String(KINDS.insufficient_balance.defaults.cooldown),
        targets: [{ channel: 'email', address: '' }],
        emit_event: true,
        enabled: true,
      };

export function Alerts(_: PageProps) {
  const rules = useLoad(() => ok(api.GET('/v1/alert-rules')), []);
  const [editing, setEditing] = useState<Rule | 'new'>();
  const [failure, setFailure] = useState<ApiFailure>();
  const [saved, setSaved] = useState<Rule>();

  const remove = async (r: Rule) => {
    setFailure(undefined);
    try {
      await ok(api.DELETE('/v1/alert-rules/{id}', { params: { path: { id: r.id } } }));
      if (editing !== 'new' && editing?.id === r.id) setEditing(undefined);
      await rules.reload();
    } catch (err) {
      setFailure(asFailure(err));
    }
  };

  return (
    <section>
      <PageHeader title="Alerts">
        <button
          type="button"
          class="primary"
          onClick={() => {
            setSaved(undefined);
            setEditing('new');
          }}
        >
          New alert rule
        </button>
      </PageHeader>
      <p class="help page-intro">Alerts watch the messaging traffic itself and notify by e-mail, Telegram, Slack or webhook; callback failures are notified per callback.</p>
      {editing && (
        <RuleForm
          key={editing === 'new' ? 'new' : editing.id}
          rule={editing === 'new' ? undefined : editing}
          onDone={async (r) => {
            setEditing(undefined);
            setSaved(r);
            await rules.reload();
          }}
          onCancel={() => setEditing(undefined)}
        />
      )}
      {saved && (
        <div class="notice success" role="status">
          Alert rule saved: {kindLabel(saved.kind)} <span class="mono">{saved.id}</span>
        </div>
      )}
      <FreshSecrets targets={saved?.targets} />
      <ErrorNotice error={rules.error ?? failure} />
      {!rules.data ? (
        rules.loading && <Loading what="alert rules" />
      ) : (
        <DataTable<Rule>
          caption="Alert rules"
          rows={rules.data.data}
          rowKey={(r) => r.id}
          empty="No alert rule yet."
          columns={[
            {
              header: 'Kind',
              cell: (r) => (
                <>
                  {kindLabel(r.kind)}
                  <span class="sub mono">{r.id}</span>
                </>
              ),
            },
            { header: 'Threshold', cell: (r) => (r.kind === 'authentication_timeout' ? '—' : r.kind === 'low_verification_rate' ? `${r.threshold} %` : r.threshold) },
            { header: 'Window', cell: (r) => (r.window > 0 ? duration(r.window) : '—') },
            { header: 'Cooldown', cell: (r) => duration(r.cooldown) },
            { header: 'Targets', cell: (r) => targetSummary(r.targets) },
            { header: 'State', cell: (r) => <Badge value={r.enabled ? 'enabled' : 'disabled'} /> },
            { header: 'Last fired', cell: (r) => <span class="nowrap">{dateTime(r.last_fired_at)}</span> },
            {
              header: 'Actions',
              cell: (r) => (
                <div class="actions">
                  <button type="button" class="secondary small" aria-label={`Edit ${kindLabel(r.kind)} rule ${r.id}`} onClick={() => (setSaved(undefined), setEditing(r))}>
                    Edit
                  </button>
                  <ConfirmButton label="Delete" danger small question={`Delete the ${kindLabel(r.kind)} rule? Its notices stop.`} confirmLabel="Delete rule" onConfirm={() => remove(r)} />
                </div>
              ),
            },
          ]}
        />
      )}
    </section>
  );
}

function RuleForm({ rule, onDone, onCancel }: { rule: Rule | undefined; onDone: (r: Rule) => void | Promise<void>; onCancel: () => void }) {
  const [d, setD] = useState<Draft>(() => draftOf(rule));
  const [failure, setFailure] = useState<ApiFailure>();
  const [busy, setBusy] = useState(false);
  const k = KINDS[d.kind];
  const set = (patch: Partial<Draft>) => setD((x) => ({ ...x, ...patch }));

  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setFailure(undefined);
    const num = (v: string) => (v.trim() === '' ? undefined : Number(v));
    const body = {
      kind: d.kind,
      threshold: k.threshold ? (num(d.threshold) ?? 0) : 0,
      ...(k.window && num(d.window) !== undefined && { window: num(d.window)! }),
      ...(d.kind === 'low_verification_rate' && num(d.min_sent) !== undefined && { min_sent: num(d.min_sent)! }),
      ...(num(d.cooldown) !== undefined && { cooldown: num(d.cooldown)! }),
      targets: targetsToSend(d.targets),
      emit_event: d.emit_event,
      enabled: d.enabled,
    };
    try {
      const r = rule ? await ok(api.PATCH('/v1/alert-rules/{id}', { params: { path: { id: rule.id } }, body })) : await ok(api.POST('/v1/alert-rules', { body }));
      await onDone(r);
    } catch (err) {
      setFailure(asFailure(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="card" aria-labelledby="rule-form-title" onSubmit={save} noValidate>
      <h2 id="rule-form-title">{rule ? `Edit ${k.label.toLowerCase()} rule` : 'New alert rule'}</h2>
      <ErrorNotice error={failure} />
      <div class="form-grid">
        <SelectField
          label="Kind"
          name="kind"
          value={d.kind}
          onValue={(v) => {
            const kind = v as Kind;
            const def = KINDS[kind].defaults;
            set({ kind, threshold: String(def.threshold), window: def.window ? String(def.window) : '', cooldown: String(def.cooldown) });
          }}
          options={Object.entries(KINDS).map(([value, x]) => ({ value, label: x.label }))}
          help={k.what}
          error={errorFor(failure, 'kind')}
        />
        {k.threshold && <TextField label={k.threshold} type="number" name="threshold" value={d.threshold} onValue={(threshold) => set({ threshold })} error={errorFor(failure, 'threshold')} />}
        {k.window && <TextField label={k.window} type="number" name="window" value={d.window} onValue={(window) => set({ window })} help={k.windowHelp} error={errorFor(failure, 'window')} />}
        {d.kind === 'low_verification_rate' && (
          <TextField label="Fewest OTPs in the window" type="number" name="min_sent" value={d.min_sent} onValue={(min_sent) => set({ min_sent })} help="No alert on fewer" error={errorFor(failure, 'min_sent')} />
        )}
        <TextField label="Cooldown (seconds)" type="number" name="cooldown" value={d.cooldown} onValue={(cooldown) => set({ cooldown })} help="Least time between two alerts of this rule" error={errorFor(failure, 'cooldown')} />
      </div>
      <TargetsField label="Notify" rows={d.targets} onRows={(targets) => set({ targets })} help="Where the alert goes; none: the account's admin e-mail" error={errorFor(failure, 'targets')} />
      <CheckboxField label="Also send an alert event to subscribed callbacks" checked={d.emit_event} onValue={(emit_event) => set({ emit_event })} />
      <CheckboxField label="Enabled" checked={d.enabled} onValue={(enabled) => set({ enabled })} />
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          Save alert rule
        </button>
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
