/**
 * Labelled form controls. Each input has a visible <label> tied to it, an optional help line and,
 * when the API refused the form (422), the API's message right under it (`error`), announced to
 * assistive technology and linked with aria-describedby.
 */
import type { ComponentChildren, Ref } from 'preact';
import { useId } from 'preact/hooks';
import type { ApiFailure } from '../api/client';
import { fromLocalInput, toLocalInput } from '../lib/format';

interface Common {
  label: string;
  help?: string | undefined;
  error?: string | undefined;
  required?: boolean | undefined;
  disabled?: boolean | undefined;
  /** The API field this control edits (data-field, so errors and tests can find it). */
  name?: string | undefined;
}

/** A control's help line and, when the API refused it, its error (ids `<id>-help`, `<id>-error`). */
export function Described({ id, help, error }: { id: string; help?: string | undefined; error?: string | undefined }) {
  return (
    <>
      {help && (
        <p class="help" id={`${id}-help`}>
          {help}
        </p>
      )}
      {error && (
        <p class="field-error" id={`${id}-error`} role="alert">
          {error}
        </p>
      )}
    </>
  );
}

/** The aria-describedby of a control with Described beside it. */
export const describedBy = (id: string, help?: string, error?: string) => [help && `${id}-help`, error && `${id}-error`].filter(Boolean).join(' ') || undefined;

export function TextField(
  props: Common & {
    value: string;
    onValue: (v: string) => void;
    type?: 'text' | 'url' | 'email' | 'password' | 'number' | 'datetime-local' | 'search';
    placeholder?: string;
    multiline?: boolean;
    rows?: number;
    autoComplete?: string;
    inputRef?: Ref<HTMLTextAreaElement> | Ref<HTMLInputElement>;
    onSelect?: () => void;
  },
) {
  const id = useId();
  const shared = {
    id,
    name: props.name,
    value: props.value,
    required: props.required,
    disabled: props.disabled,
    placeholder: props.placeholder,
    'aria-invalid': props.error ? true : undefined,
    'aria-describedby': describedBy(id, props.help, props.error),
    onInput: (e: Event) => props.onValue((e.currentTarget as HTMLInputElement).value),
    ref: props.inputRef as never,
  };
  return (
    <div class={`field${props.error ? ' has-error' : ''}`} data-field={props.name}>
      <label for={id}>{props.label}</label>
      {props.multiline ? (
        <textarea {...shared} rows={props.rows ?? 6} spellcheck={false} onKeyUp={props.onSelect} onClick={props.onSelect} />
      ) : (
        <input {...shared} type={props.type ?? 'text'} autoComplete={props.autoComplete} />
      )}
      <Described id={id} help={props.help} error={props.error} />
    </div>
  );
}

export type Option = string | { value: string; label: string };

export function SelectField(props: Common & { value: string; onValue: (v: string) => void; options: Option[] }) {
  const id = useId();
  return (
    <div class={`field${props.error ? ' has-error' : ''}`} data-field={props.name}>
      <label for={id}>{props.label}</label>
      <select
        id={id}
        name={props.name}
        value={props.value}
        disabled={props.disabled}
        aria-invalid={props.error ? true : undefined}
        aria-describedby={describedBy(id, props.help, props.error)}
        onChange={(e) => props.onValue((e.currentTarget as HTMLSelectElement).value)}
      >
        {props.options.map((o) => (typeof o === 'string' ? <option value={o}>{o}</option> : <option value={o.value}>{o.label}</option>))}
      </select>
      <Described id={id} help={props.help} error={props.error} />
    </div>
  );
}

export function CheckboxField(props: Common & { checked: boolean; onValue: (v: boolean) => void }) {
  const id = useId();
  return (
    <div class={`field checkbox${props.error ? ' has-error' : ''}`} data-field={props.name}>
      <input
        id={id}
        type="checkbox"
        checked={props.checked}
        disabled={props.disabled}
        aria-describedby={describedBy(id, props.help, props.error)}
        onChange={(e) => props.onValue((e.currentTarget as HTMLInputElement).checked)}
      />
      <label for={id}>{props.label}</label>
      <Described id={id} help={props.help} error={props.error} />
    </div>
  );
}

