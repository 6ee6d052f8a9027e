/**
 * Callback titles for lists that carry only callback ids (deliveries, notices): each id is read once
 * per page load (GET /v1/callbacks/{id}) and remembered; an id the API no longer knows shows as is.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, ok } from '../api/client';

const titles = new Map<string, Promise<string | null>>();

function titleOf(id: string): Promise<string | null> {
  let t = titles.get(id);
  if (!t) {
    t = ok(api.GET('/v1/callbacks/{id}', { params: { path: { id } } })).then(
      (cb) => cb.title,
      () => null,
    );
    titles.set(id, t);
  }
  return t;
}

/** `{[id]: title}` of the ids given, filled in as they arrive. */
export function useCallbackTitles(ids: (string | null | undefined)[]): Record<string, string> {
  const wanted = [...new Set(ids.filter((x): x is string => !!x))].sort();
  const key = wanted.join(',');
  const [known, setKnown] = useState<Record<string, string>>({});
  useEffect(() => {
    let live = true;
    void Promise.all(wanted.map(async (id) => [id, await titleOf(id)] as const)).then((pairs) => {
      if (!live) return;
      const found = Object.fromEntries(pairs.filter(([, t]) => t !== null)) as Record<string, string>;
      setKnown((k) => (pairs.every(([id, t]) => t === null || k[id] === t) ? k : { ...k, ...found }));
    });
    return () => {
      live = false;
    };
  }, [key]);
  return known;
}
