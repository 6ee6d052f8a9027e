/**
 * New / edit callback. The form is drawn from GET /v1/formats: the common fields, then the chosen
 * format's own. For templates the channel narrows the events, and the body editor has a picker of
 * the variables the chosen events offer (GET /v1/event-types). Test sends a sample event through
 * the real delivery path; Save shows the id. A 422 appears next to the field it names.
 */
import { useMemo, useRef, useState } from 'preact/hooks';
import { api, ok, type ApiFailure } from '../../api/client';
import { CopyButton, Loading, PageHeader } from '../../components/ui';
import { ErrorNotice, SelectField } from '../../components/form';
import { useEventTypes, useFormats, type EventType, type FieldInfo } from '../../lib/catalogue';
import { asFailure, useLoad } from '../../lib/use-load';
import { href, navigate } from '../../router';
import type { PageProps } from '../../routes';
import { FieldControl, applies, bodyOf, initialValues, type Values } from './fields';
import { TestResultView } from './test-result';
import type { Callback, CallbackBody, TestResult } from './types';

export function CallbackEditor({ params, query }: PageProps) {
  const id = params.id;
  const formats = useFormats();
  const types = useEventTypes();
  const saved = useLoad(() => (id ? ok(api.GET('/v1/callbacks/{id}', { params: { path: { id } } })) : Promise.resolve(undefined)), [id]);
  if (formats.error || types.error || saved.error) return <ErrorNotice error={formats.error ?? types.error ?? saved.error} />;
  if (!formats.data || !types.data || (id && !saved.data)) return <Loading what="the form" />;
  return <Form key={id ?? 'new'} formats={formats.data} types={types.data} saved={saved.data} justSaved={query.get('saved') === '1'} />;
}

