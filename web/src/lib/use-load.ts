import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiFailure } from '../api/client';

export interface Loaded<T> {
  data: T | undefined;
  error: ApiFailure | undefined;
  loading: boolean;
  /** Loads again (after a change); the old data stays shown meanwhile. */
  reload: () => Promise<void>;
}

/**
 * Runs `load` when a dependency changes and keeps its latest answer; an answer that arrives after a
 * newer request started is dropped, so fast filter changes never show stale rows.
 *
 * @example
 *   const list = useLoad(() => ok(api.GET('/v1/callbacks', { params: { query } })), [JSON.stringify(query)]);
 */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: ApiFailure; loading: boolean }>({ loading: true });
  const seq = useRef(0);
  const fn = useRef(load);
  fn.current = load;
  const run = useCallback(async () => {
    const mine = ++seq.current;
    setState((s) => ({ ...s, loading: true }));
    try {
      const data = await fn.current();
      if (mine === seq.current) setState({ data, loading: false });
    } catch (err) {
      if (mine === seq.current) setState((s) => ({ ...s, error: asFailure(err), loading: false }));
    }
  }, []);
  useEffect(() => {
    void run();
  }, deps);
  return { data: state.data, error: state.error, loading: state.loading, reload: run };
}

export function asFailure(err: unknown): ApiFailure {
  return err instanceof ApiFailure ? err : new ApiFailure(0, 'client', err instanceof Error ? err.message : String(err));
}