export type Row = { key: string; value: string };

/** Key/value rows (headers, query parameters): a row per pair, Add and Remove buttons. */
export function KeyValueField(props: Common & { rows: Row[]; onRows: (rows: Row[]) => void; keyLabel?: string; valueLabel?: string }) {
  const id = useId();
  const kl = props.keyLabel ?? 'Name';
  const vl = props.valueLabel ?? 'Value';
  const set = (i: number, patch: Partial<Row>) => props.onRows(props.rows.map((r, j) => (i === j ? { ...r, ...patch } : r)));
  return (
    <fieldset class={`field kv${props.error ? ' has-error' : ''}`} data-field={props.name} aria-describedby={describedBy(id, props.help, props.error)}>
      <legend>{props.label}</legend>
      {props.rows.map((r, i) => (
        <div class="kv-row">
          <input aria-label={`${props.label} ${kl.toLowerCase()} ${i + 1}`} placeholder={kl} value={r.key} onInput={(e) => set(i, { key: e.currentTarget.value })} />
          <input aria-label={`${props.label} ${vl.toLowerCase()} ${i + 1}`} placeholder={vl} value={r.value} onInput={(e) => set(i, { value: e.currentTarget.value })} />
          <button type="button" class="secondary small" aria-label={`Remove ${props.label.toLowerCase()} row ${i + 1}`} onClick={() => props.onRows(props.rows.filter((_, j) => j !== i))}>
            Remove
          </button>
        </div>
      ))}
      <button type="button" class="secondary small" onClick={() => props.onRows([...props.rows, { key: '', value: '' }])}>
        Add {props.label.toLowerCase().replace(/s$/, '')}
      </button>
      <Described id={id} help={props.help} error={props.error} />
    </fieldset>
  );
}

export const toRows = (m: Record<string, string> | null | undefined): Row[] => Object.entries(m ?? {}).map(([key, value]) => ({ key, value }));
export const fromRows = (rows: Row[]): Record<string, string> => Object.fromEntries(rows.filter((r) => r.key.trim() !== '').map((r) => [r.key.trim(), r.value]));

/**
 * The API's 422 names a field as a dotted path (`url`, `encryption.key`, `headers.X-Token`): the
 * error belongs to the control editing `key` when the path is `key` or lies under it.
 */
export function errorFor(failure: ApiFailure | undefined, key: string): string | undefined {
  const f = failure?.field;
  if (!f) return undefined;
  return f === key || f.startsWith(`${key}.`) || f.startsWith(`${key}[`) ? failure.message : undefined;
}

/** A refused action, above the form or beside a button. */
export function ErrorNotice({ error, children }: { error: ApiFailure | string | undefined | null; children?: ComponentChildren }) {
  if (!error) return null;
  return (
    <div class="notice error" role="alert">
      {typeof error === 'string' ? error : error.message}
      {children}
    </div>
  );
}

/**
 * The "Created from / until (UTC)" pair of a list's filters, kept in the query as ISO times
 * (`created_after`, `created_before`); `onFilter` gets the one that changed ('' when cleared).
 */
export function CreatedRange({ after, before, onFilter }: { after: string; before: string; onFilter: (patch: { created_after?: string; created_before?: string }) => void }) {
  return (
    <>
      <TextField
        label="Created from (UTC)"
        type="datetime-local"
        name="created_after"
        value={after && toLocalInput(after)}
        onValue={(v) => onFilter({ created_after: fromLocalInput(v) ?? '' })}
      />
      <TextField
        label="Created until (UTC)"
        type="datetime-local"
        name="created_before"
        value={before && toLocalInput(before)}
        onValue={(v) => onFilter({ created_before: fromLocalInput(v) ?? '' })}
      />
    </>
  );
}
