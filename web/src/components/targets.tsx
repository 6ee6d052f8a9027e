/**
 * Notice targets (where failure notices, alerts and reports go): one row per target, a channel and
 * its address. The API's `targets` list replaces every target of its owner, so the rows are the
 * whole list. A webhook target's signing secret is shown once, when the API makes it.
 */
import { useId, useState } from 'preact/hooks';
import { api, ok, type ApiFailure } from '../api/client';
import { asFailure } from '../lib/use-load';
import { Described, ErrorNotice, describedBy } from './form';
import { CopyButton } from './ui';

/** `{channel, address}` as sent; `{id, channel, address, secret_set, secret?}` as answered. */
export interface TargetRow {
  channel: string;
  address: string;
}
export type TargetOut = { id: string; channel: string; address: string; secret_set: boolean; secret?: string };

export const CHANNELS: { value: string; label: string; placeholder: string }[] = [
  { value: 'email', label: 'E-mail', placeholder: 'ops@example.com' },
  { value: 'telegram', label: 'Telegram', placeholder: 'chat id (-1001234) or @channel' },
  { value: 'slack', label: 'Slack', placeholder: 'https://hooks.slack.com/services/…' },
  { value: 'webhook', label: 'Webhook', placeholder: 'https://ops.example.com/notices' },
];

export function TargetsField({ label, rows, onRows, help, error }: { label: string; rows: TargetRow[]; onRows: (rows: TargetRow[]) => void; help?: string; error?: string | undefined }) {
  const id = useId();
  const set = (i: number, patch: Partial<TargetRow>) => onRows(rows.map((r, j) => (i === j ? { ...r, ...patch } : r)));
  return (
    <fieldset class={`field kv${error ? ' has-error' : ''}`} data-field="targets" aria-describedby={describedBy(id, help, error)}>
      <legend>{label}</legend>
      {rows.length === 0 && <p class="help">No target.</p>}
      {rows.map((r, i) => (
        <div class="kv-row target-row">
          <select aria-label={`Target ${i + 1} channel`} value={r.channel} onChange={(e) => set(i, { channel: e.currentTarget.value })}>
            {CHANNELS.map((c) => (
              <option value={c.value}>{c.label}</option>
            ))}
          </select>
          <input
            aria-label={`Target ${i + 1} address`}
            placeholder={CHANNELS.find((c) => c.value === r.channel)?.placeholder}
            value={r.address}
            onInput={(e) => set(i, { address: e.currentTarget.value })}
          />
          <button type="button" class="secondary small" aria-label={`Remove target ${i + 1}`} onClick={() => onRows(rows.filter((_, j) => j !== i))}>
            Remove
          </button>
        </div>
      ))}
      <button type="button" class="secondary small" onClick={() => onRows([...rows, { channel: 'email', address: '' }])}>
        Add target
      </button>
      <Described id={id} help={help} error={error} />
    </fieldset>
  );
}

/** The rows to send: blank addresses dropped, addresses trimmed. */
export const targetsToSend = (rows: TargetRow[]): TargetRow[] => rows.filter((r) => r.address.trim() !== '').map((r) => ({ channel: r.channel, address: r.address.trim() }));

/** Secrets of webhook targets the API just made: shown this once. */
export function FreshSecrets({ targets }: { targets: TargetOut[] | undefined }) {
  const fresh = (targets ?? []).filter((t) => t.secret);
  if (fresh.length === 0) return null;
  return (
    <div class="notice info" role="status">
      {fresh.map((t) => (
        <p>
          Signing secret of {t.address} (shown once): <code>{t.secret}</code> <CopyButton text={t.secret!} label="Copy secret" />
        </p>
      ))}
    </div>
  );
}

/** "E-mail ops@x, Telegram 123" */
export function targetSummary(targets: TargetOut[]): string {
  if (targets.length === 0) return '—';
  return targets.map((t) => `${CHANNELS.find((c) => c.value === t.channel)?.label ?? t.channel} ${t.address}`).join(', ');
}


/** Stored webhook targets' signing secrets, each revealed on demand (GET /v1/notice-targets/{id}/secret). */
export function WebhookSecrets({ targets }: { targets: TargetOut[] }) {
  const hooks = targets.filter((t) => t.channel === 'webhook' && t.secret_set);
  const [shown, setShown] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<ApiFailure>();
  if (hooks.length === 0) return null;
  const reveal = async (id: string) => {
    setFailure(undefined);
    try {
      const r = await ok(api.GET('/v1/notice-targets/{id}/secret', { params: { path: { id } } }));
      setShown((s) => ({ ...s, [id]: r.secret }));
    } catch (err) {
      setFailure(asFailure(err));
    }
  };
  return (
    <div class="field">
      <p class="help">Webhook notices are signed (Standard Webhooks); verify them with the target's secret.</p>
      <ErrorNotice error={failure} />
      {hooks.map((t) => (
        <p class="secret">
          <span class="mono url">{t.address}</span>
          {shown[t.id] ? (
            <>
              <code>{shown[t.id]}</code> <CopyButton text={shown[t.id]!} label="Copy secret" />
            </>
          ) : (
            <button type="button" class="secondary small" aria-label={`Reveal the signing secret of ${t.address}`} onClick={() => void reveal(t.id)}>
              Reveal secret
            </button>
          )}
        </p>
      ))}
    </div>
  );
}
