/**
 * One control per field description of GET /v1/formats (key, type, label, help, options, nested
 * fields): the callback form is drawn from that data, never written per format.
 */
import type { ApiFailure } from '../../api/client';
import { CheckboxField, KeyValueField, SelectField, TextField, errorFor, fromRows, toRows, type Row } from '../../components/form';
import type { FieldInfo } from '../../lib/catalogue';

/** A form value per field: text as typed, maps as rows, objects as nested values; `on` for optional objects. */
export type Values = Record<string, unknown>;

export interface FieldProps {
  field: FieldInfo;
  /** The API field path (`encryption.key`), for its 422 and data-field. */
  path: string;
  values: Values;
  onChange: (values: Values) => void;
  failure: ApiFailure | undefined;
  /** Editing a saved callback: write-only secrets left blank keep their stored value. */
  saved?: Values | undefined;
  /** Renders extra content after a field (the body's variable picker). */
  after?: (field: FieldInfo, path: string) => preact.ComponentChildren;
  inputRef?: (field: FieldInfo, path: string) => preact.Ref<HTMLTextAreaElement> | undefined;
}

/**
 * Whether a field applies now. Descriptions say it in their help: "POST, PUT: …" applies only to
 * those methods; in an object with a `type` select, a part whose help starts with an option
 * ("basic", "bearer", "raw: …") applies only when that option is chosen.
 */
export function applies(field: FieldInfo, values: Values, siblings?: { fields: FieldInfo[]; values: Values }): boolean {
  const method = String(values.method ?? 'POST');
  if (/^POST, PUT:/.test(field.help) && !['POST', 'PUT'].includes(method)) return false;
  if (siblings) {
    const typeField = siblings.fields.find((f) => f.key === 'type' && f.type === 'select');
    if (typeField && field !== typeField) {
      const options = typeField.options ?? [];
      const first = field.help.split(/[:\s,]/)[0] ?? '';
      if (options.includes(first)) return String(siblings.values.type ?? typeField.default ?? '') === first;
    }
  }
  return true;
}

export function FieldControl(p: FieldProps) {
  const { field, path, values, onChange, failure, saved } = p;
  const value = values[field.key];
  const set = (v: unknown) => onChange({ ...values, [field.key]: v });
  const common = { label: field.label, help: field.help, error: errorFor(failure, path), required: field.required, name: path };
  const isSet = saved !== undefined && (saved[`${field.key}_set`] === true || (saved[field.key] !== undefined && saved[field.key] !== null));
  switch (field.type) {
    case 'select':
      return <SelectField {...common} value={String(value ?? field.default ?? '')} onValue={set} options={[...(field.required || field.default !== undefined ? [] : [{ value: '', label: '—' }]), ...(field.options ?? [])]} />;
    case 'boolean':
      return <CheckboxField {...common} checked={Boolean(value ?? field.default ?? false)} onValue={set} />;
    case 'map':
      return <KeyValueField {...common} rows={(value as Row[] | undefined) ?? []} onRows={set} />;
    case 'object': {
      const parts = field.fields ?? [];
      const inner = (value as Values | undefined) ?? {};
      const on = !field.nullable || inner.on === true;
      return (
        <fieldset class={`field object${common.error ? ' has-error' : ''}`} data-field={path}>
          <legend>{field.label}</legend>
          <p class="help">{field.help}</p>
          {field.nullable && <CheckboxField label={`Use ${field.label.toLowerCase()}`} name={`${path}.on`} checked={on} onValue={(v) => set({ ...inner, on: v })} />}
          {on &&
            parts
              .filter((f) => applies(f, values, { fields: parts, values: inner }))
              .map((f) => (
                <FieldControl
                  {...p}
                  field={f}
                  path={`${path}.${f.key}`}
                  values={inner}
                  saved={(saved?.[field.key] as Values | undefined) ?? undefined}
                  onChange={(v) => set({ ...v, on })}
                />
              ))}
        </fieldset>
      );
    }
    default: {
      const secret = field.type === 'secret';
      const multiline = field.type === 'text' && field.key === 'body';
      return (
        <>
          <TextField
            {...common}
            help={secret && isSet ? `${field.help} — set; leave blank to keep it` : common.help}
            required={common.required && !isSet}
            type={secret && field.write_only ? 'password' : field.type === 'url' ? 'url' : field.type === 'email' ? 'email' : field.type === 'number' ? 'number' : 'text'}
            value={String(value ?? '')}
            onValue={set}
            multiline={multiline}
            rows={multiline ? 8 : undefined}
            placeholder={field.type === 'durations' || field.type === 'list' ? 'comma separated' : field.default !== undefined ? String(field.default) : undefined}
            autoComplete={secret ? 'new-password' : 'off'}
            inputRef={p.inputRef?.(field, path)}
          />
          {p.after?.(field, path)}
        </>
      );
    }
  }
}

/** Form values of a saved callback (or of defaults) for `fields`. */
export function initialValues(fields: FieldInfo[], source: Values): Values {
  const out: Values = {};
  for (const f of fields) {
    const v = source[f.key];
    if (f.type === 'map') out[f.key] = toRows(v as Record<string, string> | null);
    else if (f.type === 'object') out[f.key] = { ...initialValues(f.fields ?? [], (v as Values | null) ?? {}), on: Boolean(v) };
    else if (f.type === 'durations' || f.type === 'list') out[f.key] = Array.isArray(v) ? v.join(', ') : '';
    else if (f.type === 'secret') out[f.key] = ''; // never shown back in a form: blank keeps it
    else if (v !== undefined && v !== null) out[f.key] = f.type === 'boolean' ? v : String(v);
    else if (f.default !== undefined) out[f.key] = f.type === 'boolean' ? f.default : String(f.default);
  }
  return out;
}

/**
 * The request body's part for `fields`: what applies, typed as the API wants; a blank write-only
 * secret is left out (kept), a switched-off optional object is null when editing, absent when new.
 */
export function bodyOf(fields: FieldInfo[], values: Values, opts: { editing: boolean; root?: Values }): Values {
  const out: Values = {};
  const root = opts.root ?? values;
  for (const f of fields) {
    const v = values[f.key];
    const typeField = fields.find((x) => x.key === 'type' && x.type === 'select');
    if (!applies(f, root, typeField && opts.root ? { fields, values } : undefined)) {
      if (opts.editing && f.nullable) out[f.key] = null;
      continue;
    }
    switch (f.type) {
      case 'object': {
        const inner = (v as Values | undefined) ?? {};
        if (f.nullable && inner.on !== true) {
          if (opts.editing) out[f.key] = null;
          break;
        }
        out[f.key] = bodyOf(f.fields ?? [], inner, { ...opts, root });
        break;
      }
      case 'map': {
        const m = fromRows((v as Row[] | undefined) ?? []);
        if (Object.keys(m).length > 0) out[f.key] = m;
        else if (opts.editing) out[f.key] = f.nullable ? null : {};
        break;
      }
      case 'boolean':
        if (v !== undefined) out[f.key] = v;
        break;
      case 'number':
        if (v !== undefined && v !== '') out[f.key] = Number(v);
        break;
      case 'durations':
      case 'list': {
        const items = String(v ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        if (items.length > 0) out[f.key] = f.type === 'list' ? items.map((s) => (/^-?\d+$/.test(s) ? Number(s) : s)) : items;
        else if (opts.editing && f.nullable) out[f.key] = null;
        break;
      }
      default: {
        const s = String(v ?? '');
        if (s !== '') out[f.key] = s;
        else if (opts.editing && f.nullable && f.type !== 'secret') out[f.key] = null;
      }
    }
  }
  return out;
}