function Form(props: { formats: NonNullable<ReturnType<typeof useFormats>['data']>; types: EventType[]; saved: Callback | undefined; justSaved: boolean }) {
  const { formats, types, saved } = props;
  const editing = saved !== undefined;
  const savedValues: Values | undefined = saved ? { ...(saved.settings as Values), ...saved, settings: undefined } : undefined;
  const [format, setFormat] = useState(saved?.format ?? 'standard');
  const mod = formats.data.find((m) => m.name === format) ?? formats.data[0]!;
  const common = formats.common_fields.filter((f) => f.key !== 'events');
  const [values, setValues] = useState<Values>(() => ({
    ...initialValues(common, savedValues ?? {}),
    ...initialValues(mod.fields, savedValues ?? {}),
  }));
  const [events, setEvents] = useState<string[]>(saved?.events ?? []);
  const [failure, setFailure] = useState<ApiFailure>();
  const [busy, setBusy] = useState<'save' | 'test'>();
  const [result, setResult] = useState<TestResult>();
  const bodyRef = useRef<HTMLTextAreaElement>(null);

  const changeFormat = (name: string) => {
    const next = formats.data.find((m) => m.name === name)!;
    setFormat(name);
    // The common values stay; the format's own start from its defaults.
    setValues((v) => ({ ...Object.fromEntries(common.map((f) => [f.key, v[f.key]])), ...initialValues(next.fields, {}) }));
    setEvents([]);
    setFailure(undefined);
  };

  // Events the format carries, narrowed to the template's channel.
  const channel = mod.fields.some((f) => f.key === 'channel') ? String(values.channel ?? 'none') : 'none';
  const offered = types.filter((t) => (mod.events === null || mod.events.includes(t.name)) && (channel === 'none' || t.channel === channel));
  const variables = useMemo(() => {
    const chosen = events.length > 0 ? offered.filter((t) => events.includes(t.name)) : offered;
    return [...new Set(chosen.flatMap((t) => t.variables))].sort();
  }, [events.join(), channel, format]);

  const body = (): CallbackBody =>
    ({
      ...bodyOf(common, values, { editing }),
      ...(editing ? {} : { format }),
      events: events.filter((e) => offered.some((t) => t.name === e)),
      ...bodyOf(mod.fields, values, { editing }),
    }) as CallbackBody;

  const insert = (name: string) => {
    const el = bodyRef.current;
    const token = `{{${name}}}`;
    const text = String(values.body ?? '');
    const start = el?.selectionStart ?? text.length;
    const end = el?.selectionEnd ?? text.length;
    setValues({ ...values, body: text.slice(0, start) + token + text.slice(end) });
    requestAnimationFrame(() => {
      el?.focus();
      el?.setSelectionRange(start + token.length, start + token.length);
    });
  };

  const save = async () => {
    setBusy('save');
    setFailure(undefined);
    try {
      if (editing) {
        await ok(api.PATCH('/v1/callbacks/{id}', { params: { path: { id: saved.id } }, body: body() }));
        navigate(`/callbacks/${saved.id}`);
      } else {
        const created = await ok(api.POST('/v1/callbacks', { body: body() }));
        navigate(`/callbacks/${created.id}/edit`, { saved: 1 });
      }
    } catch (err) {
      setFailure(asFailure(err));
    } finally {
      setBusy(undefined);
    }
  };

  const test = async () => {
    setBusy('test');
    setFailure(undefined);
    setResult(undefined);
    try {
      setResult(
        editing
          ? await ok(api.POST('/v1/callbacks/{id}/test', { params: { path: { id: saved.id } } }))
          : await ok(api.POST('/v1/callbacks/test', { body: body() })),
      );
    } catch (err) {
      setFailure(asFailure(err));
    } finally {
      setBusy(undefined);
    }
  };

  const control = (f: FieldInfo, path = f.key) => (
    <FieldControl
      field={f}
      path={path}
      values={values}
      onChange={setValues}
      failure={failure}
      saved={savedValues}
      inputRef={(field) => (field.key === 'body' ? bodyRef : undefined)}
      after={(field) => field.key === 'body' && <VariablePicker variables={variables} onPick={insert} />}
    />
  );
  const byKey = (k: string) => common.find((f) => f.key === k);
  const eventsField = formats.common_fields.find((f) => f.key === 'events');

  return (
    <section>
      <PageHeader title={editing ? `Edit ${saved.title}` : 'New callback'}>
        {editing && (
          <a href={href(`/callbacks/${saved.id}`)} class="button secondary-link">
            Back to callback
          </a>
        )}
      </PageHeader>
      {props.justSaved && saved && (
        <div class="notice success saved-id" role="status">
          Saved. Callback id <code>{saved.id}</code> <CopyButton text={saved.id} label="Copy id" /> <a href={href(`/callbacks/${saved.id}`)}>Open it</a>
        </div>
      )}
      <ErrorNotice error={failure} />
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
        novalidate
      >
        <div class="card">
          <h2>Callback</h2>
          <div class="form-grid">
            {byKey('title') && control(byKey('title')!)}
            <SelectField
              label="Format"
              name="format"
              value={format}
              onValue={changeFormat}
              disabled={editing}
              help={mod.description}
              options={formats.data.map((m) => ({ value: m.name, label: m.label }))}
            />
          </div>
          {byKey('url') && control(byKey('url')!)}
          {mod.fields.filter((f) => ['method', 'channel'].includes(f.key)).length > 0 && (
            <div class="form-grid">{mod.fields.filter((f) => ['method', 'channel'].includes(f.key)).map((f) => control(f))}</div>
          )}
          <fieldset class={`field${failure?.field?.startsWith('events') ? ' has-error' : ''}`} data-field="events">
            <legend>Events</legend>
            <p class="help">
              {eventsField?.help}
              {channel !== 'none' && ` — the ${channel} channel's events`}
            </p>
            <div class="checks">
              {offered.map((t) => (
                <label title={t.description}>
                  <input
                    type="checkbox"
                    checked={events.includes(t.name)}
                    onChange={(e) => setEvents(e.currentTarget.checked ? [...events, t.name] : events.filter((x) => x !== t.name))}
                  />
                  <span class="mono">{t.name}</span>
                </label>
              ))}
            </div>
            {failure?.field?.startsWith('events') && (
              <p class="field-error" role="alert">
                {failure.message}
              </p>
            )}
          </fieldset>
          {byKey('enabled') && control(byKey('enabled')!)}
        </div>

        <div class="card">
          <h2>{mod.label} settings</h2>
          {byKey('headers') && control(byKey('headers')!)}
          {mod.fields.filter((f) => !['method', 'channel'].includes(f.key) && applies(f, values)).map((f) => control(f))}
        </div>

        <details class="card">
          <summary>Timeout, retries, api user</summary>
          {common.filter((f) => !['title', 'url', 'enabled', 'headers'].includes(f.key)).map((f) => control(f))}
        </details>

        <div class="form-actions">
          <button type="button" class="secondary" onClick={() => void test()} disabled={busy !== undefined}>
            {busy === 'test' ? 'Testing…' : 'Test'}
          </button>
          <button type="submit" class="primary" disabled={busy !== undefined}>
            {busy === 'save' ? 'Saving…' : 'Save'}
          </button>
          {editing && <span class="help">Test sends a sample event with the saved settings.</span>}
        </div>
      </form>
      {result && <TestResultView result={result} />}
    </section>
  );
}

function VariablePicker({ variables, onPick }: { variables: string[]; onPick: (name: string) => void }) {
  if (variables.length === 0) return null;
  return (
    <div class="field picker" role="group" aria-label="Variables">
      <p class="help">Variables of the chosen events — click to insert at the cursor:</p>
      <div class="chips">
        {variables.map((v) => (
          <button type="button" onClick={() => onPick(v)}>
            <span class="visually-hidden">Insert </span>
            {`{{${v}}}`}
          </button>
        ))}
      </div>
    </div>
  );
}
