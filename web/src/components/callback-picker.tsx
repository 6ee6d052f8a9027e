/**
 * The callback filter of the Deliveries and Notices lists: type part of a title and pick one of the
 * callbacks whose title contains it (GET /v1/callbacks?title=…, a few at a time: an account with
 * 10,000 callbacks never loads them all), or paste an id. The filter holds the picked callback's id;
 * its title is shown under the field.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, ok } from '../api/client';
import { useCallbackTitles } from '../lib/callback-titles';
import { TextField } from './form';

/** Suggestions shown at most. */
const MATCHES = 6;
/** Typing pauses this long before the titles are searched. */
const SEARCH_DELAY_MS = 250;
/** A whole callback id (newId('cb')): filters as soon as it is typed or pasted. */
const CALLBACK_ID = /^cb_[0-9a-z]{26}$/;

interface Match {
  id: string;
  title: string;
}

export function CallbackPicker({ value, onValue }: { value: string; onValue: (id: string) => void }) {
  const [text, setText] = useState(value);
  const [matches, setMatches] = useState<Match[]>([]);
  const chosen = useCallbackTitles([value])[value];
  // The filter changed from elsewhere (a picked suggestion, the address): show it.
  useEffect(() => setText(value), [value]);

  const search = text.trim();
  useEffect(() => {
    if (search === '' || search === value || CALLBACK_ID.test(search)) {
      setMatches([]);
      return;
    }
    let live = true;
    const timer = setTimeout(() => {
      void ok(api.GET('/v1/callbacks', { params: { query: { title: search, offset: 0, limit: MATCHES } } })).then(
        (r) => live && setMatches(r.data.map((cb) => ({ id: cb.id, title: cb.title }))),
        () => live && setMatches([]),
      );
    }, SEARCH_DELAY_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [search, value]);

  const typed = (v: string) => {
    setText(v);
    const t = v.trim();
    if (t === '') onValue('');
    else if (CALLBACK_ID.test(t)) onValue(t);
  };
  const help = value ? `Showing callback ${chosen ? `“${chosen}”` : value} only` : 'Search by title, or an id';

  return (
    <div class="picker">
      <TextField label="Callback" type="search" name="callback_id" value={text} onValue={typed} placeholder="title or cb_…" help={help} autoComplete="off" />
      {matches.length > 0 && (
        <ul class="picker-matches" aria-label="Matching callbacks">
          {matches.map((m) => (
            <li key={m.id}>
              <button type="button" class="link" onClick={() => onValue(m.id)}>
                {m.title}
              </button>{' '}
              <span class="mono help">{m.id}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
