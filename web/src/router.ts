/**
 * Hash routing: `/#/callbacks/cb_1?tab=deliveries`. The server serves one index.html at `/`, so no
 * client route can ever shadow /v1, /docs, /webhooks or the probes.
 */
import { useEffect, useState } from 'preact/hooks';

export interface Location {
  /** `/callbacks/cb_1` */
  path: string;
  query: URLSearchParams;
}

function read(): Location {
  const raw = window.location.hash.replace(/^#/, '') || '/';
  const q = raw.indexOf('?');
  return { path: q < 0 ? raw : raw.slice(0, q), query: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)) };
}

/** The current location, re-rendering when it changes. */
export function useLocation(): Location {
  const [loc, setLoc] = useState(read);
  useEffect(() => {
    const on = () => setLoc(read());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return loc;
}

/** An href for a path: `<a href={href('/callbacks')}>`. */
export function href(path: string, query?: Record<string, string | number | undefined | null>): string {
  const qs = query ? new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== '').map(([k, v]) => [k, String(v)])).toString() : '';
  return `#${path}${qs ? `?${qs}` : ''}`;
}

export function navigate(path: string, query?: Record<string, string | number | undefined | null>, opts: { replace?: boolean } = {}): void {
  const target = href(path, query);
  if (opts.replace) {
    history.replaceState(null, '', target);
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  } else {
    window.location.hash = target;
  }
}

/** `match('/callbacks/:id', '/callbacks/cb_1')` → `{ id: 'cb_1' }`; null when it does not match. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split('/');
  const s = path.split('/');
  if (p.length !== s.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const a = p[i]!;
    const b = s[i]!;
    if (a.startsWith(':')) params[a.slice(1)] = decodeURIComponent(b);
    else if (a !== b) return null;
  }
  return params;
}

/**
 * A list page's filters, kept in the address (`#/path?name=value&offset=…`): each named filter's value
 * ('' when absent), the page's offset, `setFilter` (a change goes back to the first page and replaces
 * the history entry, so typing does not fill the history) and `setOffset` (a new entry: Back returns
 * to the previous page of the list).
 */
export function listFilters<K extends string>(path: string, query: URLSearchParams, names: readonly K[]) {
  const f = Object.fromEntries(names.map((n) => [n, query.get(n) ?? ''])) as Record<K, string>;
  return {
    f,
    offset: Number(query.get('offset') ?? 0) || 0,
    setFilter: (patch: Partial<Record<K, string | undefined>>) => navigate(path, { ...f, ...patch, offset: undefined }, { replace: true }),
    setOffset: (offset: number) => navigate(path, { ...f, offset: offset || undefined }),
  };
}
